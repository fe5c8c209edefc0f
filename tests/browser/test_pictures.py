"""WireView and BufferView in JupyterLab, in Chromium at 1366 px, around a replay.

A notebook written for the test (the lesson notebooks are tested in test_notebooks.py):
Alice and Bob in room #general, Bob says hello, Alice drops (network loss), Bob sends
"realtime". Run All plays that; the BufferView then says a restore would send offset 2
to Alice ("↻ Alice"). Then Alice's rendered Connect button is clicked: the WireView shows
her DROP, her CONNECT presenting offset 1 (pid masked) and the replayed "realtime", which
the list under the picture shows whole with its details. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from .jupyterlab import (
    JupyterLab,
    button,
    chat_widget,
    code_cells,
    error_outputs,
    messages,
    open_notebook,
    run_all,
    status,
    wait_for_run,
)
from .support import Browser, expect, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CELLS = [
    "import ipywidgets as widgets\nimport chatlib\n"
    "server = await chatlib.start_chat_server(\n"
    "    recovery=chatlib.Recovery(max_disconnection_duration=120))\n"
    "alice = chatlib.ChatWidget(server, 'Alice', room='#general')\n"
    "bob = chatlib.ChatWidget(server, 'Bob', room='#general')\n"
    "display(widgets.HBox([alice, bob]))",
    "dana = chatlib.ChatWidget(server, 'Dana', mode='silent')\ndana",
    "wire = chatlib.WireView(server)\nwire",
    "buffer = chatlib.BufferView(server)\nbuffer",
    "await alice.connect()\nawait bob.connect()\nawait dana.connect()\n"
    "await bob.send('hello')\nawait alice.wait_for_message('hello')\n"
    "await alice.disconnect()\n"
    "await bob.send('realtime')\nawait bob.wait_for_message('realtime')\n"
    "print([row['args'] for row in server.store.missed('/', alice.sid)])",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = folder / "pictures.ipynb"
    nbformat.write(notebook, path)
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), [path])
    yield server
    server.stop()


def test_the_views_show_who_gets_what_and_the_replay(playwright, tmp_path, lab):
    chromium = Browser(playwright, tmp_path / "chromium-profile")
    try:
        page = chromium.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        open_notebook(page, lab, "pictures.ipynb")
        run_all(page)
        wait_for_run(page, code_cells(page).count())
        assert error_outputs(page) == []
        expect(code_cells(page).last.locator(".jp-OutputArea-output")).to_contain_text(
            "[['realtime']]")

        # the buffer: Alice by name, kept, in #general; offset 2 is what a restore sends her
        sessions = page.locator("table").filter(has_text="restore now sends")
        alice_row = sessions.locator("tr", has_text="Alice")
        expect(alice_row).to_contain_text("kept")
        expect(alice_row).to_contain_text("#general")
        packets = page.locator("table").filter(has_text="a restore now would send")
        expect(packets.locator("tr", has_text="'realtime'")).to_contain_text("↻ Alice")
        expect(packets.locator("tr", has_text="'realtime'")).to_contain_text("rooms: #general")
        expect(packets.locator("tr", has_text="'hello'")).not_to_contain_text("↻")
        buffer_output = code_cells(page).nth(3).locator(".jp-OutputArea-output")
        buffer_output.scroll_into_view_if_needed()
        screenshot(buffer_output, "pictures-buffer-view-before-the-replay")

        alice = chat_widget(page, "Alice")
        button(alice, "Connect").click()
        expect(status(alice)).to_contain_text("recovered: yes")
        expect(messages(alice).last).to_have_text("↻ realtime")

        wire = page.locator(".chatlib-wire svg")
        expect(wire).to_have_count(1)
        expect(wire.locator("text", has_text="✕ connection lost")).to_have_count(1)
        expect(wire.locator("text", has_text=re.compile(r'"offset":"1"'))).to_have_count(1)
        replayed = wire.locator("g.pkt", has=page.locator(
            "text", has_text='↻ 42["chat message","realtime","2"]'))
        expect(replayed).to_have_count(1)
        expect(replayed.locator("title")).to_contain_text("replay")
        # pids are masked to four characters and an ellipsis wherever they are shown
        expect(page.locator(".jp-Notebook")).not_to_contain_text(re.compile(r'"pid":"[^"…]{5,}'))
        wire_output = code_cells(page).nth(2).locator(".jp-OutputArea-output")
        wire_output.scroll_into_view_if_needed()
        replayed.hover()
        screenshot(wire_output, "pictures-wire-view-after-the-replay")
        # the replay chosen in the list under the picture: its whole text and details
        inspector = wire_output.locator(".widget-dropdown select")
        # (ipywidgets writes the options' spaces as no-break spaces)
        [choice] = [text for text in inspector.locator("option").all_text_contents()
                    if "server → Alice" in text.replace("\xa0", " ") and '"realtime","2"' in text]
        inspector.select_option(label=choice)
        detail = wire_output.locator("pre")
        expect(detail).to_contain_text('42["chat message","realtime","2"]')
        expect(detail).to_contain_text("server → Alice · EVENT · offset 2 · replay")
        screenshot(wire_output, "pictures-wire-view-replay-inspected")
        widgets_output = code_cells(page).nth(0).locator(".jp-OutputArea-output")
        screenshot(widgets_output, "pictures-widgets-after-the-replay")

        # Dana loses her Wi-Fi: nothing closes, the server notices at its ping timeout
        dana = chat_widget(page, "Dana")
        button(dana, "Disconnect").click()
        expect(status(dana)).to_contain_text("the server has not noticed yet")
        expect(status(dana)).to_contain_text("recovered: –")
        expect(wire.locator("text", has_text="goes silent")).to_have_count(1)
        dana_output = code_cells(page).nth(1).locator(".jp-OutputArea-output")
        screenshot(dana_output, "pictures-silent-widget-before-the-server-notices")
        screenshot(wire_output, "pictures-wire-view-silent-before-the-server-notices")
        expect(wire.locator("text", has_text="server notices: ping timeout")).to_have_count(
            1, timeout=15_000)
        expect(status(dana)).to_have_text(re.compile(r"^● disconnected · recovered: –"))
        wire_output.scroll_into_view_if_needed()
        screenshot(wire_output, "pictures-wire-view-silent-drop-noticed")
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        chromium.close()
        lab.shutdown_kernels()
