"""Flask-SocketIO with connection state recovery: one changed import.

``chatlib.flask.SocketIO`` is Flask-SocketIO's ``SocketIO`` whose server is
``chatlib.sync.RecoveryServer``; it takes two more keyword arguments,
``recovery=`` and ``store=``, and everything else (``emit``, ``send``,
``join_room``, ``leave_room``, ``request.sid``, namespaces, ``socketio.emit``
from a route or a background task, ``init_app``, ``run``) is Flask-SocketIO's.
The connect handler asks ``socketio.recovered()`` whether the connection was
restored.

Example::

    from flask import Flask, request
    from flask_socketio import emit, join_room
    from chatlib.flask import SocketIO        # was: from flask_socketio import SocketIO
    import chatlib

    app = Flask(__name__)
    socketio = SocketIO(app, recovery=chatlib.Recovery(max_disconnection_duration=120))

    @socketio.on("connect")
    def on_connect(auth):
        if not socketio.recovered():
            join_room("lobby")                 # a restored client is still in its rooms

    @socketio.on("chat message")
    def on_message(text):
        emit("chat message", text, to="lobby")   # stored, replayed to whoever dropped

    socketio.run(app)
"""

from __future__ import annotations

from typing import Any

import flask
import flask_socketio
from flask_socketio.test_client import SocketIOTestClient
from socketio import packet as sio_packet

from .core import Recovery, RecoveryStore
from .sio import common, compat
from .sio.sync_server import RecoveryServer

__all__ = ["SocketIO"]


class SocketIO(flask_socketio.SocketIO):
    """Flask-SocketIO's ``SocketIO`` with recovery on (``recovery=None`` turns it off).

    ``store`` picks the recovery store (default: a ``MemoryStore``; a
    ``chatlib.SQLiteStore`` survives a restart; a ``chatlib.RedisStore`` is
    shared by several servers). ``server`` is a ``chatlib.sync.RecoveryServer``.
    """

    def __init__(self, app: Any = None, *, recovery: Recovery | None = common.DEFAULT_RECOVERY,
                 store: RecoveryStore | None = None, **kwargs: Any) -> None:
        self.recovery = recovery
        self.store = store
        super().__init__(app, **kwargs)

    def init_app(self, app: Any, **kwargs: Any) -> None:
        """Flask-SocketIO's ``init_app``; the server it makes is replaced by a recovering one."""
        super().init_app(app, **kwargs)
        # Flask-SocketIO builds a plain socketio.Server from its options; build ours from
        # the same options and put it where that one was, handlers and middleware included.
        server = RecoveryServer(recovery=self.recovery, store=self.store, **self.server_options)
        handlers, namespace_handlers = compat.flask_registrations(self)
        for message, handler, namespace in handlers:
            server.on(message, handler, namespace=namespace)
        for namespace_handler in namespace_handlers:
            server.register_namespace(namespace_handler)
        self.server = server
        self.async_mode = server.async_mode
        middleware = getattr(self, "sockio_mw", None)
        if app is not None and middleware is not None:
            middleware.engineio_app = server

    def recovered(self, sid: str | None = None, namespace: str | None = None) -> bool:
        """Whether a connection was restored; by default the one whose handler is running.

        Example::

            @socketio.on("connect")
            def on_connect(auth):
                emit("status", "welcome back" if socketio.recovered() else "hello")
        """
        sid = sid or flask.request.sid  # type: ignore[attr-defined]
        namespace = namespace or getattr(flask.request, "namespace", None) or "/"
        return bool(self.server.recovered(sid, namespace))

    def test_client(self, app: Any, *args: Any, **kwargs: Any) -> SocketIOTestClient:
        """Flask-SocketIO's test client; ``get_received()`` shows events without their offsets.

        The offset every stored event carries is for recovering clients; the
        test client is none, so it is taken off, and an app's tests read the
        events as they did without recovery.
        """
        return _TestClient(app, self, *args, **kwargs)

    @property
    def recovery_store(self) -> RecoveryStore | None:
        """The store the server keeps sessions and packets in (None with recovery off)."""
        return self.server.store if self.server is not None else None


class _TestClient(SocketIOTestClient):
    """Flask-SocketIO's test client, with stored events' offsets taken off as they are sent."""

    def connect(self, *args: Any, **kwargs: Any) -> None:
        server = self.socketio.server
        if getattr(server, "store", None) is not None and \
                not getattr(compat.eio_packet_sender(server), "strips_offsets", False):
            compat.replace_eio_packet_sender(server, lambda send: _offsets_stripped(server, send))
        super().connect(*args, **kwargs)


def _offsets_stripped(server: Any, send: Any) -> Any:
    def send_eio_packet(eio_sid: str, eio_pkt: Any) -> None:
        data = eio_pkt.data
        if isinstance(data, str) and data[:1] == str(sio_packet.EVENT):
            pkt = server.packet_class(encoded_packet=data)
            if pkt.id is None and isinstance(pkt.data, list) and len(pkt.data) > 1:
                pkt.data = pkt.data[:-1]  # a stored event: its offset is the last argument
                eio_pkt = compat.message_packet(pkt.encode())
        send(eio_sid, eio_pkt)

    send_eio_packet.strips_offsets = True  # type: ignore[attr-defined]
    return send_eio_packet
