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
from .scratch import scratch_path
from .strip import Strip
from .texts import texts


def _ids(answer: Any) -> Any:
    try:
        return [int(item) for item in answer]
    except (TypeError, ValueError):
        return None


async def catch_up_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """A step-7 server of its own: Alice left cleanly after ids 1-2; Bob then sent 3 more."""
    text = texts("step7", labels)
    server = await start_chat_server(step=7, db=scratch_path(f"{name}.db"), replace=False)
    alice = ChatWidget(server, "Alice", mode="clean", labels=labels)
    bob = ChatWidget(server, "Bob", labels=labels)
    for widget in (alice, bob):
        await widget.connect()
    for message in ("one", "two"):
        await bob.send(message)
        await alice.wait_for_message(message)
    await alice.disconnect()
    for message in ("three", "four", "five"):
        await bob.send(message)
        await bob.wait_for_message(message)
    display(Strip(alice, bob))

    async def check(answer: Any) -> Any:
        ids = _ids(answer)
        if ids is None:
            return NotYet(text["not_ids"])
        expected = [row[0] for row in await server.history.since(alice.offset.value)]
        if ids != expected:
            return NotYet(text["wrong"], hint=0 if len(ids) != 3 else 1)
        offset = alice.offset.value
        await alice.connect()
        await alice.wait_for_message("five")
        sent = catch_up(server, alice) or []
        texts = [item["text"] for item in alice.history if item["id"] in sent]
        return Correct(text["right"].format(offset=offset, ids=sent, texts=", ".join(texts)))

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
