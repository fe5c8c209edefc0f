"""SQLiteStore: recovery that survives a server restart, in one SQLite file."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from ..core.log import PacketLog, PacketRecord
from ..core.memory import MemoryStore
from ..core.policy import Recovery
from ..core.sessions import Session

logger = logging.getLogger("chatlib.stores.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    rooms TEXT,
    exclude TEXT,
    created REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    namespace TEXT NOT NULL,
    sid TEXT NOT NULL,
    pid TEXT NOT NULL UNIQUE,
    start INTEGER NOT NULL,
    joined TEXT NOT NULL,
    shadow TEXT NOT NULL,
    data BLOB,
    connected INTEGER NOT NULL,
    disconnected_at REAL,
    PRIMARY KEY (namespace, sid)
);
CREATE TABLE IF NOT EXISTS marks (
    key TEXT PRIMARY KEY,
    high INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value REAL NOT NULL
);
"""


def _key_text(key: tuple) -> str:
    return json.dumps(list(key))


def _key_from_text(text: str) -> tuple:
    namespace, room = json.loads(text)
    return (namespace, room)


def _encode_payload(payload: Any) -> Any:
    return payload if isinstance(payload, str) else pickle.dumps(payload)


def _decode_payload(stored: Any) -> Any:
    return stored if isinstance(stored, str) else pickle.loads(stored)


def _encode_data(data: Any) -> Optional[bytes]:
    try:
        return pickle.dumps(data)
    except Exception:  # an app may keep anything in its session dict
        logger.debug("a session dict could not be pickled; it is kept in memory only")
        return None


class SQLiteStore(MemoryStore):
    """A MemoryStore whose every change is written to SQLite (WAL) before it is used.

    Packets are written before they are sent; sessions are written as they
    connect, join or leave rooms, save their session dict and drop. A server
    that is killed (even with SIGKILL) and restarted on the same file finds
    everything again: sessions that were connected are taken as dropped at
    the last heartbeat (written by every expiry sweep), so their clients can
    recover. Offsets are SQLite AUTOINCREMENT keys: they never repeat, across
    restarts either. The clock is wall-clock time, since it must survive a
    restart.

    Session dicts are pickled: keep in them what pickle can store.

    Example::

        >>> import tempfile, os
        >>> from chatlib import SQLiteStore
        >>> path = os.path.join(tempfile.mkdtemp(), "recovery.db")
        >>> store = SQLiteStore(path)
        >>> store.open_session("/", "sid1", "pid1")
        0
        >>> offset, _ = store.append("/", None, None, lambda o: f"hello@{o}")
        >>> store.close()
        >>> again = SQLiteStore(path)           # as after a restart
        >>> again.restore("/", "pid1", None).missed
        ['hello@1']
    """

    def __init__(self, path: str, recovery: Optional[Recovery] = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(recovery, clock)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # SQLite checkpoints the WAL inside a commit once it passes 1000 pages,
        # which stalls that commit (and the event loop) for many milliseconds;
        # maintain() checkpoints from a worker thread instead.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(_SCHEMA)
        self._depth = 0
        self._load()

    def maintain(self) -> None:
        """Copy the WAL into the database file, on a connection of the calling (worker) thread."""
        checkpointer = sqlite3.connect(self.path, timeout=1.0)
        try:
            checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            checkpointer.close()

    def close(self) -> None:
        """Close the database file (the store must not be used afterwards)."""
        self._db.close()

    # -- transactions ----------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction per public call; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def append(self, *args: Any, **kwargs: Any):
        with self._transaction():
            return super().append(*args, **kwargs)

    def open_session(self, *args: Any) -> int:
        with self._transaction():
            return super().open_session(*args)

    def join(self, *args: Any) -> None:
        with self._transaction():
            super().join(*args)

    def leave(self, namespace: str, sid: str, room: Any) -> None:
        with self._transaction():
            super().leave(namespace, sid, room)
            self._forget_unused_marks([(namespace, room)])

    def keep(self, *args: Any) -> bool:
        with self._transaction():
            return super().keep(*args)

    def save_data(self, *args: Any) -> None:
        with self._transaction():
            super().save_data(*args)

    def forget(self, *args: Any) -> None:
        with self._transaction():
            super().forget(*args)

    def restore(self, *args: Any):
        with self._transaction():
            return super().restore(*args)

    def expire(self, limit: Optional[int] = None) -> int:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('heartbeat', ?)", (self.clock(),))
            return super().expire(limit)

    # -- writing ---------------------------------------------------------

    def _packet_added(self, record: PacketRecord) -> None:
        self._db.execute(
            "INSERT INTO packets VALUES (?, ?, ?, ?, ?, ?)",
            (record.seq, record.namespace,
             None if record.rooms is None else json.dumps(list(record.rooms)),
             None if record.exclude is None else json.dumps(list(record.exclude)),
             record.created, _encode_payload(record.payload)))

    def _packet_evicted(self, record: PacketRecord) -> None:
        self._db.execute("DELETE FROM packets WHERE seq = ?", (record.seq,))
        for key in record.room_keys():
            high = self._marks.high(key)
            if high is not None:
                self._db.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (_key_text(key), high))
        for sid in record.exclude or ():
            session = self._sessions.get(record.namespace, sid)
            if session is not None:
                self._session_changed(session)

    def _session_changed(self, session: Session) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session.namespace, session.sid, session.pid, session.start,
             json.dumps([[room, seq] for room, seq in session.joined.items()]),
             json.dumps([[list(key), mark, seen] for key, (mark, seen) in session.shadow.items()]),
             _encode_data(session.data), int(session.connected), session.disconnected_at))

    def _session_removed(self, session: Session) -> None:
        self._db.execute("DELETE FROM sessions WHERE namespace = ? AND sid = ?",
                         (session.namespace, session.sid))
        self._forget_unused_marks(key for key, _ in session.room_keys())

    def _forget_unused_marks(self, keys: Any) -> None:
        """Delete the rows of marks the memory side let go (their room has no member left)."""
        self._db.executemany("DELETE FROM marks WHERE key = ?",
                             [(_key_text(key),) for key in keys if self._marks.high(key) is None])

    # -- start-up --------------------------------------------------------

    def _load(self) -> None:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'packets'").fetchone()
        last_seq = row[0] if row else 0
        first = self._db.execute("SELECT MIN(seq) FROM packets").fetchone()[0]
        self._log = PacketLog(last_seq=(first - 1) if first is not None else last_seq)
        for seq, namespace, rooms, exclude, created, payload in self._db.execute(
                "SELECT * FROM packets ORDER BY seq"):
            record = PacketRecord(
                seq, namespace, None if rooms is None else frozenset(json.loads(rooms)),
                None if exclude is None else frozenset(json.loads(exclude)),
                created, _decode_payload(payload))
            self._log.append(record)
            self._index.add(record)
        heartbeat = self._db.execute("SELECT value FROM meta WHERE name = 'heartbeat'").fetchone()
        crashed_at = heartbeat[0] if heartbeat else self.clock()
        dropped = []
        for (namespace, sid, pid, start, joined, shadow, data, connected,
             disconnected_at) in self._db.execute("SELECT * FROM sessions"):
            session = Session(namespace, sid, pid, start)
            session.joined = {room: seq for room, seq in json.loads(joined)}
            session.shadow = {tuple(key): (mark, seen) for key, mark, seen in json.loads(shadow)}
            session.data = pickle.loads(data) if data is not None else {}
            self._track(session)
            # a session still marked connected was cut off by the crash
            dropped.append((disconnected_at if not connected else crashed_at, session))
        for when, session in sorted(dropped, key=lambda item: item[0]):
            self._sessions.mark_dropped(session, when)
        for key_text, high in self._db.execute("SELECT key, high FROM marks").fetchall():
            self._marks.load(_key_from_text(key_text), high)
        with self._transaction():
            for session in self._sessions:
                self._session_changed(session)
            self._db.execute("DELETE FROM marks")
            self._db.executemany("INSERT INTO marks VALUES (?, ?)",
                                 [(_key_text(key), high) for key, high in self._marks.items()])
            self._bound_kept_sessions()
