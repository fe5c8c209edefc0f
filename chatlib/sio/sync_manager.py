"""Recovery inside python-socketio's threaded client manager: stored events, one lock.

The threaded twin of ``chatlib.sio.manager``. python-socketio's ``Server``
runs each handler on a thread of its own (or a greenlet), so emits, drops,
restores and room changes arrive at once. Where the asyncio router relies on
one step of the event loop being atomic, ``SyncRouter`` takes one re-entrant
lock around every store call and the writes that belong with it: an event
is stored and queued to every recipient under the lock, so offsets reach each
client in order, and a restore and the start of holding live packets happen
under it together, so no packet falls between them. Writing here only puts
a packet on each connection's Engine.IO queue; the lock is never held while
waiting on the network.

Delivery, by store:

- private store (memory, SQLite): store, then queue to this server's clients;
- shared store (Redis): store (one round trip, under the lock), and every
  server, this one included, writes the store's feed to its own clients in
  offset order; the feed is read on a thread with its own asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from socketio.manager import Manager

from ..core.store import UNSTORED, Payload, RecoveryStore, SharedStore
from . import compat
from .common import as_rooms, as_sids, event_encoder, install_hooks, stored_upstream
from .routing import RouterBase

logger = logging.getLogger("chatlib.sio.sync")


class SyncRouter(RouterBase):
    """Recovery's share of a threaded client manager; ``lock`` guards the store and the writes.

    Example (what ``chatlib.sync.RecoveryServer`` does)::

        router = SyncRouter(server, server.manager, store)
        attach_sync(server.manager, router)
        with router.lock:
            restored = store.restore("/", pid, offset)
            connecting = router.begin(eio_sid, "/", restored)
    """

    def __init__(self, server: Any, manager: Manager, store: RecoveryStore) -> None:
        super().__init__(server, manager, store)
        self.lock = threading.RLock()
        self._feed_thread: threading.Thread | None = None
        self._feed_loop: asyncio.AbstractEventLoop | None = None
        self._feed_task: asyncio.Task[None] | None = None

    def emit(self, event: str, data: Any, namespace: str, room: Any, skip_sid: Any) -> None:
        """Store one event and queue it to its recipients (or let a shared store's feed do it)."""
        rooms = as_rooms(room)
        skip = as_sids(skip_sid)
        encode_with = event_encoder(self.server.packet_class, namespace, event, data)
        with self.lock:
            offset, payload = self.store.append(namespace, rooms, skip, encode_with)
            if not self.store.shared or offset == UNSTORED:
                # a packet a shared store could not keep still reaches this server's clients
                self.send_payload(namespace, room, skip, payload)

    def send_payload(self, namespace: str, room: Any, skip: frozenset[str], payload: Payload,
                     seq: int | None = None) -> None:
        """Queue one stored payload to every live participant, or to its holding list (locked)."""
        parts = payload if isinstance(payload, list) else [payload]
        packets = [compat.message_packet(part) for part in parts]
        send = compat.eio_packet_sender(self.server)
        for eio_sid in self.recipients(namespace, room, skip, payload, seq):
            for pkt in packets:
                send(eio_sid, pkt)

    # -- a shared store's feed -------------------------------------------

    def start_feed(self) -> None:
        """Start delivering a shared store's packets to this server's clients (once)."""
        if not isinstance(self.store, SharedStore) or self._feed_thread is not None:
            return
        ready = threading.Event()
        after = self.store.head()

        def run() -> None:
            loop = self._feed_loop = asyncio.new_event_loop()
            try:
                self._feed_task = loop.create_task(self._deliver(self.store.feed(after=after)))  # type: ignore[attr-defined]
                ready.set()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(self._feed_task)
                loop.run_until_complete(self.store.aclose())  # type: ignore[attr-defined]
            finally:
                loop.close()

        self._feed_thread = threading.Thread(target=run, name="chatlib feed", daemon=True)
        self._feed_thread.start()
        ready.wait()

    def stop_feed(self, timeout: float = 5.0) -> None:
        """Stop the feed's thread (and close its store connection); a no-op without one."""
        thread, loop, task = self._feed_thread, self._feed_loop, self._feed_task
        if thread is None or loop is None or task is None:
            return
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout)
        self._feed_thread = None

    async def _deliver(self, feed: AsyncIterator[list[Any]]) -> None:
        async for batch in feed:
            with self.lock:
                for record in batch:
                    room = None if record.rooms is None else list(record.rooms)
                    if record.payload is None:
                        self._cut_off(record.namespace, room, record.seq)
                    else:
                        self.send_payload(record.namespace, room, record.exclude or frozenset(),
                                          record.payload, record.seq)

    def _cut_off(self, namespace: str, room: Any, seq: int) -> None:
        """Clients that missed packets another server could not store: forget and cut them."""
        for sid, eio_sid in list(self.cut_off_targets(namespace, room, seq)):
            self.store.forget(namespace, sid)
            compat.cut_transport_sync(self.server, eio_sid)


class SyncManagerHooks:
    """Recovery's side of a threaded manager instance's methods: the twin of
    ``chatlib.sio.hooks.ManagerHooks``, each hook under the router's lock."""

    def __init__(self, manager: Manager, router: SyncRouter) -> None:
        self.manager = manager
        self.router = router

    def emit(self, original: Callable[..., Any], event: str, data: Any,
             namespace: str | None = None, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        namespace = namespace or "/"
        if stored_upstream(callback, False, self.router.store, kwargs):
            return original(event, data, namespace, room=room, skip_sid=skip_sid,
                            callback=callback, to=to, **kwargs)
        self.router.emit(event, data, namespace, to or room, skip_sid)
        return None

    def enter_room(self, original: Callable[..., Any], sid: Any, namespace: Any, room: Any,
                   eio_sid: Any = None) -> Any:
        with self.router.lock:
            result = original(sid, namespace, room, eio_sid=eio_sid)
            self.router.joined(sid, namespace, room)
        return result

    def leave_room(self, original: Callable[..., Any], sid: Any, namespace: Any,
                   room: Any) -> Any:
        with self.router.lock:
            result = original(sid, namespace, room)
            self.router.left(sid, namespace, room)
        return result

    def close_room(self, original: Callable[..., Any], room: Any, namespace: Any = None) -> Any:
        with self.router.lock:
            members = [sid for sid, _ in self.manager.get_participants(namespace or "/", room)]
            result = original(room, namespace)
            for sid in members:
                self.router.left(sid, namespace, room)
        return result

    def disconnect(self, original: Callable[..., Any], sid: Any, namespace: Any = None,
                   **kwargs: Any) -> Any:
        with self.router.lock:
            self.router.forget(sid, namespace or "/")
            return original(sid, namespace, **kwargs)


def attach_sync(manager: Manager, router: SyncRouter) -> SyncManagerHooks:
    """Route a threaded manager instance's stored emits and room changes through ``router``.

    The instance's own ``emit``, ``enter_room``, ``leave_room``, ``close_room`` and
    ``disconnect`` are wrapped (``compat.MANAGER_WRAPPED``); acks and everything else
    stay the manager's. Pub/sub managers (``socketio.RedisManager`` ...) are not
    supported yet on the threaded side.
    """
    if not isinstance(manager, Manager):
        raise TypeError("the client manager must be a threaded python-socketio manager")
    if compat.is_sync_pubsub(manager):
        raise TypeError("recovery on the threaded server does not support pub/sub managers yet: "
                        "use store=chatlib.RedisStore(url) to share sessions between servers")
    hooks = SyncManagerHooks(manager, router)
    install_hooks(manager, router, hooks, compat.MANAGER_WRAPPED)
    return hooks
