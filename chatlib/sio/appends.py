"""A server's emits on their way into a shared store: in emit order, many per round trip.

With a shared store (Redis) every server writes stored packets to its clients
from the store's feed, so an emit needs no offset at once. ``AppendQueue``
lets ``emit`` return as soon as its packet is encoded and queued; one writer
task per server stores everything queued since its last call in one
``append_prepared`` (one script call), so a handler that emits 1,000 times
costs a few round trips instead of 1,000, and the event loop is free while
Redis works. A packet the store could not keep (an outage) comes back
``UNSTORED`` and is handed to ``deliver_unstored``, which writes it live to
this server's clients, in order.

Example::

    queue = AppendQueue(store, deliver_unstored)
    queue.put(route, store.prepare_append("/", None, None, encode))
    await queue.drain()          # everything put so far is stored (or delivered unstored)
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.store import UNSTORED, Payload, SharedStore

logger = logging.getLogger(__name__)

#: The most packets one script call stores: Redis runs a script alone, so a bound
#: keeps every other server's calls from waiting long behind one batch.
MAX_BATCH = 500
#: ``wait_for_room`` holds an emitter back while this many packets wait for the store
#: (a Redis slower than the emits must not let the queue grow without end) ...
HIGH_WATER = 20_000
#: ... until the queue is down to this many.
LOW_WATER = 5_000

Deliver = Callable[[Any, Payload], Awaitable[None]]


class AppendQueue:
    """Prepared packets waiting for a shared store, and the task that stores them."""

    def __init__(self, store: SharedStore, deliver_unstored: Deliver,
                 pace: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.store = store
        self.deliver_unstored = deliver_unstored
        #: awaited before each batch with the newest offset stored so far: may hold the writer
        self.pace = pace
        #: the newest sequence number this queue has stored
        self.stored = 0
        self._queue: collections.deque[tuple[Any, Any]] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()

    def put(self, route: Any, prepared: Any) -> None:
        """Queue one prepared packet; ``route`` is what ``deliver_unstored`` gets with it."""
        self._queue.append((route, prepared))
        self._idle.clear()
        if len(self._queue) >= HIGH_WATER:
            self._room.clear()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def wait_for_room(self) -> None:
        """Return at once, unless the store has fallen far behind (then when it caught up)."""
        if not self._room.is_set():
            await self._room.wait()

    async def drain(self) -> None:
        """Wait until every packet put so far is stored (or delivered unstored)."""
        if not self._idle.is_set():
            await self._idle.wait()

    async def _write(self) -> None:
        try:
            while self._queue:
                if self.pace is not None:
                    await self.pace(self.stored)
                # a batch is a small part of the buffer, so that no reader misses it to the trim
                limit = min(MAX_BATCH, max(1, self.store.recovery.max_buffered_packets // 4))
                count = min(len(self._queue), limit)
                batch = [self._queue.popleft() for _ in range(count)]
                if len(self._queue) <= LOW_WATER:
                    self._room.set()
                try:
                    results = await self.store.append_prepared([prepared for _, prepared in batch])
                except Exception:  # a store's bug (an outage never raises): say so, go on
                    logger.exception("%d packets were lost: the store failed to take them", count)
                    continue
                for (route, _), (offset, payload) in zip(batch, results, strict=True):
                    if offset == UNSTORED:
                        await self._deliver(route, payload)
                    else:
                        self.stored = max(self.stored, int(offset))
        finally:
            self._writer = None
            self._room.set()
            if self._queue:  # cancelled with packets left: they are not stored
                logger.warning("%d packets were not stored: the server stopped first",
                               len(self._queue))
                self._queue.clear()
            self._idle.set()

    async def _deliver(self, route: Any, payload: Payload) -> None:
        try:
            await self.deliver_unstored(route, payload)
        except Exception:  # one client's failed write must not stop the store's writer
            logger.exception("an unstored packet could not be delivered")
