"""The tutorial's chat server (its ``index.js``) as an ASGI app on a RecoveryServer."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import socketio

from ..core import Recovery, RecoveryStore
from ..sio.common import DEFAULT_RECOVERY  # connectionStateRecovery: {}
from ..sio.server import RecoveryServer

#: The official client the page loads, pinned with its Subresource Integrity hash (sha384 of
#: ``dist/socket.io.min.js`` in the npm package of that version): from this server, which
#: ships that file unchanged at ``CLIENT_PATH`` (static/vendor/), and from the CDN only if
#: that fails.
CLIENT_VERSION = "4.8.1"
CLIENT_URL = f"https://cdn.socket.io/{CLIENT_VERSION}/socket.io.min.js"
CLIENT_INTEGRITY = "sha384-mkQ3/7FUtcGyoppY6bz/PORYoGqOl7/aSUMn2ymDOJcapfS6PHqxhRTMh1RR0Q6+"
CLIENT_PATH = "/vendor/socket.io.min.js"

SOCKETIO_PATH = "/socket.io/"

# jupyter-server-proxy forwards /proxy/PORT/... without the prefix, and
# /proxy/absolute/PORT/... with it (JupyterHub and Binder add /user/NAME first).
_PROXY_PREFIX = re.compile(r"^(?:/user/[^/]+)?/proxy/(?:absolute/)?\d+(?=/)")
_PAGE_PATHS = ("/", "/index.html")


_MAX_ROOM = 64  # characters of a room name a client may ask for


def room_asked(auth: Any) -> str | None:
    """The room a client asks for in its CONNECT (``auth={"room": "#general"}``), if a valid one."""
    room = auth.get("room") if isinstance(auth, dict) else None
    if isinstance(room, str) and 0 < len(room) <= _MAX_ROOM:
        return room
    return None


def create_chat_io(recovery: Recovery | None = DEFAULT_RECOVERY,
                   store: RecoveryStore | None = None, **kwargs: Any) -> RecoveryServer:
    """The tutorial's Socket.IO server, with rooms.

    A client that connects with ``auth={"room": name}`` joins that room; a
    restored client is back in its rooms without joining again. A 'chat
    message' goes to the sender's rooms, or to everyone when it is in none
    (the tutorial's chat, which has no rooms).

    Example::

        io = create_chat_io(recovery=chatlib.Recovery(max_disconnection_duration=60))
        app = ChatApp(io)
    """
    kwargs.setdefault("async_mode", "asgi")
    # Behind jupyter-server-proxy the Origin (the notebook server) differs from the
    # Host the proxy forwards, so the same-origin check would refuse the page.
    kwargs.setdefault("cors_allowed_origins", [])
    io = RecoveryServer(recovery=recovery, store=store, **kwargs)

    @io.on("connect")
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        room = room_asked(auth)
        if room is not None and not io.recovered(sid):
            await io.enter_room(sid, room)

    @io.on("chat message")
    async def chat_message(sid: str, msg: Any = None, *_ignored: Any) -> None:
        # later tutorial steps send more arguments (a client offset, an ack): only msg is echoed
        rooms = [room for room in io.rooms(sid) if room != sid]
        await io.emit("chat message", msg, to=rooms or None)

    return io


#: the tutorial steps the page follows: 6 (recovery only), 7 (serverOffset), 8 (retries, client offset)
PAGE_STEPS = (6, 7, 8)


def _read_client() -> bytes:
    return resources.files(__package__).joinpath("static", "vendor", "socket.io.min.js").read_bytes()


def _read_page(step: int) -> bytes:
    if step not in PAGE_STEPS:
        raise ValueError(f"the page follows steps {PAGE_STEPS}, not {step!r}")
    page = resources.files(__package__).joinpath("static", "index.html").read_bytes()
    return page.replace(b'<body data-step="6">', f'<body data-step="{step}">'.encode(), 1)


class ChatApp:
    """The ASGI app: the tutorial's page at ``/``, its client script, Socket.IO at ``/socket.io/``.

    Both also answer under a jupyter-server-proxy prefix (``/proxy/3000/``,
    ``/proxy/absolute/3000/``, with or without ``/user/NAME`` before it); the page
    finds its Socket.IO endpoint relative to its own address. ``step`` picks
    the tutorial step the page's client follows (``PAGE_STEPS``): 7 adds
    ``serverOffset`` to its auth, 8 also ``retries`` and a client offset per message.

    Example::

        app = ChatApp(create_chat_io())
        running = await chatlib.serving.serve(app, port=3000)
    """

    def __init__(self, io: RecoveryServer, step: int = 6) -> None:
        self.io = io
        self.step = step
        self._socketio = socketio.ASGIApp(io, socketio_path=SOCKETIO_PATH)
        self._page = _read_page(step)
        self._client = _read_client()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._socketio(scope, receive, send)
            return
        path = scope.get("path", "/")
        prefix = _PROXY_PREFIX.match(path)
        if prefix:
            path = path[prefix.end():]
            scope = dict(scope, path=path, root_path=scope.get("root_path", "") + prefix.group())
        if path.startswith(SOCKETIO_PATH) or path == SOCKETIO_PATH.rstrip("/"):
            await self._socketio(scope, receive, send)
        elif scope["type"] == "http" and path in _PAGE_PATHS:
            await self._get(scope, send, self._page, b"text/html; charset=utf-8")
        elif scope["type"] == "http" and path == CLIENT_PATH:
            await self._get(scope, send, self._client, b"text/javascript; charset=utf-8")
        elif scope["type"] == "http":
            await self._respond(send, 404, b"Not Found", b"text/plain; charset=utf-8")
        else:
            await send({"type": "websocket.close", "code": 1000})

    async def _get(self, scope: dict, send: Any, body: bytes, content_type: bytes) -> None:
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await self._respond(send, 405, b"Method Not Allowed", b"text/plain; charset=utf-8")
            return
        await self._respond(send, 200, body, content_type, head=method == "HEAD")

    @staticmethod
    async def _respond(send: Any, status: int, body: bytes, content_type: bytes,
                       head: bool = False) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if head else body})


def create_app(recovery: Recovery | None = DEFAULT_RECOVERY,
               store: RecoveryStore | None = None, **kwargs: Any) -> ChatApp:
    """The whole chat app; ``app.io`` is its RecoveryServer.

    Example::

        app = create_app(recovery=chatlib.Recovery(max_disconnection_duration=30))
        running = await chatlib.serving.serve(app, port=3000)
    """
    return ChatApp(create_chat_io(recovery=recovery, store=store, **kwargs))
