"""RecoveryManager: python-socketio's client manager with a packet store underneath.

This module and ``server.py``/``client.py`` are the only ones that reach into
python-socketio's internals; ``requirements.txt`` pins its minor version.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Optional

from bidict import ValueDuplicationError
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager

from ..core.store import UNSTORED, Payload, RecoveryStore


_YIELD_EVERY = 4096  # packets written between two yields to the event loop (bench/README.md)


def _as_args(data: Any) -> list:
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


def _as_sids(skip_sid: Any) -> frozenset:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, (list, tuple, set, frozenset)):
        return frozenset(sid for sid in skip_sid if sid is not None)
    return frozenset((skip_sid,))


def _as_rooms(room: Any) -> Optional[list]:
    """None for everyone, else the list of rooms (python-socketio accepts one room or a list)."""
    if room is None:
        return None
    if hasattr(room, "__len__") and not isinstance(room, str):
        return list(room)
    return [room]


class RecoveryManagerMixin:
    """Stores every event emitted without a callback, with its offset, then sends it.

    The packet is encoded once, with the offset as its last argument, and
    written to each participant's Engine.IO queue in turn: no task per
    recipient. A session that is connecting (or being restored) has its live
    packets held until its CONNECT reply and its missed packets are written,
    so that it receives everything exactly once and in order.

    With a shared store (several servers) the emitting server does not write
    the packet itself: every server, the emitting one included, reads all
    packets from the store's feed in offset order and writes them to its own
    clients, skipping for a just-restored session what its restore replayed.

    It mixes into python-socketio's ``AsyncManager`` (``RecoveryManager``) or
    into a pub/sub manager such as ``AsyncRedisManager`` (see ``adopt``).
    """

    def init_recovery(self, store: RecoveryStore) -> None:
        self.store = store
        self.recovered: set[tuple[str, str]] = set()
        self._held: dict[str, list[Payload]] = {}
        self._floors: dict[str, int] = {}
        self._feed_task: Optional[asyncio.Task] = None
        self._written_since_yield = 0

    # -- connection bookkeeping -----------------------------------------

    def register(self, eio_sid: str, namespace: str, sid: Optional[str] = None) -> Optional[str]:
        """Add a connecting session (pending until ``connect``) with a new or a restored sid.

        Returns the sid, or None when this Engine.IO connection is already in
        the namespace or the sid is still taken.
        """
        if sid is None:
            sid = self.server.eio.generate_id()
        elif self.eio_sid_from_sid(sid, namespace) is not None:
            return None
        try:
            self.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        except ValueDuplicationError:
            return None
        self.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
        self.pending_connect.setdefault(namespace, []).append(sid)
        return sid

    def set_floor(self, sid: str, seq: int) -> None:
        """Packets up to ``seq`` reach ``sid`` through its restore, not live (shared stores)."""
        if self.store.shared:
            self._floors[sid] = seq

    def hold(self, sid: str) -> list[Payload]:
        """Start holding live packets for a connecting session; returns the holding list."""
        return self._held.setdefault(sid, [])

    def release(self, sid: str) -> None:
        self._held.pop(sid, None)

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        self.store.forget(namespace, sid)
        self._held.pop(sid, None)
        self._floors.pop(sid, None)
        self.recovered.discard((namespace, sid))
        return await super().disconnect(sid, namespace, **kwargs)

    def is_disconnecting(self, sid: str, namespace: str) -> bool:
        return sid in self.pending_disconnect.get(namespace, ())

    # -- rooms -----------------------------------------------------------

    async def enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> Any:
        result = await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        self.store.join(namespace, sid, room)
        return result

    async def leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        result = await super().leave_room(sid, namespace, room)
        self.store.leave(namespace, sid, room)
        return result

    async def close_room(self, room: Any, namespace: str) -> Any:
        members = [sid for sid, _ in self.get_participants(namespace, room)]
        result = await super().close_room(room, namespace)
        for sid in members:
            self.store.leave(namespace, sid, room)
        return result

    # -- emitting --------------------------------------------------------

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        if callback is not None:
            # An event with an ack is answered, not recovered: the JS server does not store it either.
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, to=to, **kwargs)
        room = to or room
        rooms = _as_rooms(room)
        skip = _as_sids(skip_sid)
        head = [event]
        args = _as_args(data)
        packet_class = self.server.packet_class

        def encode_with(offset: str) -> Payload:
            return packet_class(sio_packet.EVENT, namespace=namespace,
                                data=head + args + [offset]).encode()

        offset, payload = self.store.append(namespace, rooms, skip, encode_with)
        # a packet a shared store could not keep (an outage) still reaches this server's clients
        if not self.store.shared or offset == UNSTORED:
            written = await self.send_payload(namespace, room, skip, payload)
            # Writing never suspends, so a handler that emits in a loop would hold
            # the loop until it ends; let it breathe every few thousand writes, and
            # only between packets, never in the middle of one (order matters).
            self._written_since_yield += written
            if self._written_since_yield >= _YIELD_EVERY:
                self._written_since_yield = 0
                await asyncio.sleep(0)

    def start_feed(self) -> None:
        """Start delivering a shared store's packets to this server's clients (once)."""
        if self.store.shared and self._feed_task is None:
            self._feed_task = asyncio.get_running_loop().create_task(
                self._deliver(self.store.feed(after=self.store.head())))

    async def stop_feed(self) -> None:
        if self._feed_task is not None:
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
            self._feed_task = None

    async def _deliver(self, feed) -> None:
        async for batch in feed:
            for record in batch:
                room = None if record.rooms is None else list(record.rooms)
                if record.payload is None:
                    await self._cut_off(record.namespace, room, record.seq)
                    continue
                await self.send_payload(record.namespace, room, record.exclude or frozenset(),
                                        record.payload, record.seq)

    async def _cut_off(self, namespace: str, room: Any, seq: int) -> None:
        """Another server could not store packets for these clients (a store outage): they
        missed them. Forget their sessions and close their transports abruptly, as a network
        failure would, so that they reconnect and are told (``recovered`` false)."""
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if seq <= self._floors.get(sid, -1):
                continue  # restored after the gap was written: nothing missed
            socket = self.server.eio.sockets.get(eio_sid)
            if socket is not None and not (socket.closed or socket.closing):
                self.store.forget(namespace, sid)
                await socket.close(wait=False, abort=True,
                                   reason=self.server.eio.reason.TRANSPORT_CLOSE)
                socket.queue.put_nowait(None)  # wakes its writer, which closes the WebSocket

    async def send_payload(self, namespace: str, room: Any, skip: frozenset,
                           payload: Payload, seq: Optional[int] = None) -> int:
        """Write one stored payload to every live participant, or to its holding list.

        Returns how many participants it was written to.
        """
        parts = payload if isinstance(payload, list) else [payload]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
        held = self._held
        floors = self._floors
        send = self.server._send_eio_packet
        written = 0
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            if floors and seq is not None and seq <= floors.get(sid, -1):
                continue
            if held and sid in held:
                held[sid].append(payload)
                continue
            for pkt in packets:
                await send(eio_sid, pkt)
            written += 1
        return written


class RecoveryManager(RecoveryManagerMixin, AsyncManager):
    """python-socketio's in-memory client manager with recovery (the default)."""

    def __init__(self, store: RecoveryStore) -> None:
        super().__init__()
        self.init_recovery(store)


_ADOPTED: dict[type, type] = {}


def adopt(manager: AsyncManager, store: RecoveryStore) -> AsyncManager:
    """Give recovery to a python-socketio manager instance, e.g. an ``AsyncRedisManager``.

    Its class is replaced by a subclass that puts ``RecoveryManagerMixin`` first,
    so stored events take the recovery path and everything else (acks, remote
    rooms and disconnects) stays the manager's own.
    """
    if not isinstance(manager, AsyncManager):
        raise TypeError("the client manager must be an asyncio python-socketio manager")
    if not isinstance(manager, RecoveryManagerMixin):
        base = type(manager)
        if base not in _ADOPTED:
            _ADOPTED[base] = type(f"Recovery{base.__name__}", (RecoveryManagerMixin, base), {})
        manager.__class__ = _ADOPTED[base]
    manager.init_recovery(store)
    return manager
