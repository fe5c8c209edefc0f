"""Make docs/screenshot-widgets.png: the English notebook just after Alice is back.

Runs the notebook in a real JupyterLab driven by a headless Chromium, 1366 px wide, up to
the story's last step (Alice clicks Connect: her session restored, "realtime" replayed),
and photographs the window with that step at the top: its confirmation, and under it the
strip (Alice and Bob, the wire view with the replay, the buffer view).

Needs Debian's chromium (``apt-get install chromium``) and the ``playwright`` package; it
never downloads a browser. Run from anywhere::

    python3 docs/make_screenshot.py            # writes docs/screenshot-widgets.png

The notebook runs from a copy in a temporary folder, so JupyterLab's autosave cannot
touch the one in the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "en" / "06-connection-state-recovery.ipynb"
OUTPUT = ROOT / "docs" / "screenshot-widgets.png"
FAILURE = Path(tempfile.gettempdir()) / "chatlib-screenshot-failure.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: the step photographed, and a line of what it confirms
WIDGETS_CELL = "await story.reconnected(alice)"
MID_DEMO_CELL = "await story.reconnected(alice)"
MID_DEMO_OUTPUT = "Replayed to Alice"
#: JupyterLab settings: no news or update notifications; every cell in the page (by
#: default cells out of view are not rendered, and could not be found by index)
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"fetchNews": "false", "checkForUpdates": False},
                "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
                {"windowingMode": "none"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cell_index(nb: nbformat.NotebookNode, start: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if start in cell.source)


def prepare(workdir: Path) -> tuple[Path, int, int]:
    """Copy the notebook without outputs; return its path and the two cells' indexes."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    workdir.mkdir()
    path = workdir / NOTEBOOK.name
    nbformat.write(nb, path)
    return path, cell_index(nb, WIDGETS_CELL), cell_index(nb, MID_DEMO_CELL)


def write_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        target = settings_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def wait_until_serving(url: str, lab: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if lab.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {lab.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling a process we do not control: no event to wait on


def screenshot(url: str, mid_demo: int, widgets_cell: int, profile: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1366, "height": 900}, device_scale_factor=1)
        page = browser.new_page()
        try:
            page.goto(url)
            cells = page.locator(".jp-Notebook .jp-Cell")
            cells.first.wait_for(timeout=60_000)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
                timeout=60_000)
            # select the cell after the mid-demo one, then Run > Run All Above Selected Cell
            cells.nth(mid_demo + 1).click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Above Selected Cell").click()
            page.get_by_text(MID_DEMO_OUTPUT, exact=False).wait_for(timeout=60_000)
            step = cells.nth(widgets_cell)
            step.locator(".jp-OutputArea .jupyter-widgets").first.wait_for(timeout=30_000)
            # the replay drawn on the wire: the picture is up to date
            step.locator("svg text", has_text="↻ 42[").first.wait_for(timeout=10_000)
            step.evaluate("cell => cell.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(OUTPUT))
        except Exception:
            page.screenshot(path=str(FAILURE), full_page=True)
            print(f"failed; the page as it was: {FAILURE}", file=sys.stderr)
            raise
        finally:
            browser.close()


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="chatlib-screenshot-"))
    lab = None
    try:
        notebook, widgets_cell, mid_demo = prepare(workdir / "notebook")
        write_settings(workdir / "settings")
        port, token = free_port(), secrets.token_hex(16)
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(workdir / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"))
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
             "--ip=127.0.0.1", f"--ServerApp.token={token}",
             f"--ServerApp.root_dir={notebook.parent}"]
            + (["--allow-root"] if os.geteuid() == 0 else []),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/api/status?token={token}", lab)
        screenshot(f"{base}/lab/tree/{notebook.name}?token={token}", mid_demo, widgets_cell,
                   workdir / "chromium-profile")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
        return 0
    finally:
        if lab is not None and lab.poll() is None:
            lab.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                lab.wait(timeout=30)
            except subprocess.TimeoutExpired:
                lab.kill()
                lab.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
