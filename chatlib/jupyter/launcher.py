"""Start the tutorial's chat server inside a running event loop (a Jupyter kernel's)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

from ..chat import ChatApp, ChatHistory, create_app, create_step7_app
from ..core import Recovery, RecoveryStore
from ..serving import RunningServer, serve
from ..sio import compat
from ..sio.common import DEFAULT_RECOVERY  # connectionStateRecovery: {}
from ..sio.server import RecoveryServer
from . import lifecycle
from .lifecycle import ChatClient

logger = logging.getLogger(__name__)

_STOP_TIMEOUT = 10.0  # above RecoveryClient's 5 s flush of a clean disconnect
#: The tutorial's Engine.IO ping: short, so that a silent client is noticed in seconds,
#: not after Engine.IO's default 25 s + 20 s.
PING_INTERVAL = 2.0
PING_TIMEOUT = 2.0


class Attachment(Protocol):
    """Something that lives as long as the server: a widget's client, a view's refresh."""

    async def server_stopped(self) -> None: ...


class ChatServer:
    """The tutorial's chat server running on this process's event loop.

    ``url`` is its address, ``browser_url`` the address to open from the
    notebook's browser (through jupyter-server-proxy on Binder/JupyterHub),
    ``io`` its :class:`chatlib.RecoveryServer` and ``store`` its recovery
    store (``store.packets()``, ``store.sessions()``, ``store.missed()``);
    ``ping_interval`` and ``ping_timeout`` are Engine.IO's, in seconds.
    ``step`` is the tutorial step it serves (6, or 7 and 8: messages in SQLite),
    ``history`` its :class:`chatlib.chat.ChatHistory` from step 7 on (else None).
    Made by :func:`start_chat_server`.

    Example::

        server = await chatlib.start_chat_server()
        print(server.url, len(server.store.packets()))
        await server.stop()
    """

    def __init__(self, app: ChatApp, running: RunningServer, requested_port: int,
                 step: int = 6, history: ChatHistory | None = None,
                 owns_history: bool = False) -> None:
        self.app = app
        self.step = step
        self.history = history
        self._owns_history = owns_history
        self.io: RecoveryServer = app.io
        self.store: RecoveryStore | None = app.io.store
        self.url = running.url
        self.host = running.host
        self.port = running.port
        self.requested_port = requested_port
        self.loop = asyncio.get_running_loop()
        self._running = running
        self._attached: list[Attachment] = []
        self._changed = asyncio.Event()
        self._stopping: asyncio.Task | None = None
        # the chat app's own connect handler (rooms) runs first
        self._app_connect = compat.handler(self.io, "/", "connect")
        self.io.on("connect", self._on_connect)
        self.io.on("disconnect", self._on_disconnect)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ChatServer {self.url} {state}>"

    @property
    def browser_url(self) -> str:
        """The chat page's address for the browser that shows this notebook.

        On Binder and JupyterHub the kernel's ports are not reachable from the
        browser, but jupyter-server-proxy forwards ``<prefix>proxy/<port>/``
        to them: the prefix is ``JUPYTERHUB_SERVICE_PREFIX`` (for example
        ``/user/alice/``). Elsewhere it is ``url``.

        Example::

            server.browser_url   # '/user/alice/proxy/41234/' on Binder, else server.url
        """
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
        if not prefix:
            return self.url
        if not prefix.endswith("/"):
            prefix += "/"
        return f"{os.environ.get('JUPYTERHUB_HOST', '')}{prefix}proxy/{self.port}/"

    @property
    def ping_interval(self) -> float:
        """Seconds between two Engine.IO pings of the server."""
        return float(self.io.eio.ping_interval)

    @property
    def ping_timeout(self) -> float:
        """Seconds the server waits for a pong before it takes the client as gone."""
        return float(self.io.eio.ping_timeout)

    @property
    def clients(self) -> list[ChatClient]:
        """The chat clients (:class:`chatlib.ChatWidget` and the like) attached to this server,
        oldest first."""
        return [thing for thing in self._attached if isinstance(thing, ChatClient)]

    def name_of(self, sid: str | None = None, eio_sid: str | None = None) -> str | None:
        """The name of the client whose connection has this sid or Engine.IO sid, if any."""
        for client in reversed(self.clients):
            if sid is not None and client.sid == sid:
                return client.name
            if eio_sid is not None and client.eio_sid == eio_sid:
                return client.name
        return None

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

    async def _on_connect(self, sid: str, environ: Any, auth: Any = None) -> Any:
        self._notify_soon()
        if self._app_connect is not None:
            return await self._app_connect(sid, environ, auth)
        return None

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

    def session(self, sid: str) -> dict | None:
        """The store's row for ``sid`` (see ``store.sessions()``), or None."""
        if self.store is None:
            return None
        return next((row for row in self.store.sessions() if row["sid"] == sid), None)

    def is_kept(self, sid: str | None) -> bool:
        """Whether the store keeps ``sid``'s session for recovery (dropped, not expired).

        Example::

            await alice.disconnect()
            server.is_kept(alice.sid)    # True in drop mode, False in clean mode
        """
        row = self.session(sid) if sid is not None else None
        return row is not None and not row["connected"]

    # -- stopping --------------------------------------------------------

    async def stop(self) -> None:
        """Disconnect the widgets, stop listening, stop the server's background tasks.

        Safe to call twice; a second caller waits for the first stop to finish.
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        lifecycle.forget_server(self)
        # the clients first: the views then see their goodbyes, then stop themselves
        clients = self.clients
        attached = clients + [thing for thing in self._attached if thing not in clients]
        self._attached = []
        for thing in attached:
            try:
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await thing.server_stopped()
            except Exception:
                logger.warning("could not detach %r from %s", thing, self.url, exc_info=True)
        await self._running.stop()
        await self.io.shutdown()
        if self._owns_history and self.history is not None:
            self.history.close()


async def start_chat_server(port: int = 0, host: str = "127.0.0.1",
                            recovery: Recovery | None = DEFAULT_RECOVERY,
                            store: RecoveryStore | None = None, replace: bool = False,
                            ping_interval: float = PING_INTERVAL,
                            ping_timeout: float = PING_TIMEOUT, step: int = 6,
                            db: str | ChatHistory | None = None,
                            **server_options: Any) -> ChatServer:
    """Start the tutorial's chat server on the running event loop; return once it accepts.

    It runs as tasks on the loop, so the kernel stays free and interrupting a
    cell does not touch it. It listens on ``host``, this machine only by
    default; ``port=0`` (the default) picks a free port, so several servers
    run side by side. A running server is never replaced unless asked:
    asking for the explicit ``port`` a chatlib server of this process listens
    on stops that one first (running a ``port=3000`` cell twice), and
    ``replace=True`` stops every server started before with the same
    ``port`` argument, 0 included (running a ``port=0`` cell twice).
    ``ping_interval`` and ``ping_timeout`` are short (2 s each), so that a
    client that stops answering is noticed within seconds. ``recovery`` and
    ``store`` go to :class:`chatlib.RecoveryServer`, like ``server_options``
    (``client_manager=socketio.AsyncRedisManager(url)`` links servers).

    ``step=7`` or ``8`` serves the tutorial's steps 7 and 8 (:mod:`chatlib.chat.step7`):
    every message stored in the SQLite ``db`` (a file shared by several servers, a
    :class:`ChatHistory`, or None: a database in memory) and sent with its id, and a
    catch-up for a client that was not recovered. A database the server opened is
    closed when it stops.

    Example::

        server = await chatlib.start_chat_server(
            recovery=chatlib.Recovery(max_disconnection_duration=30))
        server.url            # 'http://127.0.0.1:41234': open it in a browser tab
        await server.stop()

        step7 = await chatlib.start_chat_server(step=7, db="chat.db")
        step7.history                # its messages table
    """
    if step not in (6, 7, 8):
        raise ValueError(f"step must be 6, 7 or 8, not {step!r}")
    await lifecycle.stop_servers_where(lambda server: (port != 0 and server.port == port)
                                       or (replace and server.requested_port == port))
    options = dict(recovery=recovery, store=store, ping_interval=ping_interval,
                   ping_timeout=ping_timeout, **server_options)
    history, owns_history = None, False
    if step == 6:
        app = create_app(**options)
    else:
        owns_history = not isinstance(db, ChatHistory)
        history = ChatHistory(db or ":memory:") if owns_history else db
        app = create_step7_app(history, step=step, **options)
    try:
        running = await serve(app, host=host, port=port)
    except BaseException:
        if owns_history:
            history.close()
        raise
    server = ChatServer(app, running, port, step=step, history=history,
                        owns_history=owns_history)
    lifecycle.add_server(server)
    return server
