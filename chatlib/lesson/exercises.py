"""Exercises that answer back: ``check()`` says correct, or not yet with a hint; a solution to reveal.

In the manner of Kaggle's learntools (``q1.check()``, ``q1.hint()``, ``q1.solution()``), for
a live lesson: a check may be a coroutine that plays the reader's answer against a real
server before it answers. Every answer is shown twice over: coloured HTML for the reader,
and the same words as plain text (what a notebook test compares, and what a terminal shows).

Example::

    def offsets(answer):
        if answer == ["3", "4", "5"]:
            return Correct("each stored event takes the next offset")
        return NotYet("Alice would not receive those.", hint=0)

    ex1 = Exercise("Exercise 1", offsets, hints=["Bob's messages are numbered 1, 2, …"],
                   solution="answer = ['3', '4', '5']")
    await ex1.check(["3", "4", "5"])     # ✓ Correct: each stored event takes the next offset
    await ex1.check(["1"])               # Not yet: Alice would not receive those. Hint: …
    ex1.hint()                           # Hint 1/1: Bob's messages are numbered 1, 2, …
    await ex1.check(None, "extra")       # Not yet: give one answer: await ex1.check(answer)
    ex1.solution()
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from IPython.display import display

from ..jupyter.labels import Labels
from .texts import texts

_COLORS = {"correct": "#2e7d32", "not_yet": "#b26a00", "hint": "#1565c0", "solution": "#444"}
_BOX = ("border-left:4px solid {color};padding:4px 10px;margin:4px 0;"
        "background:#fafafa;white-space:pre-wrap")
# Drawn, not emoji (an hourglass, a light bulb): a browser without an emoji font, as
# Debian's Chromium, shows ⏳ and 💡 as empty boxes
_ICON = ("<svg width='14' height='14' viewBox='0 0 14 14' aria-hidden='true' fill='none' "
         "stroke='currentColor' stroke-width='1.4' stroke-linecap='round' "
         "style='vertical-align:-2px;margin-right:4px'>{}</svg>")
_ICONS = {
    "not_yet": _ICON.format("<path d='M3.5 1.5h7M3.5 12.5h7'/><path d='M4.5 1.5c0 3.5 5 3.5 5 "
                            "5.5s-5 2-5 5.5M9.5 1.5c0 3.5-5 3.5-5 5.5s5 2 5 5.5'/>"),
    "hint": _ICON.format("<path d='M5 10V8.6A4 4 0 1 1 9 8.6V10z'/><path d='M5.5 12h3M6 13.5h2'/>"),
}


@dataclass(frozen=True)
class Correct:
    """A check's verdict: the answer is right; ``why`` says what it shows."""

    why: str = ""


@dataclass(frozen=True)
class NotYet:
    """A check's verdict: not right (yet). ``why`` says what was seen; ``hint`` (an index
    into the exercise's hints) is shown with it when one fits."""

    why: str
    hint: int | None = None


Verdict = Correct | NotYet


def describe(error: BaseException) -> str:
    """An exception in one line, as a reader would quote it: ``TypeError: ...``."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def show(kind: str, title: str, body: str, code: str = "") -> None:
    """Display one answer box: ``kind`` is correct, not_yet, hint or solution."""
    plain = f"{title}: {body}" if body else title
    if code:
        plain += "\n" + code
    rich = (f"<div style='{_BOX.format(color=_COLORS[kind])}'>"
            f"<b style='color:{_COLORS[kind]}'>{_ICONS.get(kind, '')}{html.escape(title)}</b>"
            + (f": {html.escape(body)}" if body else "")
            + (f"<pre style='margin:4px 0 0 0'>{html.escape(code)}</pre>" if code else "")
            + "</div>")
    display({"text/plain": plain, "text/html": rich}, raw=True)


class Exercise:
    """One exercise: ``await ex.check(...)``, ``ex.hint()``, ``ex.solution()``.

    ``checker`` takes what the reader passes to :meth:`check` and returns (or, if it is
    a coroutine function, awaits to) a :class:`Correct` or :class:`NotYet`. ``hints``
    are shown one at a time, each :meth:`hint` call the next one; a ``NotYet`` may name
    the hint that fits what was seen. ``solution`` is code, ``explanation`` the words
    around it. ``name`` is the variable the notebook binds, used in the answers'
    "for a hint: ex1.hint()".

    Example::

        ex = Exercise("Exercise 2", lambda answer: Correct() if answer == 42 else NotYet("no"),
                      hints=["six times seven"], solution="answer = 42", name="ex2")
        await ex.check(41)   # Not yet: no (for a hint: ex2.hint(); the solution: ...)
    """

    def __init__(self, title: str, checker: Callable[..., Any], hints: Sequence[str],
                 solution: str, explanation: str = "", name: str = "ex",
                 labels: Labels = "en") -> None:
        self.title = title
        self.checker = checker
        self.hints = list(hints)
        self.solution_code = solution
        self.explanation = explanation
        self.name = name
        self.words = texts("exercise", labels)
        #: the indexes of the hints shown so far, by hint() or with a check's verdict
        self.shown: set[int] = set()
        #: every verdict so far, newest last
        self.verdicts: list[Verdict] = []

    def __repr__(self) -> str:
        return f"<Exercise {self.title!r}: {self.name}.check(...), .hint(), .solution()>"

    @property
    def solved(self) -> bool:
        """Whether a check has said correct."""
        return any(isinstance(verdict, Correct) for verdict in self.verdicts)

    async def check(self, *answer: Any, **options: Any) -> None:
        """Check ``answer`` and show the verdict (kept in :attr:`verdicts`).

        Whatever the reader passes, the verdict is correct or not yet with a reason: a
        wrong number of arguments, a coroutine passed unawaited, or an answer that makes
        the check raise is a "not yet" that says so, never a traceback.
        """
        verdict = await self._verdict(answer, options)
        self.verdicts.append(verdict)
        words = self.words
        if isinstance(verdict, Correct):
            show("correct", f"✓ {words['correct']}", verdict.why)
        else:
            body = verdict.why
            if verdict.hint is not None and 0 <= verdict.hint < len(self.hints):
                body += f" {words['hint']}: {self.hints[verdict.hint]}"
                self.shown.add(verdict.hint)
            body += f" ({words['more'].format(name=self.name)})"
            show("not_yet", words["not_yet"], body)

    async def _verdict(self, answer: tuple, options: dict) -> Verdict:
        words = self.words
        for value in (*answer, *options.values()):
            if inspect.iscoroutine(value):
                value.close()   # never awaited: close it so Python does not warn later
                return NotYet(words["coroutine"])
        try:
            inspect.signature(self.checker).bind(*answer, **options)
        except TypeError:
            return NotYet(words["arguments"].format(name=self.name,
                                                   usage=self._usage()))
        except ValueError:   # a builtin without a signature: let the call say
            pass
        try:
            verdict = self.checker(*answer, **options)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as error:
            return NotYet(words["raised"].format(error=describe(error)))
        if not isinstance(verdict, (Correct, NotYet)):
            return NotYet(words["raised"].format(error=repr(verdict)))
        return verdict

    def _usage(self) -> str:
        try:
            names = list(inspect.signature(self.checker).parameters)
        except ValueError:
            names = []
        return f"await {self.name}.check({', '.join(names)})"

    @property
    def hints_shown(self) -> int:
        """How many different hints the reader has seen so far."""
        return len(self.shown)

    def hint(self, number: int | None = None) -> None:
        """Show the first hint not shown yet (or hint ``number``, counted from 1).

        A hint a wrong check showed counts as shown; once every hint has been shown, the
        last one is shown again with a pointer to the solution.
        """
        if not self.hints:
            return self.solution()
        last = len(self.hints) - 1
        if number is not None and isinstance(number, int) and not isinstance(number, bool):
            index = max(0, min(number - 1, last))
        else:
            index = next((i for i in range(len(self.hints)) if i not in self.shown), last)
        self.shown.add(index)
        body = self.hints[index]
        if len(self.shown) == len(self.hints):
            body += f" ({self.words['no_more'].format(name=self.name)})"
        show("hint", f"{self.words['hint']} {index + 1}/{len(self.hints)}", body)

    def solution(self) -> None:
        """Show the solution: code, and why it is right."""
        show("solution", self.words["solution"], self.explanation, self.solution_code)
