"""The step-9 notebook in JupyterLab, in Chromium: a client recovers on the second server.

Run All on the English notebook (a real redis-server started by the notebook, two chat
servers in the kernel), then look at the cell where Ines, dropped from east, comes back on
west: the cell says she was recovered with the same id and needed no catch-up; her widget
there says "recovered: yes" and shows the missed message marked ↻ (replayed by the
restore); west's wire view draws the replay. Last, the clean-up button stops everything.
Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.services import require

from .jupyterlab import (
    JupyterLab,
    code_cells,
    error_outputs,
    menu,
    messages,
    open_notebook,
    run_all,
    status,
    wait_for_run,
)
from .support import ROOT, Browser, expect, screenshot
from .test_notebooks import cell_with, chat_widget

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOK = ROOT / "notebooks" / "en" / "09-scaling-horizontally.ipynb"
WIDTH, HEIGHT = 1366, 900


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    assert NOTEBOOK.is_file(), f"{NOTEBOOK} is missing"
    require("redis-server", shutil.which("redis-server") is not None,
            "apt-get install redis-server")
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), [NOTEBOOK])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(playwright, tmp_path_factory):
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def test_a_client_dropped_from_one_server_recovers_on_the_other(chromium, lab):
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    try:
        open_notebook(page, lab, NOTEBOOK.name)
        menu(page, "Edit", "Clear Outputs of All Cells")
        run_all(page)
        wait_for_run(page, code_cells(page).count())
        assert error_outputs(page) == []

        crossed = cell_with(page, 'await jon.send("hello from west")')
        expect(crossed.locator(".jp-OutputArea")).to_contain_text(
            "Ines (east) has: ['hello from west']")

        moved = cell_with(page, "await ines.connect(west)")
        output = moved.locator(".jp-OutputArea")
        expect(output).to_contain_text(
            "Ines: recovered True | catch-up: not needed | same id: True")
        ines = chat_widget(moved, "Ines")
        expect(status(ines)).to_contain_text("recovered: yes")
        # the widgets stay live: later cells' messages reach her too, so look for this one
        expect(messages(ines).filter(has_text="while Ines was away")).to_have_text(
            ["↻ while Ines was away"])
        # west's lane of Ines: the replayed event, drawn apart from the live ones
        replay = moved.locator("svg text", has_text=re.compile(r"^↻ 42\["))
        expect(replay.first).to_contain_text("while Ines was away")
        moved.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        screenshot(page, "notebook-09-en-recovered-on-west")

        official = cell_with(page, "east_memory = await memory_server()")
        expect(official.locator(".jp-OutputArea")).to_contain_text(
            "Luz: recovered False | catch-up: ids [3]")

        clean_up = cell_with(page, "chatlib.CleanUp(")
        clean_up.get_by_role("button", name="Stop every server").click()
        expect(clean_up.locator(".jp-OutputArea")).to_contain_text(
            "Server tasks left behind: 0.")
        expect(chat_widget(moved, "Ines")).to_contain_text("server stopped")
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        page.close()
        lab.shutdown_kernels()
