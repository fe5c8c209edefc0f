"""The step-8 lesson's exercise (client delivery), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.lesson import step8
    ex1 = await step8.exactly_once_exercise("en")
    await ex1.check({"retries": 3, "ack_timeout": 0.5, "client_offset": True})
    await ex1.check({"retries": "3"})   # ⏳ Not yet: retries is a whole number from 0 to 10
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..jupyter.labels import Labels
from ..jupyter.launcher import start_chat_server
from ..jupyter.widget import ChatWidget
from .exercises import Correct, Exercise, NotYet
from .faults import Faults
from .texts import texts

_LATE = 1.0   # seconds the second message's ack is late
_WAIT = 2.5   # seconds the check waits for each message to be stored


_ALLOWED = {"retries", "ack_timeout", "client_offset"}


async def _settled(server: Any, sender: ChatWidget, text: str) -> None:
    """Wait until ``text`` is stored and acknowledged, or ``_WAIT`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _WAIT
    while loop.time() < deadline:
        stored = [content for _id, content in await server.history.since(0)]
        if text in stored and not sender.pending:
            return
        await asyncio.sleep(0.1)


def _problem(options: Any, text: dict) -> str | None:
    """Why ``options`` cannot be ChatWidget options for this exercise; None when they can."""
    if not isinstance(options, dict) or not all(isinstance(key, str) for key in options):
        return text["not_options"]
    unknown = sorted(set(options) - _ALLOWED)
    if unknown:
        return text["unknown"].format(keys=", ".join(unknown), allowed=", ".join(sorted(_ALLOWED)))
    retries = options.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        return text["bad_retries"].format(value=repr(retries))
    timeout = options.get("ack_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= 10):
        return text["bad_timeout"].format(value=repr(timeout))
    if not isinstance(options.get("client_offset", False), bool):
        return text["bad_offset"].format(value=repr(options["client_offset"]))
    return None


async def exactly_once_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """Each check: a step-8 server of its own loses the first message and acks the second 1 s late."""
    text = texts("step8", labels)
    first, second = text["messages"]

    async def check(options: Any = None) -> Any:
        problem = _problem(options, text)
        if problem:
            return NotYet(problem, hint=0)
        server = await start_chat_server(step=8, replace=False)
        sender = None
        try:
            faults = Faults(server)
            try:
                sender = ChatWidget(server, "Alice", labels=labels,
                                    **{"client_offset": False, **options})
            except (TypeError, ValueError) as error:
                return NotYet(str(error), hint=0)
            await sender.connect()
            faults.lose_next()
            await sender.send(first)
            await _settled(server, sender, first)
            faults.delay_next_ack(_LATE)
            await sender.send(second)
            await _settled(server, sender, second)
            await asyncio.sleep(_LATE)   # a copy sent late would be stored by now
            stored = [content for _id, content in await server.history.since(0)]
        finally:
            if sender is not None:
                await sender.aclose()
            await server.stop()
        counts = {"first": stored.count(first), "second": stored.count(second)}
        summary = text["stored"].format(**counts)
        if counts["first"] == 0:
            return NotYet(f"{summary} {text['lost']}", hint=0)
        if counts["second"] > 1:
            return NotYet(f"{summary} {text['twice']}", hint=1)
        if counts != {"first": 1, "second": 1}:
            return NotYet(summary, hint=0)
        return Correct(f"{summary} {text['right']}")

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)
