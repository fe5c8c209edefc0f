"""A person at a keyboard: typing at full speed in a chat box and pressing Enter at once.

In JupyterLab, in Chromium, in the step-6 notebook of each language: the reader types in
Bob's box with no delay between keys (Playwright's ``keyboard.type`` at 0 ms), presses
Enter at once, types the next message and presses Enter again, then types one more and
clicks Send at once. Each message arrives whole, once and in order, on Alice's widget
and on the wire (the WireView's rows, drawn as the server sent them: ``"¿qué más?"``,
not ``\\u00bf…``), and Bob's box is empty.
"""

from __future__ import annotations

import re

import pytest

from chatlib.jupyter.wire_view import PICTURE_HEIGHT

from .jupyterlab import (
    JupyterLab,
    button,
    error_outputs,
    menu,
    messages,
    open_notebook,
    select_cell,
    status,
    text_box,
    wait_for_run,
)
from .support import ROOT, Browser, expect, screenshot
from .test_notebooks import cell_with, chat_widget, position_of

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOKS = {
    "en": ROOT / "notebooks" / "en" / "06-connection-state-recovery.ipynb",
    "es": ROOT / "notebooks" / "es" / "06-recuperacion-del-estado-de-conexion.ipynb",
}
#: what the reader types, message after message, each followed by Enter at once
TYPED = {
    "en": ["hello", "fastzero", "what else? ¿qué más?", "one more", "and another"],
    "es": ["hola", "¿qué más?", "después de la conexión, niño", "otro más", "y otro"],
}
#: typed as fast, then the Send button clicked at once
CLICKED = {"en": "and a click", "es": "y un clic"}
CONNECTED = {"en": "connected", "es": "conectado"}
SEND = {"en": "Send", "es": "Enviar"}
WIDTH, HEIGHT = 1366, 900


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), list(NOTEBOOKS.values()))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(playwright, tmp_path_factory):
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def wire_packets(strip, text: str, stored: bool):
    """The packets drawn in the strip's wire picture that carry ``text``: the one Bob sent
    (``stored=False``), or those the server sent out with an offset (``stored=True``).

    Matched on each packet's tooltip, which ends with its whole encoded text.
    """
    event = re.escape(f'42["chat message","{text}"')
    ending = r',"\d+"\]$' if stored else r"\]$"
    return strip.locator(".chatlib-wire svg g.pkt > title", has_text=re.compile(event + ending))


@pytest.mark.parametrize("language", ["en", "es"])
def test_enter_sends_what_was_typed_at_full_speed(chromium, lab, language):
    notebook = NOTEBOOKS[language]
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    try:
        open_notebook(page, lab, notebook.name)
        menu(page, "Edit", "Clear Outputs of All Cells")
        step1 = cell_with(page, "await story.sent(")
        select_cell(step1)
        menu(page, "Run", "Run All Above Selected Cell")
        wait_for_run(page, position_of(page, "await story.sent("))
        assert error_outputs(page) == []

        strip = cell_with(page, "strip = chatlib.Strip(")
        alice, bob = chat_widget(strip, "Alice"), chat_widget(strip, "Bob")
        for chat in (alice, bob):
            expect(status(chat)).to_contain_text(CONNECTED[language])

        text_box(bob).click()
        for text in TYPED[language]:
            page.keyboard.type(text, delay=0)
            page.keyboard.press("Enter")
        page.keyboard.type(CLICKED[language], delay=0)
        button(bob, SEND[language]).click()

        sent = TYPED[language] + [CLICKED[language]]
        expect(messages(alice)).to_have_text(sent)
        expect(messages(bob)).to_have_text(sent)
        expect(text_box(bob)).to_have_value("")
        for text in sent:
            # in from Bob once; out to both with its offset: 42["chat message","¿qué más?","2"]
            expect(wire_packets(strip, text, stored=False)).to_have_count(1)
            expect(wire_packets(strip, text, stored=True)).to_have_count(2)
        # however long the wire grows, its picture keeps to its own scroll box (newest
        # packets in sight), so the buffer view under it is not pushed out of the window
        strip.locator(".jp-OutputArea").evaluate("out => out.scrollIntoView({block: 'start'})")
        screenshot(page, f"typing-{language}-at-full-speed")
        picture = strip.locator(".chatlib-wire[style*='overflow']").first.bounding_box()
        assert picture["height"] <= PICTURE_HEIGHT + 1, picture
        expect(strip.locator("td", has_text=re.compile(f"^'{re.escape(sent[-1])}'$"))).to_have_count(1)
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        page.close()
        lab.shutdown_kernels()
