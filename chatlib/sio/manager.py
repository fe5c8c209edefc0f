"""Recovery inside python-socketio's client managers: stored events, held sessions, the feed.

``RecoveryRouter`` is what recovery adds to a manager: it stores every event
emitted without a callback, encodes it once with its offset, and writes it to
each recipient; it holds the live packets of a session being restored; with a
shared store it delivers the store's feed. ``attach`` connects a router to a
python-socketio asyncio manager instance, the default ``AsyncManager`` or any
pub/sub manager (``AsyncRedisManager`` and the others), by wrapping a few of
that instance's methods (``chatlib.sio.hooks``); the manager's class stays the user's.

Delivery paths, by manager and store:

- plain manager: store, then write to this server's clients;
- pub/sub manager, private store (memory, SQLite): the manager publishes as
  usual; every chatlib server that receives the emit (the emitting one
  included) stores it in its own store and writes it to its own clients, so
  recovery works on the server that kept the session;
- shared store (Redis): store only, in batches (``appends.AppendQueue``: the
  emit returns once its packet is queued); every server, the emitting one
  included, writes the store's feed to its own clients in offset order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from socketio.async_manager import AsyncManager

from ..core.store import Payload, RecoveryStore, SharedStore
from . import compat
from .appends import AppendQueue
from .common import as_rooms, as_sids, event_encoder
from .direct import DirectWriter
from .routing import RouterBase

# The longest run of stores and writes between two turns of the event loop: a
# handler that emits in a loop, or a feed batch of 1,000 packets, lets the
# writers and every other task run at least this often (bench/README.md, part 5).
_SLICE_S = 0.002
# How long a shared store's writer waits for this server's feed to catch up before
# it stores on anyway (a feed that does not move is in an outage or stopped).
_PACE_WAIT_S = 1.0


class RecoveryRouter(RouterBase):
    """Recovery's share of a client manager: what is stored, held, and written where.

    The packet is encoded once, with the offset as its last argument, and
    written to each participant's Engine.IO queue in turn: no task per
    recipient. A session that is connecting (or being restored) has its live
    packets held until its CONNECT reply and its missed packets are written,
    so that it receives everything exactly once and in order.
    """

    def __init__(self, server: Any, manager: AsyncManager, store: RecoveryStore) -> None:
        super().__init__(server, manager, store)
        self._feed_task: asyncio.Task[None] | None = None
        self._direct = DirectWriter(server)
        self._slice_start = time.perf_counter()
        self._appends = (AppendQueue(store, self._deliver_unstored, self._pace)
                         if isinstance(store, SharedStore) else None)
        self._fed_seq = 0  # the newest sequence number the feed has brought to this server
        self._fed = asyncio.Event()

    def forget(self, sid: str, namespace: str) -> None:
        """A connection ends: its store session (if connected) and everything held for it go."""
        self._direct.forget(self.manager.eio_sid_from_sid(sid, namespace))
        super().forget(sid, namespace)

    # -- emitting --------------------------------------------------------

    async def emit(self, event: str, data: Any, namespace: str, room: Any,
                   skip_sid: Any) -> None:
        """Store one event and deliver it (directly, or through a shared store's feed)."""
        rooms = as_rooms(room)
        skip = as_sids(skip_sid)
        encode_with = event_encoder(self.server.packet_class, namespace, event, data)

        if self._appends is not None:
            await self._appends.wait_for_room()
            self._appends.put((namespace, room, skip),
                              self.store.prepare_append(namespace, rooms, skip, encode_with))  # type: ignore[attr-defined]
        else:
            _, payload = self.store.append(namespace, rooms, skip, encode_with)
            await self.send_payload(namespace, room, skip, payload)
        await self._take_turn()

    async def _deliver_unstored(self, route: tuple[Any, ...], payload: Payload) -> None:
        """A packet the shared store could not keep (an outage) still reaches this server's clients."""
        namespace, room, skip = route
        await self.send_payload(namespace, room, skip, payload)

    async def _pace(self, stored: int) -> None:
        """Hold the store writer while this server's feed is half the buffer behind it.

        A burst of emits would otherwise be stored faster than the feed writes it
        to many clients, and the oldest packets would be trimmed before the feed
        read them: the feed would then tell every client of a gap. Held, the
        writer's queue grows instead, and past ``appends.HIGH_WATER`` the emits wait.
        """
        task = self._feed_task
        limit = max(1, self.store.recovery.max_buffered_packets // 2)
        while task is not None and not task.done() and stored - self._fed_seq > limit:
            self._fed.clear()
            try:
                await asyncio.wait_for(self._fed.wait(), _PACE_WAIT_S)
            except TimeoutError:
                return  # the feed does not move (an outage): store on; a gap will be told

    async def settle(self) -> None:
        """Wait until this server's emits so far are in the shared store (no-op otherwise).

        A CONNECT waits for it, so that a new session starts after every packet
        emitted before it, and a restore sees them, as with a private store.
        """
        if self._appends is not None:
            await self._appends.drain()

    async def _take_turn(self) -> None:
        """Let the event loop run once this server has stored and written for a slice.

        Neither a store nor a write suspends, so a handler that emits in a loop
        (or a large feed batch) would hold the loop, and the writers that put
        the packets on the wire, until it ends. Called between packets only,
        never in the middle of one, so every client still gets them in order.
        """
        if time.perf_counter() - self._slice_start >= _SLICE_S:
            # two turns: in the first the engineio writers take what was queued,
            # in the second their (coalesced) writes reach the sockets
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            self._slice_start = time.perf_counter()

    def start_feed(self) -> None:
        """Start delivering a shared store's packets to this server's clients (once)."""
        if self._appends is not None and self._feed_task is None:
            shared = self._appends.store
            self._fed_seq = shared.head()
            self._feed_task = asyncio.get_running_loop().create_task(
                self._deliver(shared.feed(after=self._fed_seq)))

    async def stop_feed(self) -> None:
        """Store what is still queued, stop the feed, close this loop's store connections."""
        if self._appends is not None:
            await self._appends.drain()
            await self._appends.store.aclose()
        if self._feed_task is not None:
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
            self._feed_task = None

    async def _deliver(self, feed: AsyncIterator[list[Any]]) -> None:
        async for batch in feed:
            for record in batch:
                room = None if record.rooms is None else list(record.rooms)
                if record.payload is None:
                    await self._cut_off(record.namespace, room, record.seq)
                    continue
                await self.send_payload(record.namespace, room, record.exclude or frozenset(),
                                        record.payload, record.seq)
                self._fed_seq = record.seq
                if not self._fed.is_set():
                    self._fed.set()
                await self._take_turn()

    async def _cut_off(self, namespace: str, room: Any, seq: int) -> None:
        """Another server could not store packets for these clients (a store outage): they
        missed them. Forget their sessions and close their transports abruptly, as a network
        failure would, so that they reconnect and are told (``recovered`` false)."""
        for sid, eio_sid in self.cut_off_targets(namespace, room, seq):
            self.store.forget(namespace, sid)
            await compat.cut_transport(self.server, eio_sid)

    async def send_payload(self, namespace: str, room: Any, skip: frozenset[str],
                           payload: Payload, seq: int | None = None) -> None:
        """Write one stored payload to every live participant, or to its holding list.

        Straight onto the WebSocket where ``DirectWriter`` can, else through
        engineio's queue. It does not yield to the loop (engineio's queues are
        unbounded), so no later packet overtakes this one for some recipients.
        """
        parts = payload if isinstance(payload, list) else [payload]
        packets = [compat.message_packet(part) for part in parts]
        # packet observers see what goes through engineio's send_packet: no direct writes then
        frame = None if self.server.packet_observers else self._direct.frame(payload)
        direct = self._direct.write
        send = compat.eio_packet_sender(self.server)
        for eio_sid in self.recipients(namespace, room, skip, payload, seq):
            if frame is not None and direct(eio_sid, frame):
                continue
            for pkt in packets:
                await send(eio_sid, pkt)
