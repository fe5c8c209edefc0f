"""RecoveryServer: python-socketio's AsyncServer with connection state recovery."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from ..core import Recovery, RecoveryStore, Restored
from ..core.store import Payload
from . import common, compat
from .hooks import attach
from .manager import RecoveryRouter
from .observe import PacketObserver, PacketObservers
from .redact import redact_pids
from .routing import Connecting
from .utf8 import utf8_packet_class

logger = logging.getLogger(__name__)


class RecoveryServer(socketio.AsyncServer):  # type: ignore[misc]  # untyped base
    """A python-socketio ``AsyncServer`` that restores dropped clients, like Socket.IO 4.6+.

    With ``recovery`` set (the default), every event emitted without a
    callback is stored with an offset appended as its last argument; a
    client that drops (transport close or error, ping timeout, server
    shutdown) and comes back within ``max_disconnection_duration`` with its
    pid and last offset gets its sid, rooms and session dict back, and every
    stored packet it missed, in order and once. ``recovery=None`` is plain
    python-socketio. ``store`` picks the store (default: a ``MemoryStore``).

    Any python-socketio asyncio manager can be given as ``client_manager``
    (recovery is attached to that instance; its class stays). With a pub/sub
    manager such as ``socketio.AsyncRedisManager(url)`` emits cross servers
    with any store; ``store=chatlib.RedisStore(url)`` also lets a client
    recover on another server than the one it dropped from.

    Every serializer python-socketio takes works with recovery:
    ``serializer="msgpack"`` (the JS side's ``socket.io-msgpack-parser``) and
    a ``json=`` module; stored packets are kept, replayed and written as that
    serializer made them.

    Run it however uvicorn is run (``uvicorn.run``, the ``uvicorn`` command,
    gunicorn with ``-k chatlib.serving.worker.UvicornWorker``,
    ``chatlib.serving.serve``): stored broadcasts go straight onto each
    WebSocket as one shared frame. Keep uvicorn's permessage-deflate off, as
    below (the JS server's default); a server whose clients negotiate it
    logs a WARNING once.

    python-socketio has no middlewares, so JS's ``skipMiddlewares`` has no
    direct twin: the connect handler, which plays their part, always runs,
    and ``recovered(sid)`` tells it whether this connection was restored.

    Example::

        import chatlib, uvicorn
        sio = chatlib.RecoveryServer(async_mode="asgi",
                                     recovery=chatlib.Recovery(max_disconnection_duration=60))

        @sio.event
        async def connect(sid, environ, auth):
            if not sio.recovered(sid):
                await sio.enter_room(sid, "lobby")

        app = socketio.ASGIApp(sio)
        # permessage-deflate off, as in the JS server (docs/library.md: "Deflate")
        uvicorn.run(app, ws_per_message_deflate=False)
    """

    def __init__(self, *args: Any, recovery: Recovery | None = common.DEFAULT_RECOVERY,
                 store: RecoveryStore | None = None, **kwargs: Any) -> None:
        self.store: RecoveryStore | None
        self.recovery, self.store = common.choose_store(args, recovery, store)
        super().__init__(*args, **kwargs)
        if self.store is not None:  # recovery=None is plain python-socketio, its packets too
            # "más" on the wire as the JS server writes it, not "m\u00e1s"
            self.packet_class: type = utf8_packet_class(
                self.packet_class, socketio.AsyncServer.__init__, args, kwargs)
        self._sweeper: asyncio.Task[None] | None = None
        self._shut_down = False
        self._engineio_tasks: set[asyncio.Future[Any]] = set()
        self._start_untracked: Any | None = None
        self.router: RecoveryRouter | None = None
        if self.store is not None:
            self.router = RecoveryRouter(self, self.manager, self.store)
            attach(self.manager, self.router)
            self.store.describe = self._describe_payload
            redact_pids(self.logger)
            redact_pids(self.eio.logger)
            self._track_engineio_tasks()
        self.packet_observers = PacketObservers(self)

    def add_packet_observer(self, observer: PacketObserver) -> None:
        """Call ``observer(packet)`` for every Socket.IO packet sent or received, and every drop.

        ``packet`` is a :class:`chatlib.sio.observe.ObservedPacket` (direction,
        type, sid, encoded text with pids masked, offset, replay); see that
        module for where packets are seen. Costs nothing while no observer
        is registered.

        Example::

            sio.add_packet_observer(lambda p: print(p.direction, p.type, p.text))
            # in CONNECT 40{}
            # out CONNECT 40{"sid":"lNg4shrj34IUXZOHAAAD","pid":"Zm9v…"}
        """
        self.packet_observers.add(observer)

    def remove_packet_observer(self, observer: PacketObserver) -> None:
        """Stop calling ``observer`` (not registered: a no-op)."""
        self.packet_observers.remove(observer)

    def recovered(self, sid: str, namespace: str | None = None) -> bool:
        """Whether the connection ``sid`` was restored from a kept session.

        Example::

            @sio.event
            async def connect(sid, environ, auth):
                print("welcome back" if sio.recovered(sid) else "hello")
        """
        if self.router is None:
            return False
        return (namespace or "/", sid) in self.router.recovered

    async def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """Save the user session (python-socketio's), and hand it to the store too."""
        await super().save_session(sid, session, namespace=namespace)
        if self.store is not None:
            self.store.save_data(namespace or "/", sid, session)

    async def wait_stored(self) -> None:
        """Return once every event this server emitted so far is in its store.

        With a private store (memory, SQLite) that is so when ``emit`` returns.
        With a shared one (Redis) ``emit`` returns once the event is queued, as
        the JS server's ``io.emit`` does, and a writer stores the queue in
        batches, in emit order; this waits for it. Await it to order an emit on
        this server before one on another server::

            await sio_a.emit("chat message", "first")
            await sio_a.wait_stored()
            await sio_b.emit("chat message", "second")  # every client gets "first" first
        """
        if self.router is not None:
            await self.router.settle()

    async def shutdown(self) -> None:
        """Stop the expiry sweep, a pub/sub manager's listener and python-engineio's own
        background tasks (again is a no-op)."""
        if self._shut_down:
            return
        self._shut_down = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self.router is not None:
            await self.router.stop_feed()
        await super().shutdown()
        listener = compat.pubsub_listener(self)
        if listener is not None:  # a pub/sub manager's: python-socketio lets it run forever
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        # python-engineio's per-socket ping tasks would sleep on for up to
        # ping_interval after the server is gone (and keep it alive meanwhile).
        leftovers = set(self._engineio_tasks)
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """python-socketio's; the app's tasks (and async handlers) outlive ``shutdown()``, as there."""
        if self._start_untracked is not None:
            return self._start_untracked(target, *args, **kwargs)
        return super().start_background_task(target, *args, **kwargs)

    def _track_engineio_tasks(self) -> None:
        start = self._start_untracked = self.eio.start_background_task

        def start_tracked(target: Any, *args: Any, **kwargs: Any) -> Any:
            task = start(target, *args, **kwargs)
            if isinstance(task, asyncio.Future):
                self._engineio_tasks.add(task)
                task.add_done_callback(self._engineio_tasks.discard)
            return task

        self.eio.start_background_task = start_tracked

    # -- connect ---------------------------------------------------------

    async def _try_restore(self, namespace: str, pid: Any, offset: Any) -> Restored | None:
        """Restore a session; one still connected to a silent server is waited for, bounded."""
        assert self.store is not None
        deadline = asyncio.get_running_loop().time() + self.store.dead_after
        while True:
            result = self.store.restore(namespace, pid, offset)
            step = common.restore_step(result, asyncio.get_running_loop().time() > deadline)
            if step is not common.RETRY:
                if step is None:
                    logger.debug("connection state not recovered in %s: %s", namespace,
                                 result.value)  # type: ignore[union-attr]  # None: a failure
                return step  # type: ignore[no-any-return]
            await asyncio.sleep(common.ELSEWHERE_RETRY)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if self.router is None:
            await super()._handle_connect(eio_sid, namespace, data)
            return
        namespace = namespace or "/"
        if not common.accepts(self, namespace):
            await compat.send_packet(self, eio_sid, common.refused(self, namespace))
            return
        auth, asks, pid, offset = common.split_auth(data)
        await self.router.settle()  # this server's emits so far are stored (shared stores)
        # From the restore to the hold nothing awaits: no packet falls between them.
        restored = await self._try_restore(namespace, pid, offset) if asks else None
        connecting = self.router.begin(eio_sid, namespace, restored)
        if connecting is None:
            await compat.send_packet(self, eio_sid, common.refused(self, namespace))
            return
        if self.always_connect:
            await self._complete_connect(eio_sid, namespace, connecting)
        try:
            success, fail_reason = await self._run_connect_handler(eio_sid, namespace,
                                                                   connecting.sid, auth)
        except BaseException:
            # a bug in the app's handler: undo the half-made connection, then let it surface
            self.router.give_up(namespace, connecting)
            await self.manager.disconnect(connecting.sid, namespace, ignore_queue=True)
            raise
        if success is False:
            self.router.give_up(namespace, connecting)
            if self.always_connect:
                self.manager.pre_disconnect(connecting.sid, namespace)
                await compat.send_packet(self, eio_sid,
                                         common.disconnect_packet(self, namespace, fail_reason))
            else:
                await compat.send_packet(self, eio_sid,
                                         common.refused(self, namespace, fail_reason))
            await self.manager.disconnect(connecting.sid, namespace, ignore_queue=True)
        elif not self.always_connect:
            await self._complete_connect(eio_sid, namespace, connecting)

    async def _complete_connect(self, eio_sid: str, namespace: str,
                                connecting: Connecting) -> None:
        """CONNECT reply, then the missed packets, then what arrived meanwhile; then go live."""
        assert self.router is not None
        sid = connecting.sid
        if not self.manager.is_pre_connected(sid, namespace):
            # the transport closed while the connect handler ran: the drop kept the session
            self.router.release(sid)
            return
        await compat.send_packet(self, eio_sid,
                                 common.connect_reply(self, namespace, sid, connecting.pid))
        with self.packet_observers.replaying(eio_sid):
            for payload in connecting.missed:
                await self._send_payload(eio_sid, payload)
        held = connecting.held
        while held:
            await self._send_payload(eio_sid, held.pop(0))
        self.router.release(sid)
        if compat.socket_is_closing(compat.engineio_socket(self, eio_sid)):
            # The transport died during these writes (engineio checks the ping
            # timeout on every send); python-socketio skipped this still-pending
            # sid, and the drop already kept the session: take the sid out.
            await self.manager.disconnect(sid, namespace, ignore_queue=True)
            return
        await self.manager.connect(sid, namespace)

    async def _run_connect_handler(self, eio_sid: str, namespace: str, sid: str,
                                   auth: Any) -> tuple[Any, Any]:
        calls = common.ConnectCalls(sid, compat.environ_of(self, eio_sid), auth)
        try:
            for arguments in calls:
                try:
                    success = await compat.trigger_event(self, "connect", namespace, *arguments)
                except TypeError as error:
                    calls.failed(error)
                else:
                    return success, common.default_refusal()
        except common.REFUSALS as error:
            return False, common.refusal_reason(error)
        raise AssertionError("unreachable: ConnectCalls raises after its last call")

    async def _send_payload(self, eio_sid: str, payload: Payload) -> None:
        for part in payload if isinstance(payload, list) else [payload]:
            await self.eio.send(eio_sid, part)

    # -- bad input -------------------------------------------------------

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if self.router is not None and common.is_malformed(self, eio_sid, data):
            # As the JS server does on a parse error: close the connection, and since
            # the client broke the protocol, keep nothing of it for recovery.
            logger.debug("malformed packet from %s: connection closed", eio_sid)
            self.router.forget_connection(eio_sid)
            await self.eio.disconnect(eio_sid)
            return
        self.packet_observers.received(eio_sid, data)
        await super()._handle_eio_message(eio_sid, data)

    # -- disconnect ------------------------------------------------------

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self.packet_observers.dropped(eio_sid, reason)
        if self.router is not None:
            # The transport went away with these namespaces still connected: an
            # unexpected drop (a clean one sent DISCONNECT and left them first).
            self.router.keep_dropped(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        if self.router is not None and self._sweeper is None:
            self._sweeper = self.start_background_task(self._sweep_forever)
            self.router.start_feed()
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _sweep_forever(self) -> None:
        """Expire sessions and packets in small batches, yielding to the loop between them."""
        assert self.store is not None and self.recovery is not None
        while True:
            await asyncio.sleep(self.recovery.sweep_interval)
            while self.store.expire(limit=common.SWEEP_BATCH) >= common.SWEEP_BATCH:
                await asyncio.sleep(0)
            await asyncio.to_thread(self.store.maintain)

    # -- inspection ------------------------------------------------------

    def _describe_payload(self, payload: Payload) -> tuple[str, list[Any]]:
        return common.describe_payload(self, payload)
