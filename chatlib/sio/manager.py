"""Recovery inside python-socketio's client managers: stored events, held sessions, the feed.

``RecoveryRouter`` is what recovery adds to a manager: it stores every event
emitted without a callback, encodes it once with its offset, and writes it to
each recipient; it holds the live packets of a session being restored; with a
shared store it delivers the store's feed. ``attach`` connects a router to a
python-socketio asyncio manager instance, the default ``AsyncManager`` or any
pub/sub manager (``AsyncRedisManager`` and the others), by wrapping a few of
that instance's methods; the manager's class stays the user's.

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
import base64
import contextlib
import time
from typing import Any, AsyncIterator, Callable, Optional

from bidict import ValueDuplicationError
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager

from ..core.store import Payload, RecoveryStore, SharedStore
from . import compat
from .appends import AppendQueue
from .direct import DirectWriter

# The longest run of stores and writes between two turns of the event loop: a
# handler that emits in a loop, or a feed batch of 1,000 packets, lets the
# writers and every other task run at least this often (bench/README.md, part 5).
_SLICE_S = 0.002
# How long a shared store's writer waits for this server's feed to catch up before
# it stores on anyway (a feed that does not move is in an outage or stopped).
_PACE_WAIT_S = 1.0


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


def _published_data(message: dict) -> Any:
    """The ``data`` of an emit another server published, as ``emit`` takes it."""
    data = message.get("data")
    if message.get("binary"):
        attachments = [base64.b64decode(part) for part in data[1:]]
        data = sio_packet.Packet.reconstruct_binary(data[0], attachments)
    if isinstance(data, list):
        return data[0] if len(data) == 1 else tuple(data)
    return data


class RecoveryRouter:
    """Recovery's share of a client manager: what is stored, held, and written where.

    The packet is encoded once, with the offset as its last argument, and
    written to each participant's Engine.IO queue in turn: no task per
    recipient. A session that is connecting (or being restored) has its live
    packets held until its CONNECT reply and its missed packets are written,
    so that it receives everything exactly once and in order.
    """

    def __init__(self, server: Any, manager: AsyncManager, store: RecoveryStore) -> None:
        self.server = server
        self.manager = manager
        self.store = store
        #: (namespace, sid) of the connections that were restored
        self.recovered: set[tuple[str, str]] = set()
        self._held: dict[str, list[Payload]] = {}
        self._floors: dict[str, int] = {}
        self._feed_task: Optional[asyncio.Task] = None
        self._direct = DirectWriter(server)
        self._slice_start = time.perf_counter()
        self._appends = (AppendQueue(store, self._deliver_unstored, self._pace)
                         if isinstance(store, SharedStore) else None)
        self._fed_seq = 0  # the newest sequence number the feed has brought to this server
        self._fed = asyncio.Event()

    # -- connection bookkeeping -----------------------------------------

    def register(self, eio_sid: str, namespace: str, sid: Optional[str] = None) -> Optional[str]:
        """Add a connecting session (pending until ``connect``) with a new or a restored sid.

        Returns the sid, or None when this Engine.IO connection is already in
        the namespace or the sid is still taken.
        """
        manager = self.manager
        if sid is None:
            sid = self.server.eio.generate_id()
        elif manager.eio_sid_from_sid(sid, namespace) is not None:
            return None
        try:
            manager.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        except ValueDuplicationError:
            return None
        manager.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
        compat.pending_connect(manager).setdefault(namespace, []).append(sid)
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

    def forget(self, sid: str, namespace: str) -> None:
        """A connection ends: its store session (if connected) and everything held for it go."""
        self._direct.forget(self.manager.eio_sid_from_sid(sid, namespace))
        self.store.forget(namespace, sid)
        self._held.pop(sid, None)
        self._floors.pop(sid, None)
        self.recovered.discard((namespace, sid))

    def is_disconnecting(self, sid: str, namespace: str) -> bool:
        return sid in compat.pending_disconnect(self.manager).get(namespace, ())

    def is_local(self, sid: Any, namespace: str) -> bool:
        return (self.manager.is_connected(sid, namespace)
                or self.manager.is_pre_connected(sid, namespace))

    # -- rooms -----------------------------------------------------------

    def joined(self, sid: Any, namespace: Optional[str], room: Any) -> None:
        namespace = namespace or "/"
        if self.is_local(sid, namespace):
            self.store.join(namespace, sid, room)

    def left(self, sid: Any, namespace: Optional[str], room: Any) -> None:
        self.store.leave(namespace or "/", sid, room)

    # -- emitting --------------------------------------------------------

    async def emit(self, event: str, data: Any, namespace: str, room: Any,
                   skip_sid: Any) -> None:
        """Store one event and deliver it (directly, or through a shared store's feed)."""
        rooms = _as_rooms(room)
        skip = _as_sids(skip_sid)
        head = [event]
        args = _as_args(data)
        packet_class = self.server.packet_class

        def encode_with(offset: str) -> Payload:
            return packet_class(sio_packet.EVENT, namespace=namespace,
                                data=head + args + [offset]).encode()

        if self._appends is not None:
            await self._appends.wait_for_room()
            self._appends.put((namespace, room, skip),
                              self.store.prepare_append(namespace, rooms, skip, encode_with))
        else:
            _, payload = self.store.append(namespace, rooms, skip, encode_with)
            await self.send_payload(namespace, room, skip, payload)
        await self._take_turn()

    async def _deliver_unstored(self, route: tuple, payload: Payload) -> None:
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
            except asyncio.TimeoutError:
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

    async def _deliver(self, feed: AsyncIterator[list]) -> None:
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
        for sid, eio_sid in list(self.manager.get_participants(namespace, room)):
            if seq <= self._floors.get(sid, -1):
                continue  # restored after the gap was written: nothing missed
            if not compat.socket_is_closing(compat.engineio_socket(self.server, eio_sid)):
                self.store.forget(namespace, sid)
                await compat.cut_transport(self.server, eio_sid)

    async def send_payload(self, namespace: str, room: Any, skip: frozenset,
                           payload: Payload, seq: Optional[int] = None) -> None:
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
        held = self._held
        floors = self._floors
        send = compat.eio_packet_sender(self.server)
        for sid, eio_sid in self.manager.get_participants(namespace, room):
            if sid in skip:
                continue
            if floors and seq is not None and seq <= floors.get(sid, -1):
                continue
            if held and sid in held:
                held[sid].append(payload)
                continue
            if frame is not None and direct(eio_sid, frame):
                continue
            for pkt in packets:
                await send(eio_sid, pkt)


def attach(manager: AsyncManager, router: RecoveryRouter) -> None:
    """Route a manager instance's stored emits and room changes through ``router``.

    The instance's own ``emit``, ``enter_room``, ``leave_room`` and ``disconnect``
    are wrapped, and ``close_room`` (or, on a pub/sub manager, which closes rooms
    through it, ``_handle_close_room``, among its handlers of what other servers
    publish: ``compat.PUBSUB_WRAPPED``); everything else,
    acks and remote disconnects included, stays the manager's.
    """
    if not isinstance(manager, AsyncManager):
        raise TypeError("the client manager must be an asyncio python-socketio manager")
    if getattr(manager, "recovery_router", None) is not None:
        raise ValueError("this client manager already serves a RecoveryServer")
    manager.recovery_router = router  # type: ignore[attr-defined]
    pubsub = compat.is_pubsub(manager)
    store = router.store
    original_emit = manager.emit
    original_enter = manager.enter_room
    original_leave = manager.leave_room
    original_close = manager.close_room
    original_disconnect = manager.disconnect

    async def emit(event: str, data: Any, namespace: Optional[str] = None, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> Any:
        namespace = namespace or "/"
        if callback is not None:
            # An event with an ack is answered, not recovered: the JS server does not store it either.
            return await original_emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                       callback=callback, to=to, **kwargs)
        if pubsub and not store.shared and not kwargs.get("ignore_queue"):
            # published as usual; this server's copy comes back through _handle_emit below
            return await original_emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                       to=to, **kwargs)
        await router.emit(event, data, namespace, to or room, skip_sid)

    async def enter_room(sid: Any, namespace: Any, room: Any, eio_sid: Any = None) -> Any:
        result = await original_enter(sid, namespace, room, eio_sid=eio_sid)
        router.joined(sid, namespace, room)
        return result

    async def leave_room(sid: Any, namespace: Any, room: Any) -> Any:
        result = await original_leave(sid, namespace, room)
        router.left(sid, namespace, room)
        return result

    async def close_room(room: Any, namespace: Any = None, **kwargs: Any) -> Any:
        members = [sid for sid, _ in manager.get_participants(namespace or "/", room)]
        result = await original_close(room, namespace, **kwargs)
        for sid in members:
            router.left(sid, namespace, room)
        return result

    async def disconnect(sid: Any, namespace: Any = None, **kwargs: Any) -> Any:
        router.forget(sid, namespace or "/")
        return await original_disconnect(sid, namespace, **kwargs)

    manager.emit = emit  # type: ignore[method-assign]
    manager.enter_room = enter_room  # type: ignore[method-assign]
    manager.leave_room = leave_room  # type: ignore[method-assign]
    manager.disconnect = disconnect  # type: ignore[method-assign]
    if pubsub:
        # a pub/sub manager closes rooms through _handle_close_room, here and elsewhere
        _attach_pubsub(manager, router)
    else:
        manager.close_room = close_room  # type: ignore[method-assign]


def _attach_pubsub(manager: AsyncManager, router: RecoveryRouter) -> None:
    """What other servers publish: their emits stored here too (private store), rooms told."""

    def on_emit(original: Callable[..., Any]) -> Callable[..., Any]:
        async def handle_emit(message: dict) -> Any:
            if message.get("callback") is not None or router.store.shared:
                # acks stay python-socketio's; with a shared store, stored events come
                # through its feed, so a published one was sent without recovery
                return await original(message)
            await router.emit(message.get("event"), _published_data(message),
                              message.get("namespace") or "/", message.get("room"),
                              message.get("skip_sid"))
        return handle_emit

    def on_room_change(tell: Callable[[Any, Any, Any], None]) -> Callable[..., Any]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            async def handle(message: dict) -> Any:
                result = await original(message)
                tell(message.get("sid"), message.get("namespace"), message.get("room"))
                return result
            return handle
        return make

    def on_close_room(original: Callable[..., Any]) -> Callable[..., Any]:
        async def handle_close_room(message: dict) -> Any:
            namespace = message.get("namespace") or "/"
            room = message.get("room")
            members = [sid for sid, _ in manager.get_participants(namespace, room)]
            result = await original(message)
            for sid in members:
                router.left(sid, namespace, room)
            return result
        return handle_close_room

    compat.wrap_pubsub_handler(manager, "_handle_emit", on_emit)
    compat.wrap_pubsub_handler(manager, "_handle_enter_room", on_room_change(router.joined))
    compat.wrap_pubsub_handler(manager, "_handle_leave_room", on_room_change(router.left))
    compat.wrap_pubsub_handler(manager, "_handle_close_room", on_close_room)
