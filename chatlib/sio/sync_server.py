"""The threaded RecoveryServer: python-socketio's ``Server`` with connection state recovery."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import socketio

from ..core import Recovery, RecoveryStore, Restored, RestoreFailure
from ..core.store import Payload
from . import common, compat
from .redact import redact_pids
from .routing import Connecting
from .sync_manager import SyncRouter, attach_sync
from .utf8 import utf8_packet_class

logger = logging.getLogger("chatlib.server")

# How long a restore waits for the drop of the session's old connection to finish
# (its thread keeps the session, then takes its sid out of the manager).
_LEAVING_WAIT = 2.0


class RecoveryServer(socketio.Server):  # type: ignore[misc]  # untyped base
    """A python-socketio ``Server`` (threads, eventlet, gevent) that restores dropped clients.

    The threaded twin of ``chatlib.RecoveryServer``, with the same arguments
    and the same wire: ``recovery`` (default on; ``None`` is plain
    python-socketio) and ``store`` (default a ``MemoryStore``; a
    ``SQLiteStore`` or ``RedisStore`` works here too). Every event emitted
    without a callback is stored with an offset as its last argument; a
    client that drops and comes back within ``max_disconnection_duration``
    gets its sid, rooms and session dict back and every stored packet it
    missed, in order and once; ``recovered(sid)`` says so in the connect
    handler. Handlers may emit from any thread: one lock orders the store
    and the writes (``chatlib.sio.sync_manager``).

    Example::

        import chatlib.sync, socketio
        sio = chatlib.sync.RecoveryServer(recovery=chatlib.Recovery(max_disconnection_duration=60))

        @sio.event
        def connect(sid, environ, auth):
            if not sio.recovered(sid):
                sio.enter_room(sid, "lobby")

        app = socketio.WSGIApp(sio)   # any WSGI server; Flask apps: chatlib.flask.SocketIO
    """

    def __init__(self, *args: Any, recovery: Recovery | None = common.DEFAULT_RECOVERY,
                 store: RecoveryStore | None = None, **kwargs: Any) -> None:
        self.store: RecoveryStore | None
        self.recovery, self.store = common.choose_store(args, recovery, store)
        super().__init__(*args, **kwargs)
        if self.store is not None:  # recovery=None is plain python-socketio, its packets too
            # "más" on the wire as the JS server writes it, not "m\u00e1s"
            self.packet_class: type = utf8_packet_class(self.packet_class, socketio.Server.__init__,
                                                        args, kwargs)
        self._sweeper: Any | None = None
        self._stopping = threading.Event()
        self._shut_down = False
        self.router: SyncRouter | None = None
        if self.store is not None:
            self.router = SyncRouter(self, self.manager, self.store)
            attach_sync(self.manager, self.router)
            self.store.describe = self._describe_payload
            redact_pids(self.logger)
            redact_pids(self.eio.logger)

    def recovered(self, sid: str, namespace: str | None = None) -> bool:
        """Whether the connection ``sid`` was restored from a kept session.

        Example::

            @sio.event
            def connect(sid, environ, auth):
                print("welcome back" if sio.recovered(sid) else "hello")
        """
        if self.router is None:
            return False
        return (namespace or "/", sid) in self.router.recovered

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        """Save the user session (python-socketio's), and hand it to the store too."""
        super().save_session(sid, session, namespace=namespace)
        if self.router is not None:
            with self.router.lock:
                self.router.store.save_data(namespace or "/", sid, session)

    def shutdown(self) -> None:
        """Stop the expiry sweep and a shared store's feed, then python-socketio's ``shutdown``."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stopping.set()
        if self.router is not None:
            self.router.stop_feed()
        super().shutdown()

    # -- connect ---------------------------------------------------------

    def _restore_locked(self, namespace: str, pid: Any, offset: Any) -> Restored | None:
        """Restore a session; returns with the router's lock held (the caller releases it).

        A session still connected to a silent server (shared stores), or whose
        old connection is still being taken out, is retried, bounded, with the
        lock released while it waits.
        """
        assert self.router is not None and self.store is not None
        deadline = time.monotonic() + max(self.store.dead_after, _LEAVING_WAIT)
        while True:
            self.router.lock.acquire()
            result = self.store.restore(namespace, pid, offset)
            if isinstance(result, Restored) and self.router.still_leaving(namespace, result):
                # its old connection is still being taken out (on another thread): retry
                result = RestoreFailure.CONNECTED_ELSEWHERE
            step = common.restore_step(result, time.monotonic() > deadline)
            if step is not common.RETRY:
                if step is None:
                    logger.debug("connection state not recovered in %s: %s", namespace,
                                 result.value)  # type: ignore[union-attr]  # None: a failure
                return step  # type: ignore[no-any-return]
            self.router.lock.release()
            self.sleep(common.ELSEWHERE_RETRY)

    def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if self.router is None:
            super()._handle_connect(eio_sid, namespace, data)
            return
        router = self.router
        namespace = namespace or "/"
        if not common.accepts(self, namespace):
            compat.send_packet_sync(self, eio_sid, common.refused(self, namespace))
            return
        auth, asks, pid, offset = common.split_auth(data)
        if asks:
            restored = self._restore_locked(namespace, pid, offset)
        else:
            router.lock.acquire()
            restored = None
        try:
            # restore and hold under one lock: no packet is stored between them
            connecting = router.begin(eio_sid, namespace, restored)
        finally:
            router.lock.release()
        if connecting is None:
            compat.send_packet_sync(self, eio_sid, common.refused(self, namespace))
            return
        if self.always_connect:
            self._complete_connect(eio_sid, namespace, connecting)
        try:
            success, fail_reason = self._run_connect_handler(eio_sid, namespace,
                                                             connecting.sid, auth)
        except BaseException:
            # a bug in the app's handler: undo the half-made connection, then let it surface
            with router.lock:
                router.give_up(namespace, connecting)
                self.manager.disconnect(connecting.sid, namespace, ignore_queue=True)
            raise
        if success is False:
            with router.lock:
                router.give_up(namespace, connecting)
            if self.always_connect:
                self.manager.pre_disconnect(connecting.sid, namespace)
                compat.send_packet_sync(self, eio_sid,
                                        common.disconnect_packet(self, namespace, fail_reason))
            else:
                compat.send_packet_sync(self, eio_sid, common.refused(self, namespace, fail_reason))
            self.manager.disconnect(connecting.sid, namespace, ignore_queue=True)
        elif not self.always_connect:
            self._complete_connect(eio_sid, namespace, connecting)

    def _complete_connect(self, eio_sid: str, namespace: str, connecting: Connecting) -> None:
        """CONNECT reply, the missed packets, what arrived meanwhile, then live: all under the lock."""
        assert self.router is not None
        sid = connecting.sid
        with self.router.lock:
            if not self.manager.is_pre_connected(sid, namespace):
                # the transport closed while the connect handler ran: the drop kept the session
                self.router.release(sid)
                return
            compat.send_packet_sync(self, eio_sid,
                                    common.connect_reply(self, namespace, sid, connecting.pid))
            for payload in connecting.missed:
                self._send_payload(eio_sid, payload)
            for payload in connecting.held:
                self._send_payload(eio_sid, payload)
            self.router.release(sid)
            if self._transport_gone(eio_sid):
                # the transport died during these writes; the drop already kept the session
                self.manager.disconnect(sid, namespace, ignore_queue=True)
                return
            self.manager.connect(sid, namespace)

    def _transport_gone(self, eio_sid: str) -> bool:
        """Whether the connection closed (Flask-SocketIO's test client has no engineio socket)."""
        socket = compat.engineio_socket(self, eio_sid)
        if socket is None:
            return eio_sid not in self.environ
        return compat.socket_is_closing(socket)

    def _run_connect_handler(self, eio_sid: str, namespace: str, sid: str,
                             auth: Any) -> tuple[Any, Any]:
        calls = common.ConnectCalls(sid, compat.environ_of(self, eio_sid), auth)
        try:
            for arguments in calls:
                try:
                    success = compat.trigger_event_sync(self, "connect", namespace, *arguments)
                except TypeError as error:
                    calls.failed(error)
                else:
                    return success, common.default_refusal()
        except common.REFUSALS as error:
            return False, common.refusal_reason(error)
        raise AssertionError("unreachable: ConnectCalls raises after its last call")

    def _send_payload(self, eio_sid: str, payload: Payload) -> None:
        send = compat.eio_packet_sender(self)
        for part in payload if isinstance(payload, list) else [payload]:
            send(eio_sid, compat.message_packet(part))

    # -- bad input, drops ------------------------------------------------

    def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if self.router is not None and common.is_malformed(self, eio_sid, data):
            # As the JS server does on a parse error: close the connection, and since
            # the client broke the protocol, keep nothing of it for recovery.
            logger.debug("malformed packet from %s: connection closed", eio_sid)
            with self.router.lock:
                self.router.forget_connection(eio_sid)
            self.eio.disconnect(eio_sid)
            return
        super()._handle_eio_message(eio_sid, data)

    def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        if self.router is not None:
            with self.router.lock:
                # namespaces still connected when the transport went away: a drop (a
                # restore racing it finds the sid still taken and keeps the session again)
                self.router.keep_dropped(eio_sid)
        super()._handle_eio_disconnect(eio_sid, reason)

    def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        if self.router is not None and self._sweeper is None:
            self._sweeper = self.start_background_task(self._sweep_forever)
            self.router.start_feed()
        return super()._handle_eio_connect(eio_sid, environ)

    def _sweep_forever(self) -> None:
        """Expire sessions and packets in small batches, letting emits in between."""
        assert self.router is not None and self.recovery is not None
        router = self.router
        while not self._stopping.is_set():
            self.sleep(self.recovery.sweep_interval)
            while True:
                with router.lock:
                    expired = router.store.expire(limit=common.SWEEP_BATCH)
                if expired < common.SWEEP_BATCH:
                    break
            router.store.maintain()

    # -- inspection ------------------------------------------------------

    def _describe_payload(self, payload: Payload) -> tuple[str, list[Any]]:
        return common.describe_payload(self, payload)
