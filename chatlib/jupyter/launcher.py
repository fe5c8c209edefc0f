"""Start the tutorial's chat server inside a running event loop (a Jupyter kernel's)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional, Protocol

from ..chat import ChatApp, create_app
from ..core import Recovery, RecoveryStore
from ..serving import RunningServer, serve
from ..sio.server import RecoveryServer

logger = logging.getLogger("chatlib.jupyter")

_STOP_TIMEOUT = 10.0  # above RecoveryClient's 5 s flush of a clean disconnect


class Attachment(Protocol):
    """Something that lives as long as the server: a widget's client, a view's refresh."""

    async def server_stopped(self) -> None: ...


class ChatServer:
    """The tutorial's chat server running on this process's event loop.

    ``url`` is its address, ``io`` its :class:`chatlib.RecoveryServer` and
    ``store`` its recovery store (``store.packets()``, ``store.sessions()``).
    Made by :func:`start_chat_server`.

    Example::

        server = await chatlib.start_chat_server()
        print(server.url, len(server.store.packets()))
        await server.stop()
    """

    def __init__(self, app: ChatApp, running: RunningServer, requested_port: int) -> None:
        self.app = app
        self.io: RecoveryServer = app.io
        self.store: Optional[RecoveryStore] = app.io.store
        self.url = running.url
        self.host = running.host
        self.port = running.port
        self.requested_port = requested_port
        self.loop = asyncio.get_running_loop()
        self._running = running
        self._attached: list[Attachment] = []
        self._changed = asyncio.Event()
        self._stopping: Optional[asyncio.Task] = None
        self.io.on("connect", self._on_connect)
        self.io.on("disconnect", self._on_disconnect)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ChatServer {self.url} {state}>"

    @property
    def running(self) -> bool:
        """Whether the server still accepts connections."""
        return self._running.running and self._stopping is None

    def attach(self, thing: Attachment) -> None:
        """Have ``await thing.server_stopped()`` called when the server stops."""
        self._attached.append(thing)

    def detach(self, thing: Attachment) -> None:
        """Undo :meth:`attach`."""
        if thing in self._attached:
            self._attached.remove(thing)

    # -- waiting for what the server saw ---------------------------------

    async def _on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self._notify_soon()

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._notify_soon()

    def _notify_soon(self) -> None:
        # python-socketio forgets a cleanly closed session right after the
        # disconnect handler returns: wake the waiters once that has happened.
        self.loop.call_soon(self._notify)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true, checked each time a client connects or leaves.

        Raises ``TimeoutError`` after ``timeout`` seconds.

        Example::

            await server.wait_until(lambda: len(server.io.manager.rooms.get("/", {})) > 0)
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    def session(self, sid: str) -> Optional[dict]:
        """The store's row for ``sid`` (see ``store.sessions()``), or None."""
        if self.store is None:
            return None
        return next((row for row in self.store.sessions() if row["sid"] == sid), None)

    # -- stopping --------------------------------------------------------

    async def stop(self) -> None:
        """Disconnect the widgets, stop listening, stop the server's background tasks.

        Safe to call twice; a second caller waits for the first stop to finish.
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        _forget(self)
        attached, self._attached = self._attached, []
        for thing in attached:
            try:
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await thing.server_stopped()
            except Exception:
                logger.warning("could not detach %r from %s", thing, self.url, exc_info=True)
        await self._running.stop()
        await self.io.shutdown()


#: Running servers by the port they were asked for (0 included): one per notebook cell, so
#: that running the cell again replaces the server it started before.
_servers: dict[int, ChatServer] = {}


def _forget(server: ChatServer) -> None:
    if _servers.get(server.requested_port) is server:
        del _servers[server.requested_port]


async def _replace(port: int) -> None:
    loop = asyncio.get_running_loop()
    for server in list(_servers.values()):
        if server.requested_port != port and (port == 0 or server.port != port):
            continue
        if server.loop is loop:
            await server.stop()
        else:
            # started on another event loop, usually one asyncio.run() has closed:
            # its tasks are gone with it, and we cannot await them from here
            _forget(server)


async def start_chat_server(port: int = 0, host: str = "127.0.0.1",
                            recovery: Optional[Recovery] = Recovery(),
                            store: Optional[RecoveryStore] = None,
                            **server_options: Any) -> ChatServer:
    """Start the tutorial's chat server on the running event loop; return once it accepts.

    It runs as tasks on the loop, so the kernel stays free and interrupting a
    cell does not touch it. It listens on ``host``, this machine only by
    default; ``port=0`` picks a free port. Starting again with
    the same ``port`` (running the cell twice) first stops the server started
    before with it, and so does asking for the port a chatlib server listens on.
    ``recovery`` and ``store`` go to :class:`chatlib.RecoveryServer`, like
    ``server_options``.

    Example::

        server = await chatlib.start_chat_server(
            recovery=chatlib.Recovery(max_disconnection_duration=30))
        server.url            # 'http://127.0.0.1:41234': open it in a browser tab
        await server.stop()
    """
    await _replace(port)
    app = create_app(recovery=recovery, store=store, **server_options)
    running = await serve(app, host=host, port=port)
    server = ChatServer(app, running, port)
    _servers[port] = server
    return server
