"""Faults on demand for step 8: a chat message lost on the way, or its ack late.

Step 8 of the tutorial is about what a network does to a message in flight: it may
never arrive, or arrive while its acknowledgement is lost or late. On loopback neither
happens by itself, so a lesson asks for them: :class:`Faults` wraps the server's
``chat message`` handler, and each fault applies to the next messages only.

Example::

    faults = Faults(server)
    faults.lose_next()               # the next message is lost: not handled, no ack
    faults.delay_next_ack(1.5)       # the next one is handled, but acked 1.5 s late
    faults.lost, faults.late         # the arguments of the messages each fault hit
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..sio import compat

NAMESPACE = "/"


class Faults:
    """Make the next chat messages of ``server`` (a ``start_chat_server`` server) fail."""

    def __init__(self, server: Any) -> None:
        self.server = server
        io = server.io
        self._handler = compat.handler(io, NAMESPACE, "chat message")
        self._to_lose = 0
        self._late: list[float] = []
        #: the arguments of every message lost, and of every message acked late
        self.lost: list[tuple] = []
        self.late: list[tuple] = []
        io.on("chat message", self._handle)

    def __repr__(self) -> str:
        return f"Faults(lost={len(self.lost)}, late={len(self.late)})"

    def lose_next(self, count: int = 1) -> None:
        """The next ``count`` messages vanish on the way: never handled, never acknowledged."""
        self._to_lose += count

    def delay_next_ack(self, seconds: float, count: int = 1) -> None:
        """The next ``count`` messages are handled at once, but acknowledged ``seconds`` late."""
        self._late.extend([seconds] * count)

    async def _handle(self, sid: str, *args: Any) -> Any:
        if self._to_lose:
            self._to_lose -= 1
            self.lost.append(args)
            return compat.no_ack(self.server.io)
        result = await self._handler(sid, *args)
        if self._late:
            delay = self._late.pop(0)
            self.late.append(args)
            await asyncio.sleep(delay)
        return result
