"""The tutorial notebooks in JupyterLab, in Chromium, done by hand as a reader does them.

One private JupyterLab serves copies of both notebooks; Chromium's window is 1366 px wide.
For each language: run the cells above the first step, then do the story by hand in the
widgets shown under each step: type in Bob's box and press Enter, click Disconnect on
Alice, send "realtime" from Bob, click Connect; after each action run the step's cell,
which must confirm the reader's action ("✓ You clicked…"), not make it. Then run every
cell below: the room demo keeps Alice in #general, nothing shows an error, and the first
demo's widgets are still live and clickable. Last, the clean-up button stops everything.
A screenshot of every step goes to artifacts/browser/; at each, everything shown fits the
output area's width and the wire picture's text keeps its size.

A second test opens each notebook fresh (no output, no execution count shown: nothing the
reader has not done), runs it all, then answers every exercise as a reader does: it types a
wrong answer into the answer cell at full speed (no delay between keys) and runs it ("Not
yet" and a reason, with a hint), asks for a hint, then types the right answer ("Correct");
the countdown exercise by its clicks, in time and too late.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .jupyterlab import (
    JupyterLab,
    button,
    code_cells,
    cut_off,
    error_outputs,
    menu,
    messages,
    open_notebook,
    run_all,
    select_cell,
    smallest_svg_text,
    status,
    text_box,
    wait_for_run,
)
from .support import ROOT, Browser, expect, screenshot

# JupyterLab and a kernel start in the first test; each language runs a whole notebook
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ENGLISH = ROOT / "notebooks" / "en" / "06-connection-state-recovery.ipynb"
SPANISH = ROOT / "notebooks" / "es" / "06-recuperacion-del-estado-de-conexion.ipynb"

WORDS = {
    "en": {
        "notebook": ENGLISH, "hello": "hello", "send": "Send", "disconnect": "Disconnect",
        "connect": "Connect", "connected": "connected", "stopped": "server stopped",
        "sent": "✓ You sent “hello” from Bob.",
        "stored": "The server stored “hello” at offset 1",
        "clicked_disconnect": "✓ You clicked Disconnect on Alice.",
        "kept": "server.is_kept(sid) is True",
        "missed": "Stored for Alice, who is away: 2 “realtime”.",
        "clicked_connect": "✓ You clicked Connect on Alice.",
        "back": "recovered: True; same id as before: yes",
        "presented": "CONNECT presented offset 1",
        "replayed": "Replayed to Alice (↻ in the widget and on the wire): “realtime”.",
        "rooms": "Alice is in: ['#general']", "recovered": "(recovered)",
        "clean_up": "Stop every server", "left": "Server tasks left behind: 0.",
    },
    "es": {
        "notebook": SPANISH, "hello": "hola", "send": "Enviar", "disconnect": "Desconectar",
        "connect": "Conectar", "connected": "conectado", "stopped": "servidor detenido",
        "sent": "✓ Enviaste «hola» desde Bob.",
        "stored": "El servidor guardó «hola» con el offset 1",
        "clicked_disconnect": "✓ Hiciste clic en Desconectar de Alice.",
        "kept": "server.is_kept(sid) es True",
        "missed": "Guardado para Alice, que no está: 2 «realtime».",
        "clicked_connect": "✓ Hiciste clic en Conectar de Alice.",
        "back": "recovered: True; el mismo id que antes: sí",
        "presented": "CONNECT de Alice presentó el offset 1",
        "replayed": "Reenviado a Alice (↻ en el widget y en la red): «realtime».",
        "rooms": "Alice está en: ['#general']", "recovered": "(recuperado)",
        "clean_up": "Detener todos los servidores", "left": "Tareas de servidor que quedan: 0.",
    },
}

WIDTH, HEIGHT = 1366, 900

#: What the reader types into each exercise's answer cell: a wrong answer, then the right one.
#: {ex} is the exercise's name (ex1 in English, ej1 in Spanish), {answer} its variable.
EXERCISES = {
    "en": {"ex": "ex", "answer": "answer", "not_yet": "Not yet", "correct": "✓ Correct",
           "hint": "Hint 2/2", "rooms_right": "['lunch at noon?', 'I will book a table']",
           "rooms_wrong": "['lunch at noon?', 'who took my stapler?', 'I will book a table']"},
    "es": {"ex": "ej", "answer": "respuesta", "not_yet": "Todavía no", "correct": "✓ Correcto",
           "hint": "Pista 2/2", "rooms_right": "['¿comemos a las doce?', 'reservo mesa']",
           "rooms_wrong": "['¿comemos a las doce?', '¿quién se llevó mi grapadora?', 'reservo mesa']"},
}


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


def chat_widget(scope, name: str):
    """The ChatWidget called ``name`` in ``scope``: the box whose own row holds a text box."""
    chat = scope.locator(".widget-vbox:has(> .widget-hbox input.widget-input)")
    return chat.filter(has=scope.page.locator(
        ".widget-html-content > b", has_text=re.compile(f"^{re.escape(name)}$"))).first


def cell_with(page, source: str):
    """The first code cell whose source contains ``source``."""
    return code_cells(page).filter(
        has=page.locator(".jp-InputArea", has_text=source)).first


def position_of(page, source: str) -> int:
    """How many code cells come before the first one whose source contains ``source``."""
    sources = code_cells(page).locator(".jp-InputArea").all_inner_texts()
    return next(i for i, text in enumerate(sources) if source in text)


def run_cell(page, cell) -> None:
    """Run one cell, as Shift+Enter does without moving on, and wait for its output."""
    select_cell(cell)
    menu(page, "Run", "Run Selected Cell and Do not Advance")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=60_000)


def shot(page, cell, name: str) -> None:
    """What the reader sees with ``cell`` at the top of the notebook: the whole window.

    And all of it can be read at 1366 px: nothing in the cell's outputs runs past the
    right edge of the output area (or of a scroll box), and the wire picture's text is
    not scaled down (its 12 px font takes at least 12 px on screen).
    """
    cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    screenshot(page, name)
    assert cut_off(cell) == [], name
    smallest = smallest_svg_text(cell)
    assert smallest is None or smallest >= 12, (name, smallest)


def wire_times(cell) -> list[float]:
    """The times (s) in the left column of the cell's last wire picture, top to bottom."""
    texts = cell.locator(".chatlib-wire svg").last.locator("text").all_text_contents()
    times = []
    for text in texts:
        if match := re.fullmatch(r"(\d+) ms", text):
            times.append(int(match[1]) / 1000)
        elif match := re.fullmatch(r"(\d+)[.,](\d) s", text):
            times.append(float(f"{match[1]}.{match[2]}"))
    return times


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_reader_clicks_the_story_then_runs_the_rest(chromium, lab, language):
    words = WORDS[language]
    notebook: Path = words["notebook"]
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

        first = cell_with(page, "strip = chatlib.Strip(")
        alice, bob = chat_widget(first, "Alice"), chat_widget(first, "Bob")
        expect(status(alice)).to_contain_text(words["connected"])
        expect(status(bob)).to_contain_text(words["connected"])
        shot(page, first, f"notebook-{language}-0-the-strip")

        # 1. the reader types in Bob's box and presses Enter
        text_box(bob).fill(words["hello"])
        text_box(bob).press("Enter")
        expect(messages(alice).last).to_have_text(words["hello"])
        run_cell(page, step1)
        output = step1.locator(".jp-OutputArea")
        expect(output).to_contain_text(words["sent"])
        expect(output).to_contain_text(words["stored"])
        shot(page, step1, f"notebook-{language}-1-bob-said-hello")

        # 2. Disconnect on Alice, in the copy of the strip under step 1
        alice, bob = chat_widget(step1, "Alice"), chat_widget(step1, "Bob")
        button(alice, words["disconnect"]).click()
        expect(button(alice, words["connect"])).to_be_visible()
        step2 = cell_with(page, "await story.disconnected(alice)")
        run_cell(page, step2)
        output = step2.locator(".jp-OutputArea")
        expect(output).to_contain_text(words["clicked_disconnect"])
        expect(output).to_contain_text(words["kept"])
        expect(step2.locator("svg text", has_text="✕").first).to_be_visible()   # the DROP, drawn
        shot(page, step2, f"notebook-{language}-2-alice-disconnected")

        # 3. "realtime" from Bob while she is away
        bob = chat_widget(step2, "Bob")
        text_box(bob).fill("realtime")
        button(bob, words["send"]).click()
        expect(messages(bob).last).to_have_text("realtime")
        step3 = cell_with(page, "await story.sent_while_away(bob, alice")
        run_cell(page, step3)
        output = step3.locator(".jp-OutputArea")
        expect(output).to_contain_text(words["missed"])
        expect(output).to_contain_text("↻ Alice")                        # in the buffer view
        assert "realtime" not in messages(chat_widget(step3, "Alice")).all_inner_texts()
        shot(page, step3, f"notebook-{language}-3-realtime-kept-for-alice")
        # the buffer view's mark is in sight at 1366x900, not pushed down by the wire picture
        expect(step3.locator("td", has_text="↻ Alice").first).to_be_in_viewport(ratio=1)

        # 4. Connect: the session comes back, "realtime" is replayed and marked
        alice = chat_widget(step3, "Alice")
        button(alice, words["connect"]).click()
        expect(button(alice, words["disconnect"])).to_be_visible()
        step4 = cell_with(page, "await story.reconnected(alice)")
        run_cell(page, step4)
        output = step4.locator(".jp-OutputArea")
        for key in ("clicked_connect", "back", "presented", "replayed"):
            expect(output).to_contain_text(words[key])
        alice = chat_widget(step4, "Alice")
        expect(messages(alice).last).to_have_text("↻ realtime")
        assert messages(alice).all_inner_texts().count("↻ realtime") == 1
        replay = step4.locator("svg text", has_text=re.compile(r"^↻ 42\["))
        expect(replay.first).to_contain_text("realtime")                 # the replay, drawn
        shot(page, step4, f"notebook-{language}-4-alice-recovered")

        # the rest of the notebook, as Run All would: it never makes the lesson dead
        after = code_cells(page).nth(position_of(page, "await story.reconnected(alice)") + 1)
        select_cell(after)
        menu(page, "Run", "Run Selected Cell and All Below")
        wait_for_run(page, code_cells(page).count())
        assert error_outputs(page) == []
        rooms = cell_with(page, "await carol2.send(")
        expect(rooms.locator(".jp-OutputArea")).to_contain_text(words["rooms"])
        shot(page, rooms, f"notebook-{language}-5-rooms-restored")
        # Run All plays the room demo in milliseconds: the times still tell its packets apart
        times = wire_times(rooms)
        assert len(times) >= 10 and times == sorted(times) and len(set(times)) > 1, times
        # the server's answer to Alice's CONNECT says "recovered", never cut off
        expect(rooms.locator(".chatlib-wire svg text", has_text=words["recovered"])).to_have_count(1)

        # the first demo is still live: Alice can leave and come back again
        alice = chat_widget(first, "Alice")
        expect(status(alice)).to_contain_text(words["connected"])
        button(alice, words["disconnect"]).click()
        expect(button(alice, words["connect"])).to_be_visible()
        button(alice, words["connect"]).click()
        expect(button(alice, words["disconnect"])).to_be_visible()
        expect(status(alice)).to_contain_text(words["connected"])

        # clean-up is the reader's click
        clean_up = cell_with(page, "chatlib.CleanUp(")
        clean_up.get_by_role("button", name=words["clean_up"]).click()
        expect(clean_up.locator(".jp-OutputArea")).to_contain_text(words["left"])
        expect(chat_widget(first, "Alice")).to_contain_text(words["stopped"])
        shot(page, clean_up, f"notebook-{language}-6-cleaned-up")
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        page.close()
        lab.shutdown_kernels()


def type_answer(page, cell, source: str) -> None:
    """Replace the cell's code by typing ``source`` at full speed, as a fast typist does."""
    editor = cell.locator(".jp-InputArea-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(source, delay=0)
    page.keyboard.press("Escape")          # back to command mode
    expect(cell.locator(".jp-InputArea-editor")).to_contain_text(source.splitlines()[0])


def answer_and_expect(page, cell, source: str, verdict: str, name: str) -> None:
    type_answer(page, cell, source)
    select_cell(cell)
    menu(page, "Run", "Run Selected Cell and Do not Advance")
    expect(cell.locator(".jp-OutputArea").last).to_contain_text(verdict, timeout=60_000)
    assert "Traceback" not in cell.locator(".jp-OutputArea").inner_text()
    shot(page, cell, name)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_reader_answers_every_exercise_wrong_first_then_right(chromium, lab, language):
    words, said = WORDS[language], EXERCISES[language]
    ex, answer = said["ex"], said["answer"]
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    try:
        open_notebook(page, lab, words["notebook"].name)
        # a fresh open: no verdict of a run the reader has not made, no execution count
        expect(page.locator(".jp-Notebook .jp-OutputArea-output")).to_have_count(0)
        prompts = code_cells(page).locator(".jp-InputPrompt").all_inner_texts()
        assert not any(re.search(r"\d", prompt) for prompt in prompts), prompts
        screenshot(page, f"exercises-{language}-0-fresh-open")
        run_all(page)
        wait_for_run(page, code_cells(page).count())
        assert error_outputs(page) == []

        # 1. the offsets: a wrong prediction, a hint, then the right one (it plays the replay)
        cell = cell_with(page, f"await {ex}1.check(")
        answer_and_expect(page, cell, f"{answer} = ['1', '2', '3']\nawait {ex}1.check({answer})\n"
                          f"{ex}1.hint()", said["not_yet"], f"exercises-{language}-1-wrong")
        expect(cell.locator(".jp-OutputArea")).to_contain_text(said["hint"])
        answer_and_expect(page, cell, f"{answer} = [3, 4, 5]\nawait {ex}1.check({answer})",
                          said["correct"], f"exercises-{language}-1-right")
        expect(cell.locator(".jp-OutputArea")).to_contain_text("↻ 3, 4, 5")

        # 2. a room: Carol's message too (wrong), then Bob's two, in order
        cell = cell_with(page, f"await {ex}2.check(")
        answer_and_expect(page, cell, f"{answer} = {said['rooms_wrong']}\nawait {ex}2.check({answer})",
                          said["not_yet"], f"exercises-{language}-2-wrong")
        answer_and_expect(page, cell, f"{answer} = {said['rooms_right']}\nawait {ex}2.check({answer})",
                          said["correct"], f"exercises-{language}-2-right")

        # 3. the countdown: an answer it does not take, then in time, then too late
        cell = cell_with(page, f"await {ex}3.check(")
        answer_and_expect(page, cell, f"await {ex}3.check('now')", said["not_yet"],
                          f"exercises-{language}-3-wrong")
        maker = cell_with(page, f"{ex}3 = await step6.countdown_exercise(")
        alice, bob = chat_widget(maker, "Alice"), chat_widget(maker, "Bob")
        button(alice, words["disconnect"]).click()
        expect(button(alice, words["connect"])).to_be_visible()
        text_box(bob).fill("countdown")
        text_box(bob).press("Enter")
        button(alice, words["connect"]).click()
        expect(button(alice, words["disconnect"])).to_be_visible()
        answer_and_expect(page, cell, f"await {ex}3.check()", said["not_yet"],
                          f"exercises-{language}-3-in-time")
        button(alice, words["disconnect"]).click()
        expect(button(alice, words["connect"])).to_be_visible()
        page.wait_for_timeout(11_500)      # the server keeps her session 10 s
        button(alice, words["connect"]).click()
        expect(button(alice, words["disconnect"])).to_be_visible()
        answer_and_expect(page, cell, f"await {ex}3.check()", said["correct"],
                          f"exercises-{language}-3-both")

        # 4. the tip's handler: one that always resynchronises, then the right one
        cell = cell_with(page, f"await {ex}4.check(")
        answer_and_expect(page, cell, "on_connect = lambda client, resynchronise: resynchronise()\n"
                          f"await {ex}4.check(on_connect)", said["not_yet"],
                          f"exercises-{language}-4-wrong")
        answer_and_expect(page, cell, "on_connect = lambda client, resynchronise: "
                          "None if client.recovered else resynchronise()\n"
                          f"await {ex}4.check(on_connect)", said["correct"],
                          f"exercises-{language}-4-right")
        assert error_outputs(page) == []
        assert chromium.page_errors == [] and chromium.blocked == []
    finally:
        page.close()
        lab.shutdown_kernels()
