"""A private JupyterLab server for the browser tests, and a notebook driven as a reader would.

The server listens on a free loopback port with a random token; its root dir holds
copies of the notebooks, and its settings, workspaces, config, runtime and IPython dirs
are temporary, so nothing is shared with the user's JupyterLab or another run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
import urllib.request
from pathlib import Path

from tests.services import free_port

from .support import Process, expect, python

START_TIMEOUT = 90

#: Written into the temporary user-settings dir: every cell stays in the DOM (no
#: virtual scrolling), and no news or update check reaches out to the internet.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


class JupyterLab:
    """``jupyter lab`` on 127.0.0.1 with a token, serving ``root`` (copies of the notebooks)."""

    def __init__(self, workdir: Path, notebooks: list[Path]) -> None:
        self.root = workdir / "root"
        self.root.mkdir()
        for notebook in notebooks:
            shutil.copy(notebook, self.root / notebook.name)
        settings = workdir / "settings"
        for name, values in SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(workdir / "config"),
                   JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
                   IPYTHONDIR=str(workdir / "ipython"),
                   JUPYTER_PLATFORM_DIRS="1")
        env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process(python(
            "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(self.port),
            "--allow-root", "--ServerApp.port_retries=0", "--ServerApp.terminals_enabled=False",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workdir / 'workspaces'}"),
            cwd=self.root, env=env)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        # it prints its URL a moment before it accepts connections: poll the API, bounded
        self.process.wait_for_line(r"Jupyter Server .* is running at", START_TIMEOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if time.monotonic() > deadline or self.process.process.poll() is not None:
                    raise
            time.sleep(0.1)

    def api(self, method: str, path: str):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a workspace of its own (no tab restored from another page)."""
        workspace = re.sub(r"[^A-Za-z0-9-]", "-", Path(name).stem)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def shutdown_kernels(self) -> None:
        """Stop every kernel (and its session), so the next notebook has the CPU to itself."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        self.process.stop()


# -- driving a notebook in the browser, through JupyterLab's menus and rendered widgets --

ERROR_OUTPUT = (".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
RUN_TIMEOUT_MS = 120_000
OPEN_TIMEOUT_MS = 90_000  # JupyterLab's bundle on a busy 2-core machine, then a kernel

# True once code cells [0, count) all show an execution number, or once a cell shows an
# error and nothing is queued or running any more (JupyterLab stops a run at an error).
_RUN_FINISHED = """([count, errorSelector]) => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .slice(0, count).map((prompt) => prompt.textContent);
    const busy = prompts.some((text) => text.includes('*'));
    if (document.querySelector(errorSelector)) return !busy;
    return prompts.length === count && prompts.every((text) => /\\[\\d+\\]/.test(text));
}"""


def open_notebook(page, lab: JupyterLab, name: str) -> None:
    """Open a notebook and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), timeout=OPEN_TIMEOUT_MS)
    expect(page.locator(".jp-Notebook .jp-CodeCell").first).to_be_visible(
        timeout=OPEN_TIMEOUT_MS)
    expect(page.locator(".jp-Notebook")).to_have_count(1)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(
        timeout=OPEN_TIMEOUT_MS)


def menu(page, top: str, item: str) -> None:
    """Click a menu of JupyterLab's menu bar, then one of its items (exact labels)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


_RUN_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .some((prompt) => /\\[(\\*|\\d+)\\]/.test(prompt.textContent))"""


def run_all(page) -> None:
    """Run > Run All Cells, as a reader does; clicked again if no cell took it (a menu click
    that landed while JupyterLab was still laying the notebook out), never once a cell has."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _ in range(3):
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(_RUN_STARTED, timeout=20_000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError("Run All Cells started no cell, clicked three times")


def code_cells(page):
    return page.locator(".jp-Notebook .jp-CodeCell")


def select_cell(cell) -> None:
    """Select a cell as a click on its prompt area does (command mode)."""
    cell.locator(".jp-InputPrompt").click()
    expect(cell).to_have_class(re.compile(r"\bjp-mod-selected\b"))


def wait_for_run(page, count: int) -> None:
    """Wait until the first ``count`` code cells have run, or the run stopped at an error."""
    page.wait_for_function(_RUN_FINISHED, arg=[count, ERROR_OUTPUT], timeout=RUN_TIMEOUT_MS)


def error_outputs(page) -> list[str]:
    """The text of every error or stderr output shown in the notebook."""
    return page.locator(ERROR_OUTPUT).all_inner_texts()


# -- the chat widgets as rendered by ipywidgets: a VBox of header, status, messages,
#    pending list, [text box, Send, Disconnect/Connect], error line --

def _page(scope):
    # a filter's ``has`` is a locator of the page, matched inside each candidate
    return getattr(scope, "page", scope)


def chat_widgets(scope):
    """Every rendered ChatWidget inside ``scope`` (a page or a locator), in DOM order."""
    return scope.locator(".widget-vbox").filter(has=_page(scope).locator("input.widget-input"))


def chat_widget(scope, name: str):
    """The first rendered ChatWidget whose header shows ``name``."""
    name_tag = _page(scope).locator(".widget-html-content > b",
                                    has_text=re.compile(f"^{re.escape(name)}$"))
    return chat_widgets(scope).filter(has=name_tag).first


def header(widget):
    return widget.locator(".widget-html-content").nth(0)


def status(widget):
    return widget.locator(".widget-html-content").nth(1)


def messages(widget):
    return widget.locator("li")


def text_box(widget):
    return widget.locator("input.widget-input")


def button(widget, label: str):
    return widget.get_by_role("button", name=label, exact=True)


def output_of(widget):
    """The output (of one cell) that shows ``widget``."""
    return widget.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]")


# -- what fits: measured in the browser, as the reader sees the outputs --

# Every element of the cell's outputs whose right edge is past its output area's right
# edge (which JupyterLab cuts), or past a scroll box's edge, which hides it until scrolled.
# Inside an SVG only its text counts: a shape may run to the picture's edge, where the
# picture clips it.
_CUT_OFF = """(cell) => {
    const cut = [];
    for (const area of cell.querySelectorAll('.jp-OutputArea-output')) {
        const right = area.getBoundingClientRect().right;
        for (const element of area.querySelectorAll('*')) {
            const svg = element.closest('svg');
            if (svg && svg !== element && element.tagName !== 'text') continue;
            const box = element.getBoundingClientRect();
            if (box.width === 0) continue;
            let edge = right;
            for (let up = element.parentElement; up && up !== area; up = up.parentElement) {
                if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(up).overflowX)) {
                    edge = Math.min(edge, up.getBoundingClientRect().right);
                }
            }
            if (box.right > edge + 1) {
                cut.push(`${element.tagName}.${element.getAttribute('class') || ''} ` +
                         `${Math.round(box.right)} > ${Math.round(edge)}: ` +
                         element.textContent.slice(0, 60));
            }
        }
    }
    return cut;
}"""

# The height on screen of the smallest text of the cell's wire pictures (px), or null.
_SMALLEST_SVG_TEXT = """(cell) => {
    const heights = [...cell.querySelectorAll('.chatlib-wire svg text')]
        .map((text) => text.getBoundingClientRect().height).filter((height) => height > 0);
    return heights.length ? Math.min(...heights) : null;
}"""


def cut_off(cell) -> list[str]:
    """What in the cell's outputs runs past the right edge the reader can see (empty: all fits)."""
    return cell.evaluate(_CUT_OFF)


def smallest_svg_text(cell):
    """The smallest on-screen height (px) of a text in the cell's wire pictures; None: none."""
    return cell.evaluate(_SMALLEST_SVG_TEXT)
