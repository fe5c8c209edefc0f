"""The step-7 lesson's exercise (server delivery), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.lesson import step7
    ex1 = await step7.catch_up_exercise("en")
    await ex1.check([3, 4, 5])
"""

from __future__ import annotations

from typing import Any

from IPython.display import display

from ..jupyter.labels import Labels
from ..jupyter.launcher import start_chat_server
from ..jupyter.widget import ChatWidget
from .exercises import Correct, Exercise, NotYet
from .strip import Strip
from .texts import texts


def _ids(answer: Any) -> list[int] | None:
    """The reader's answer as a list of ids: a list or tuple of whole numbers (or of their
    digits as text), one number, or "3, 4, 5"; None for anything else."""
    if isinstance(answer, str):
        answer = answer.replace(",", " ").split()
    elif isinstance(answer, int):
        answer = [answer]
    if isinstance(answer, (dict, set, frozenset)) or answer is None:
        return None
    ids = []
    try:
        for item in answer:
            if isinstance(item, bool) or (isinstance(item, float) and not item.is_integer()):
                return None
            ids.append(int(item))
    except (TypeError, ValueError, OverflowError):
        return None
    return ids


async def catch_up_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """A step-7 server of its own: Alice left cleanly after ids 1-2; Bob then sent 3 more."""
    text = texts("step7", labels)
    # a database in memory: made afresh each time the cell runs, so the ids start at 1
    server = await start_chat_server(step=7, replace=False)
    alice = ChatWidget(server, "Alice", mode="clean", labels=labels)
    bob = ChatWidget(server, "Bob", labels=labels)
    for widget in (alice, bob):
        await widget.connect()
    before, after = text["messages"][:2], text["messages"][2:]
    for message in before:
        await bob.send(message)
        await alice.wait_for_message(message)
    await alice.disconnect()
    for message in after:
        await bob.send(message)
        await bob.wait_for_message(message)
    display(Strip(alice, bob))

    played: list[tuple[list[int], Correct]] = []   # the right answer and verdict, once played

    async def check(answer: Any = None) -> Any:
        ids = _ids(answer)
        if ids is None:
            return NotYet(text["not_ids"])
        expected = played[0][0] if played else [
            row[0] for row in await server.history.since(alice.offset.value)]
        if ids != expected:
            return NotYet(text["wrong"], hint=0 if len(ids) != 3 else 1)
        if played:        # right again: Alice is back already, the verdict stands
            return played[0][1]
        offset = alice.offset.value
        await alice.connect()
        await alice.wait_for_message(after[-1])
        sent = catch_up(server, alice) or []
        got = [item["text"] for item in alice.history if item["id"] in sent]
        played.append((ids, Correct(text["right"].format(offset=offset, ids=sent,
                                                         texts=", ".join(got)))))
        return played[0][1]

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


def catch_up(server: Any, widget: ChatWidget) -> Any:
    """The ids the step-7 catch-up sent to ``widget``'s current connection; None if it ran
    none (a recovered connection needs none).

    Example::

        await alice.connect()
        step7.catch_up(server, alice)     # None when recovered, else e.g. [2, 3]
    """
    if widget.client.recovered:
        return None  # the server's connect handler returned before the query
    return next((ids for sid, _offset, ids in reversed(server.io.catch_ups)
                 if sid == widget.sid), None)


def said(server: Any, widget: ChatWidget, labels: Labels = "en") -> str:
    """One line on ``widget``'s last connection: recovered, and what the catch-up sent."""
    text = texts("step7", labels)
    sent = catch_up(server, widget)
    what = text["not_needed"] if sent is None else (
        text["ids"].format(ids=sent) if sent else text["nothing"])
    return text["said"].format(name=widget.name, recovered=widget.client.recovered, what=what)
