"""The tutorial's steps 7 and 8 on the server: every message in SQLite, and a catch-up.

Step 7, "Server delivery": each chat message is stored in the tutorial's
``messages`` table and broadcast with its id; the client keeps the id of the last
message it got and sends it as ``serverOffset`` in its auth; when connection state
recovery did not restore a client (a server restart with the state in memory, a drop
longer than ``max_disconnection_duration``), the connect handler sends it every
stored message after its ``serverOffset``. A recovered client needs no catch-up: the
recovery already replayed what it missed, without touching the database.

Step 8, "Client delivery": a client may send a client offset with each message
(``"<socket id>-<counter>"`` in the tutorial). The table's UNIQUE constraint refuses
a second copy (a retry whose first try did arrive); the server acknowledges it without
storing or broadcasting it again, so with ``retries`` each message is stored exactly
once. A message that could not be stored is not acknowledged, so the client tries again.

SQLite runs in worker threads (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ..core import Recovery, RecoveryStore
from ..sio import compat
from ..sio.common import DEFAULT_RECOVERY  # connectionStateRecovery: {}
from ..sio.server import RecoveryServer
from .app import ChatApp

logger = logging.getLogger(__name__)


# The tutorial's table (its step 7 creates client_offset already, for step 8).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_offset TEXT UNIQUE,
    content TEXT
);
"""


class ChatHistory:
    """The tutorial's ``messages`` table in SQLite; every call runs in a worker thread.

    ``path`` is a file (``"chat.db"``, as in the tutorial) or ``":memory:"``. Opening
    (the schema) and ``close`` run on the caller's thread, once each; ``add`` and
    ``since``, the calls made while serving, run in worker threads.

    Example::

        history = ChatHistory("chat.db")
        first = await history.add("hello", client_offset="abc-0")   # its id
        again = await history.add("hello", client_offset="abc-0")   # None: a copy, refused
        await history.since(0)                                       # [(first, "hello")]
        history.close()
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        # One connection shared by the worker threads, one at a time (the lock).
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    async def add(self, content: str, client_offset: str | None = None) -> int | None:
        """Store a message; its id, or None if a message with this client offset is stored."""
        return await asyncio.to_thread(self._add, content, client_offset)

    async def since(self, offset: int) -> list[tuple[int, str]]:
        """Every stored message with an id above ``offset``: ``(id, content)``, oldest first."""
        return await asyncio.to_thread(self._since, offset)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _add(self, content: str, client_offset: str | None) -> int | None:
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO messages (content, client_offset) VALUES (?, ?)",
                    (content, client_offset))
            except sqlite3.IntegrityError:
                return None
            return cursor.lastrowid

    def _since(self, offset: int) -> list[tuple[int, str]]:
        with self._lock:
            return self._db.execute("SELECT id, content FROM messages WHERE id > ? ORDER BY id",
                                    (offset,)).fetchall()


def server_offset(auth: Any) -> int:
    """The ``serverOffset`` of a client's auth as an id; 0 (everything) when absent or invalid."""
    value = auth.get("serverOffset") if isinstance(auth, dict) else None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


class Step7Server(RecoveryServer):
    """The tutorial's step-7/8 server (:func:`create_step7_io` makes it): a RecoveryServer
    that records the catch-ups it sent, for the lesson and the tests to read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: ``(sid, serverOffset, ids sent)`` for every connection that was not recovered
        self.catch_ups: list[tuple[str, int, list[int]]] = []


def create_step7_io(history: ChatHistory, recovery: Recovery | None = DEFAULT_RECOVERY,
                    store: RecoveryStore | None = None, **kwargs: Any) -> Step7Server:
    """The tutorial's step-7/8 server: messages stored with their id, a catch-up when not recovered.

    ``io.catch_ups`` lists, for every connection that was not recovered, ``(sid,
    serverOffset, ids sent)``: a recovered connection adds nothing.

    Example::

        io = create_step7_io(ChatHistory("chat.db"),
                             recovery=chatlib.Recovery(max_disconnection_duration=60))
        app = ChatApp(io)
    """
    kwargs.setdefault("async_mode", "asgi")
    kwargs.setdefault("cors_allowed_origins", [])
    io = Step7Server(recovery=recovery, store=store, **kwargs)
    # Storing and broadcasting one message, and reading a catch-up, take turns: a
    # message is broadcast in the order of its id, and a catch-up reads a stable table.
    turn = asyncio.Lock()

    @io.event
    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        if io.recovered(sid):
            return
        offset = server_offset(auth)
        async with turn:
            try:
                rows = await history.since(offset)
            except sqlite3.Error:
                logger.exception("catch-up of %s failed: it gets live messages only", sid)
                return
            for message_id, content in rows:
                await io.emit("chat message", (content, message_id), to=sid)
        io.catch_ups.append((sid, offset, [message_id for message_id, _ in rows]))

    @io.on("chat message")
    async def chat_message(sid: str, msg: Any = None, client_offset: Any = None,
                           *_ignored: Any) -> Any:
        if not isinstance(msg, str) or not isinstance(client_offset, (str, type(None))):
            logger.debug("chat message from %s refused: not text", sid)
            return compat.no_ack(io)  # no ack
        async with turn:
            try:
                message_id = await history.add(msg, client_offset)
            except sqlite3.Error:
                logger.exception("message from %s not stored: no ack, its client tries again", sid)
                return compat.no_ack(io)
            if message_id is not None:
                await io.emit("chat message", (msg, message_id))
        return None  # the ack (for a copy too: it is stored already)

    return io


def create_step7_app(history: ChatHistory, recovery: Recovery | None = DEFAULT_RECOVERY,
                     store: RecoveryStore | None = None, step: int = 7,
                     **kwargs: Any) -> ChatApp:
    """The whole step-7/8 chat app; ``app.io`` is its server, ``step`` its page's step (7 or 8).

    Example::

        app = create_step7_app(ChatHistory("chat.db"), step=8)
        running = await chatlib.serving.serve(app, port=3000)
    """
    if step not in (7, 8):
        raise ValueError(f"the step-7 server serves the pages of steps 7 and 8, not {step!r}")
    return ChatApp(create_step7_io(history, recovery=recovery, store=store, **kwargs), step=step)


class ServerOffset:
    """The client's half of step 7 for a ``RecoveryClient``: ``serverOffset`` in its auth.

    ``handler(on_message)`` wraps a 'chat message' handler: it remembers the
    highest message id received, skips a message already received (a catch-up
    may cross a live broadcast), and calls ``on_message(msg)``. ``auth`` is a
    callable for ``connect(auth=...)``, so each reconnection sends the latest id.

    Example::

        offset = ServerOffset()
        client = chatlib.RecoveryClient()
        client.on("chat message", offset.handler(print))
        await client.connect("http://localhost:3000", auth=offset.auth)
    """

    def __init__(self) -> None:
        self.value = 0
        #: the id of the message being handed to ``on_message`` (None: a message without one)
        self.current: int | None = None
        self._seen: set[int] = set()

    def auth(self) -> dict:
        return {"serverOffset": self.value}

    def handler(self, on_message: Callable[[Any], Any]) -> Callable[..., Any]:
        async def receive(msg: Any, message_id: Any = None, *_ignored: Any) -> None:
            if isinstance(message_id, int) and not isinstance(message_id, bool):
                if message_id in self._seen:
                    return
                self._seen.add(message_id)
                self.value = max(self.value, message_id)
                self.current = message_id
            else:
                self.current = None
            result = on_message(msg)
            if inspect.isawaitable(result):
                await result
        return receive
