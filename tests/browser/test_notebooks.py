"""The tutorial notebooks in JupyterLab, in Chromium, clicked as a reader clicks them.

One private JupyterLab serves copies of both notebooks. The English one is run up to its
last cell (the clean-up, which stops every server and so every widget), then Alice's and
Carol's rendered buttons are clicked: a network drop is recovered, ``socket.disconnect()``
is not. Its clean-up cell runs last. The Spanish one is run whole with Run > Run All
Cells: no error output, and the widgets speak Spanish.

The English tests share one notebook run and go in file order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .jupyterlab import (
    JupyterLab,
    button,
    chat_widget,
    chat_widgets,
    code_cells,
    error_outputs,
    header,
    menu,
    messages,
    open_notebook,
    output_of,
    select_cell,
    status,
    text_box,
    wait_for_run,
)
from .support import ROOT, Browser, expect, screenshot

# the first test also starts JupyterLab and a kernel, and opens JupyterLab in Chromium
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ENGLISH = ROOT / "notebooks" / "en" / "06-connection-state-recovery.ipynb"
SPANISH = ROOT / "notebooks" / "es" / "06-recuperacion-del-estado-de-conexion.ipynb"

SID = r"[A-Za-z0-9_-]+"


def status_text(state: str, recovered: str, sid: str = SID, words: dict | None = None):
    words = words or {"recovered": "recovered", "sid": "sid", "last_offset": "last offset"}
    return re.compile(rf"^● {state} · {words['recovered']}: {recovered} · "
                      rf"{words['sid']}: {sid} · {words['last_offset']}: \S+$")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    for notebook in (ENGLISH, SPANISH):
        assert notebook.is_file(), f"{notebook} is missing"
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), [ENGLISH, SPANISH])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(playwright, tmp_path_factory):
    """One fresh profile for the module: the second notebook reuses JupyterLab's cached assets."""
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def open_fresh(chromium, lab, notebook: Path):
    """Open a notebook and clear its saved outputs, so every number and output seen is new."""
    page = chromium.new_page()
    open_notebook(page, lab, notebook.name)
    menu(page, "Edit", "Clear Outputs of All Cells")
    assert error_outputs(page) == []
    return page


@pytest.fixture(scope="module")
def english(chromium, lab):
    """The English notebook after Run > Run All Above Selected Cell, on its clean-up cell."""
    page = open_fresh(chromium, lab, ENGLISH)
    cells = code_cells(page)
    count = cells.count()
    clean_up = cells.nth(count - 1)
    assert "await running.stop()" in clean_up.inner_text(), "the last code cell is the clean-up"
    select_cell(clean_up)
    menu(page, "Run", "Run All Above Selected Cell")
    wait_for_run(page, count - 1)
    yield page
    page.close()
    lab.shutdown_kernels()


def test_english_notebook_runs_to_the_clean_up_without_errors(english, chromium):
    assert error_outputs(english) == []
    alice = chat_widgets(english).nth(0)
    expect(header(alice)).to_contain_text("Alice")
    expect(status(alice)).to_have_text(status_text("connected", "yes"))
    expect(messages(alice).nth(0)).to_have_text("hello")
    expect(messages(alice).nth(1)).to_have_text("↻ realtime")  # marked: the restore sent it
    assert chromium.page_errors == [] and chromium.blocked == []


def test_disconnect_send_connect_in_the_widgets_recovers_the_missed_message_once(english):
    first, second = chat_widgets(english).nth(0), chat_widgets(english).nth(1)
    expect(header(first)).to_contain_text("Alice")
    expect(header(second)).to_contain_text("Bob")
    sid = status(first).locator("code").first.inner_text()
    missed, later = "sent from the browser while Alice was away", "Alice is back (browser)"
    before = messages(first).all_inner_texts()

    button(first, "Disconnect").click()
    expect(button(first, "Connect")).to_be_visible()
    expect(status(first)).to_have_text(status_text("disconnected", r"\S+", re.escape(sid)))
    # the server's view (the BufferView under the widgets) keeps her session
    expect(english.locator("tr", has_text=sid)).to_contain_text("kept")

    text_box(second).fill(missed)
    button(second, "Send").click()
    expect(text_box(second)).to_have_value("")
    expect(messages(second).last).to_have_text(missed)
    expect(messages(first)).to_have_text(before)      # nothing reaches her while away

    button(first, "Connect").click()
    expect(button(first, "Disconnect")).to_be_visible()
    expect(status(first)).to_have_text(status_text("connected", "yes", re.escape(sid)))
    expect(messages(first).last).to_have_text(f"↻ {missed}")   # marked: replayed

    # anything delivered twice would arrive before this later message
    text_box(second).fill(later)
    button(second, "Send").click()
    expect(messages(first).last).to_have_text(later)
    received = messages(first).all_inner_texts()
    assert received.count(f"↻ {missed}") == 1 and received[-2:] == [f"↻ {missed}", later], received
    screenshot(output_of(first), "notebook-en-alice-recovered")


def test_clean_mode_widget_is_not_recovered_and_misses_the_message(english):
    carol = chat_widget(english, "Carol")
    expect(header(carol)).to_contain_text("socket.disconnect()")
    beside = chat_widgets(output_of(carol)).nth(1)
    expect(header(beside)).to_contain_text("Bob")
    expect(status(carol)).to_have_text(status_text("connected", "no"))
    sid = status(carol).locator("code").first.inner_text()
    missed, later = "sent from the browser while Carol was away", "Carol is back (browser)"

    button(carol, "Disconnect").click()
    expect(button(carol, "Connect")).to_be_visible()
    expect(status(carol)).to_have_text(status_text("disconnected", "–", re.escape(sid)))
    expect(english.locator("tr", has_text=sid)).to_have_count(0)   # the server forgot her

    text_box(beside).fill(missed)
    button(beside, "Send").click()
    expect(messages(beside).last).to_have_text(missed)

    button(carol, "Connect").click()
    expect(button(carol, "Disconnect")).to_be_visible()
    expect(status(carol)).to_have_text(
        status_text("connected", "no", rf"(?!{re.escape(sid)} ){SID}"))   # a new id

    text_box(beside).fill(later)
    button(beside, "Send").click()
    expect(messages(carol).last).to_have_text(later)
    assert missed not in messages(carol).all_inner_texts()
    screenshot(output_of(carol), "notebook-en-carol-not-recovered")


def test_english_clean_up_cell_stops_every_server(english, lab):
    cells = code_cells(english)
    clean_up = cells.last
    select_cell(clean_up)
    menu(english, "Run", "Run Selected Cell and Do not Advance")
    wait_for_run(english, cells.count())
    assert error_outputs(english) == []
    output = clean_up.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("servers still running: 0")
    expect(output).to_contain_text("server tasks left behind: 0")
    expect(chat_widget(english, "Alice").locator(".widget-html-content").last).to_have_text(
        "server stopped")


def test_spanish_notebook_runs_all_cells_without_errors_in_spanish(chromium, lab):
    page = open_fresh(chromium, lab, SPANISH)
    try:
        menu(page, "Run", "Run All Cells")
        wait_for_run(page, code_cells(page).count())
        assert error_outputs(page) == []
        expect(code_cells(page).last.locator(".jp-OutputArea-output")).to_contain_text(
            "servidores aún en marcha: 0")

        # every widget is drawn, in Spanish; the clean-up has stopped their servers
        alice = chat_widgets(page).nth(0)
        expect(header(alice)).to_have_text(
            "Alice Desconectar = corte de red: el servidor guarda la sesión")
        expect(header(chat_widget(page, "Carol"))).to_have_text(
            "Carol Desconectar = socket.disconnect(): la sesión no se guarda")
        expect(text_box(alice)).to_have_attribute("placeholder", "Escribe un mensaje")
        expect(button(alice, "Enviar")).to_be_visible()
        expect(button(alice, "Conectar")).to_be_visible()
        spanish = {"recovered": "recuperado", "sid": "sid", "last_offset": "último offset"}
        expect(status(alice)).to_have_text(status_text("desconectado", "–", SID, spanish))
        expect(messages(alice).nth(0)).to_have_text("hola")
        expect(messages(alice).nth(1)).to_have_text("↻ realtime")
        expect(alice.locator(".widget-html-content").last).to_have_text("servidor detenido")
        expect(page.locator(".jp-OutputArea-output .widget-html-content > b",
                            has_text="paquetes guardados").first).to_be_visible()
        assert page.locator("button.widget-button", has_text=re.compile(
            "^(Send|Disconnect|Connect)$")).count() == 0
        screenshot(output_of(alice), "notebook-es-widgets")
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        page.close()
        lab.shutdown_kernels()
