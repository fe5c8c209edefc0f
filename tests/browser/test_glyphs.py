"""The exercises' answers in Chromium without an emoji font, as on Debian: every mark shows.

⏳ and 💡 need an emoji font, which Debian's Chromium does not have: they showed as empty
boxes. The answers' marks are drawn (inline SVG) or are characters every text font has.
"""

from __future__ import annotations

import asyncio
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatlib.lesson import exercises
from chatlib.lesson.exercises import Correct, Exercise, NotYet

from .support import expect, screenshot

pytestmark = pytest.mark.browser

#: code points a browser draws from an emoji font only (their default look is a picture)
EMOJI_RANGES = [(0x231A, 0x231B), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x2614, 0x2615),
                (0x26A1, 0x26A1), (0x2705, 0x2705), (0x274C, 0x274C), (0x2753, 0x2755),
                (0x2B50, 0x2B50), (0x1F300, 0x1FAFF)]


def needs_an_emoji_font(text: str) -> list[str]:
    return [f"{ch} ({unicodedata.name(ch, hex(ord(ch)))})" for ch in text
            if any(low <= ord(ch) <= high for low, high in EMOJI_RANGES)]


def run(coroutine) -> None:
    """Run a coroutine to its end (in a thread: Playwright's driver holds this one's loop)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, coroutine).result()


def answers(language: str) -> list[dict]:
    """What an exercise shows, in order: not yet, a hint, correct, the solution."""
    shown: list[dict] = []
    original = exercises.display
    exercises.display = lambda bundle, raw=True: shown.append(bundle)
    try:
        ex = Exercise("Exercise 1", lambda answer: Correct("right") if answer == 42
                      else NotYet("not that", hint=0),
                      hints=["six times seven", "42"], solution="answer = 42", name="ex1",
                      labels=language)
        run(ex.check(41))
        ex.hint()
        run(ex.check(42))
        ex.solution()
    finally:
        exercises.display = original
    return shown


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_mark_of_an_answer_shows_without_an_emoji_font(browser, language):
    shown = answers(language)
    for bundle in shown:
        assert needs_an_emoji_font(bundle["text/plain"]) == [], bundle["text/plain"]
        assert needs_an_emoji_font(bundle["text/html"]) == [], bundle["text/html"]

    page = browser.new_page()
    page.set_viewport_size({"width": 900, "height": 400})
    page.set_content("<body style='font-family: sans-serif'>"
                     + "".join(bundle["text/html"] for bundle in shown) + "</body>")
    icons = page.locator("svg")
    expect(icons).to_have_count(2)                     # the hourglass and the light bulb
    for icon in icons.all():
        box = icon.bounding_box()
        assert box and box["width"] >= 12 and box["height"] >= 12
    screenshot(page, f"exercise-answers-{language}")
