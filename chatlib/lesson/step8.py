"""The step-8 lesson's exercise (client delivery), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.lesson import step8
    ex1 = await step8.exactly_once_exercise("en")
    await ex1.check({"retries": 3, "ack_timeout": 0.5, "client_offset": True})
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


async def exactly_once_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """Each check: a step-8 server of its own loses "first" and acks "second" 1 s late."""
    text = texts("step8", labels)

    async def check(options: Any) -> Any:
        if not isinstance(options, dict) or not set(options) <= _ALLOWED:
            return NotYet(text["not_options"])
        server = await start_chat_server(step=8, replace=False)
        faults = Faults(server)
        try:
            sender = ChatWidget(server, "Alice", labels=labels,
                                **{"client_offset": False, **options})
        except ValueError as error:
            await server.stop()
            return NotYet(str(error), hint=0)
        await sender.connect()
        faults.lose_next()
        await sender.send("first")
        await _settled(server, sender, "first")
        faults.delay_next_ack(_LATE)
        await sender.send("second")
        await _settled(server, sender, "second")
        await asyncio.sleep(_LATE)   # a copy sent late would be stored by now
        stored = [content for _id, content in await server.history.since(0)]
        counts = {"first": stored.count("first"), "second": stored.count("second")}
        await server.stop()
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
