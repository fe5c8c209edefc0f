"""SQLiteStore: recovery that survives a server restart, in one SQLite file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..core import codec
from ..core.codec import Unreadable
from ..core.log import PacketLog, PacketRecord
from ..core.memory import MemoryStore
from ..core.policy import Recovery
from ..core.sessions import Session
from ..core.store import Payload, RestoreResult

logger = logging.getLogger(__name__)

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


# Disk full, a read-only file or file system, an I/O error: the file cannot be written.
_WRITE_ERRORS = (sqlite3.Error, OSError)
# Retrying the file after a write error: the first retry soon, then doubling up to a ceiling.
_RETRY_FIRST = 0.1
_RETRY_MAX = 2.0


class _UnwrittenMark:
    """A small side file (``<db>-unwritten``) that says up to which sequence number packets
    were given out that the database file could not take.

    It is created (20 bytes) when the store opens, and then only overwritten in place, which
    needs no new disk space and works on a file descriptor opened before the database file
    turned read-only. It lets a server killed during a write outage find out, when started
    again, that its file misses packets its clients may have been counting on.
    """

    _WIDTH = 20

    def __init__(self, path: str) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            if len(os.pread(self._fd, self._WIDTH, 0)) < self._WIDTH:
                self.write(0)
        except OSError:
            logger.warning("%s cannot be written: a crash during a write outage of the "
                           "database would go unnoticed at the next start", path)
            self._fd = None

    def read(self) -> int:
        if self._fd is None:
            return 0
        text = os.pread(self._fd, self._WIDTH, 0).decode("ascii", "replace")
        return int(text) if text.isdigit() else 0

    def write(self, seq: int) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):  # best effort: the database file is failing too
                os.pwrite(self._fd, f"{seq:0{self._WIDTH}d}".encode(), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _key_text(key: tuple[Any, ...]) -> str:
    return json.dumps(list(key))


def _key_from_text(text: str) -> tuple[Any, ...]:
    namespace, room = json.loads(text)
    return (namespace, room)


def _encode_payload(payload: Any) -> Any:
    """The wire's text as it is (TEXT); a packet with attachments, or a msgpack packet
    (bytes), as ``codec`` JSON (BLOB)."""
    if isinstance(payload, str):
        return payload
    if payload is None:  # a packet that could not be read when the file was opened
        return _UNREADABLE_PAYLOAD
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return codec.dumps(bytes(payload)).encode()
    return codec.dumps([payload[0], *(bytes(part) for part in payload[1:])]).encode()


def _encode_data(data: Any) -> str:
    try:
        return codec.dumps(data)
    except codec.Unencodable:  # changed in place after it was saved: keep what can be
        return codec.dumps(codec.storable(data)[0])


# A packet row that could not be read is rewritten with this payload: no client gets it,
# and the sessions it was meant for were already told (they are new sessions).
_UNREADABLE_PAYLOAD = ""
_ROOM_TYPES = (str, int, float, bool)


def _column_json(text: Any) -> Any:
    """One of the store's own JSON columns (rooms, exclude, joined, shadow, mark keys)."""
    if type(text) is not str:
        raise Unreadable("not text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("not JSON") from None


def _room(value: Any) -> Any:
    if type(value) not in _ROOM_TYPES:
        raise Unreadable("a room that is not a string or a number")
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise Unreadable("not a number")
    return float(value)


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise Unreadable("not an integer")
    return value


def _text(value: Any) -> str:
    if type(value) is not str:
        raise Unreadable("not text")
    return value


def _rooms_column(text: Any) -> frozenset[str] | None:
    if text is None:
        return None
    rooms = _column_json(text)
    if type(rooms) is not list:
        raise Unreadable("rooms that are not a list")
    return frozenset(_room(room) for room in rooms)


def _exclude_column(text: Any) -> frozenset[str] | None:
    if text is None:
        return None
    sids = _column_json(text)
    if type(sids) is not list:
        raise Unreadable("excluded sids that are not a list")
    return frozenset(_text(sid) for sid in sids)


def _decode_payload(stored: Any) -> Any:
    if type(stored) is str:
        return stored
    if type(stored) is bytes:
        return codec.loads_binary_packet(stored)
    raise Unreadable("a payload that is neither text nor a packet in a BLOB")


def _packet_from_row(row: tuple[Any, ...]) -> PacketRecord:
    seq, namespace, rooms, exclude, created, payload = row
    record = PacketRecord(_integer(seq), _text(namespace), _rooms_column(rooms),
                          _exclude_column(exclude), _number(created), _decode_payload(payload))
    if record.payload == _UNREADABLE_PAYLOAD:
        raise Unreadable("told already")
    return record


def _placeholder(row: tuple[Any, ...], seq: int, created: float) -> PacketRecord:
    """What can be read of an unreadable packet row: its targets, when they can be read.

    Its payload is None (it is never written to a client); namespace None stands for
    a namespace that cannot be read (so: every session may have missed it).
    """
    namespace = row[1] if row and type(row[1]) is str else None
    try:
        rooms = _rooms_column(row[2]) if namespace is not None else None
    except Unreadable:
        rooms = None  # meant for some rooms of the namespace: take it as meant for everyone
    if row and type(row[4]) in (int, float):
        created = float(row[4])
    return PacketRecord(seq, namespace, rooms, None, created, None)  # type: ignore[arg-type]


def _session_from_row(row: tuple[Any, ...]) -> tuple[Session, bool, float | None]:
    """A session row as ``_session_changed`` wrote it; raises ``Unreadable`` for anything else."""
    (namespace, sid, pid, start, joined, shadow, data, connected, disconnected_at) = row
    session = Session(_text(namespace), _text(sid), _text(pid), _integer(start))
    pairs = _column_json(joined)
    if type(pairs) is not list or any(type(pair) is not list or len(pair) != 2 for pair in pairs):
        raise Unreadable("joined rooms that are not [room, seq] pairs")
    session.joined = {_room(room): _integer(seq) for room, seq in pairs}
    if session.joined.get(session.sid) is None:
        raise Unreadable("a session that is not in its own room")
    marks = _column_json(shadow)
    if type(marks) is not list or any(type(item) is not list or len(item) != 3
                                      or type(item[0]) is not list or len(item[0]) != 2
                                      for item in marks):
        raise Unreadable("shadow marks that are not [[namespace, room], mark, seen]")
    session.shadow = {(_text(key[0]), None if key[1] is None else _room(key[1])):
                      (_integer(mark), _integer(seen)) for key, mark, seen in marks}
    session.data = {} if data is None else codec.loads_session_dict(data)
    if connected not in (0, 1) or type(connected) is not int:
        raise Unreadable("a connected flag that is not 0 or 1")
    dropped_at = None if disconnected_at is None else _number(disconnected_at)
    if not connected and dropped_at is None:
        raise Unreadable("a dropped session without the time it dropped")
    return session, bool(connected), dropped_at


def _mark_from_row(row: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    key_text, high = row
    key = _column_json(key_text)
    if type(key) is not list or len(key) != 2:
        raise Unreadable("a mark key that is not [namespace, room]")
    return (_text(key[0]), None if key[1] is None else _room(key[1])), _integer(high)


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

    Session dicts are stored as JSON, bytes included (``chatlib.core.codec``):
    nothing read back from the file can run code. What cannot be stored is left
    out when the session dict is saved, with a WARNING, as in every store
    (``storable_session_data``). Rows the store cannot read when it opens the
    file (corrupt, hostile, or in chatlib 0.1's format) are refused with
    one WARNING: such a session, and every session an unreadable packet was
    meant for, is not recovered (its client gets a new session).

    When the file cannot be written (disk full, read-only file or file system),
    no call raises: the store goes on in memory, so live delivery and recovery
    within this process lose nothing; one WARNING says so. It retries with
    backoff (0.1 s doubling to 2 s) and, once the file takes writes again,
    writes the whole state in one transaction. A server killed during such an
    outage finds, at its next start, that packets were given out that the file
    never got (``<db>-unwritten`` says up to which offset): it then restores no
    session from before, since each might have missed one of them, and numbers
    new packets above them.

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

    def __init__(self, path: str, recovery: Recovery | None = None,
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
        self._unwritten_since: float | None = None  # monotonic time of the first failed write
        self._retrying = False
        self._retry_at = 0.0
        self._retry_delay = _RETRY_FIRST
        self._unwritten = _UnwrittenMark(path + "-unwritten")
        self._load()

    def maintain(self) -> None:
        """Copy the WAL into the database file, on a connection of the calling (worker) thread."""
        try:
            checkpointer = sqlite3.connect(self.path, timeout=1.0)
            try:
                checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                checkpointer.close()
        except _WRITE_ERRORS as exc:
            logger.debug("WAL checkpoint failed: %s", exc)  # the next sweep tries again

    def close(self) -> None:
        """Close the database file (the store must not be used afterwards)."""
        self._db.close()
        self._unwritten.close()

    # -- transactions ----------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction per public call; nested calls join the outer one.

        The memory side always completes the call; a write that fails only
        stops the writing (see ``_write_failed``), never the call.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        began = self._writable() and self._begin()
        try:
            yield
        except BaseException:
            if began:
                self._rollback()
            raise
        else:
            if began:
                self._finish()
        finally:
            self._depth = 0

    def _begin(self) -> bool:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            return True
        except _WRITE_ERRORS as exc:
            self._write_failed(exc)
            return False

    def _finish(self) -> None:
        if self._unwritten_since is not None:
            self._rollback()  # a write failed midway: none of this call's writes stay
            return
        try:
            self._db.execute("COMMIT")
        except _WRITE_ERRORS as exc:
            self._write_failed(exc)
            self._rollback()

    def _rollback(self) -> None:
        with contextlib.suppress(*_WRITE_ERRORS):  # no transaction left to roll back
            self._db.execute("ROLLBACK")

    def _write(self, sql: str, params: Any = (), many: bool = False) -> None:
        """Run one statement of the current transaction, unless the file stopped taking writes."""
        if self._unwritten_since is not None:
            return
        try:
            (self._db.executemany if many else self._db.execute)(sql, params)
        except _WRITE_ERRORS as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._unwritten_since is None and not self._retrying:
            self._retry_delay = _RETRY_FIRST
            self._unwritten.write(self._log.last_seq)
            logger.warning("%s cannot be written (%s): recovery goes on in memory until it "
                           "can; what it holds then is written", self.path, exc)
        else:
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX)
        self._unwritten_since = self._unwritten_since or now
        self._retry_at = now + self._retry_delay * random.uniform(0.5, 1.0)

    def _writable(self) -> bool:
        """Whether this call may write: yes, unless in an outage that a retry does not end."""
        if self._unwritten_since is None:
            return True
        if time.monotonic() < self._retry_at:
            return False
        since, self._unwritten_since = self._unwritten_since, None
        self._retrying = True
        try:
            if self._begin():
                self._write_everything()
                self._finish()
        finally:
            self._retrying = False
        if self._unwritten_since is not None:
            self._unwritten_since = since  # still failing: the outage goes on
            return False
        self._unwritten.write(0)
        logger.info("%s takes writes again after %.1f s; the state kept in memory meanwhile "
                    "is written", self.path, time.monotonic() - since)
        return True

    def _write_everything(self) -> None:
        """Bring the file up to the memory side after an outage, in one transaction."""
        try:
            row = self._db.execute("SELECT MAX(seq) FROM packets").fetchone()
        except _WRITE_ERRORS as exc:  # an I/O error fails reads too
            self._write_failed(exc)
            return
        written = row[0] if row and row[0] is not None else 0
        self._write("DELETE FROM packets WHERE seq < ?", (self._log.first_seq,))
        for record in self._log:
            if record.seq > written:
                self._packet_added(record)
        self._write("DELETE FROM sessions")
        for session in self._sessions:
            self._session_changed(session)
        self._write("DELETE FROM marks")
        self._write("INSERT INTO marks VALUES (?, ?)",
                    [(_key_text(key), high) for key, high in self._marks.items()], many=True)
        self._write("INSERT OR REPLACE INTO meta VALUES ('heartbeat', ?)", (self.clock(),))

    def append(self, *args: Any, **kwargs: Any) -> tuple[str, Payload]:
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

    def restore(self, *args: Any) -> RestoreResult:
        with self._transaction():
            return super().restore(*args)

    def expire(self, limit: int | None = None) -> int:
        with self._transaction():
            self._write("INSERT OR REPLACE INTO meta VALUES ('heartbeat', ?)", (self.clock(),))
            return super().expire(limit)

    # -- writing ---------------------------------------------------------

    def _packet_added(self, record: PacketRecord) -> None:
        if self._unwritten_since is not None:
            self._unwritten.write(record.seq)
        self._write(
            "INSERT INTO packets VALUES (?, ?, ?, ?, ?, ?)",
            (record.seq, record.namespace or "",
             None if record.rooms is None else json.dumps(list(record.rooms)),
             None if record.exclude is None else json.dumps(list(record.exclude)),
             record.created, _encode_payload(record.payload)))


    def _packet_evicted(self, record: PacketRecord) -> None:
        self._write("DELETE FROM packets WHERE seq = ?", (record.seq,))
        for key in record.room_keys():
            high = self._marks.high(key)
            if high is not None:
                self._write("INSERT OR REPLACE INTO marks VALUES (?, ?)", (_key_text(key), high))
        for sid in record.exclude or ():
            session = self._sessions.get(record.namespace, sid)
            if session is not None:
                self._session_changed(session)

    def _session_changed(self, session: Session) -> None:
        self._write(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session.namespace, session.sid, session.pid, session.start,
             json.dumps([[room, seq] for room, seq in session.joined.items()]),
             json.dumps([[list(key), mark, seen] for key, (mark, seen) in session.shadow.items()]),
             _encode_data(session.data), int(session.connected), session.disconnected_at))

    def _session_removed(self, session: Session) -> None:
        self._write("DELETE FROM sessions WHERE namespace = ? AND sid = ?",
                         (session.namespace, session.sid))
        self._forget_unused_marks(key for key, _ in session.room_keys())

    def _forget_unused_marks(self, keys: Any) -> None:
        """Delete the rows of marks the memory side let go (their room has no member left)."""
        self._write("DELETE FROM marks WHERE key = ?",
                    [(_key_text(key),) for key in keys if self._marks.high(key) is None], many=True)

    # -- start-up --------------------------------------------------------

    def _add_loaded(self, record: PacketRecord) -> PacketRecord:
        self._log.append(record)
        self._index.add(record)
        return record

    def _last_created(self) -> float:
        newest = next(iter(self._log.after(self._log.last_seq - 1)), None)
        return newest.created if newest is not None else 0.0

    @staticmethod
    def _refused(session: Session, unreadable: list[PacketRecord], bad_keys: set[tuple[Any, ...]],
                 every_key: bool) -> bool:
        """Whether a kept session may have missed what cannot be read: it is not recovered."""
        if every_key or any(key in bad_keys for key, _ in session.room_keys()):
            return True
        return any(record.seq > session.start if record.namespace is None
                   else session.is_target(record) for record in unreadable)

    def _load(self) -> None:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'packets'").fetchone()
        last_seq = row[0] if row else 0
        given_out = self._unwritten.read()
        stale = given_out > last_seq
        if stale:
            # Killed while the file took no writes: packets up to ``given_out`` reached
            # clients but not the file, so no session kept here can be restored without
            # a possible gap; start again above them.
            logger.warning("%s misses packets up to offset %d (written while it could not be): "
                           "its sessions are not recovered", self.path, given_out)
            with self._transaction():
                for table in ("packets", "sessions", "marks"):
                    self._write(f"DELETE FROM {table}")
            last_seq = given_out
        # (if the file could not even take those deletes, its rows are ignored all the same)
        ignore = " WHERE 0" if stale else ""
        first = self._db.execute("SELECT MIN(seq) FROM packets" + ignore).fetchone()[0]
        self._log = PacketLog(last_seq=(first - 1) if first is not None else last_seq)
        # Rows are read, never trusted: one that cannot be read is refused (see _refuse).
        unreadable: list[PacketRecord] = []  # placeholders of packets that cannot be read
        told = 0
        rows = self._db.execute("SELECT * FROM packets" + ignore + " ORDER BY seq").fetchall()
        for row in rows + [()] * (first is not None and last_seq > rows[-1][0]):
            seq = row[0] if row else last_seq + 1
            while self._log.last_seq + 1 < seq:  # a hole: a packet given out and gone
                unreadable.append(self._add_loaded(_placeholder(
                    (), self._log.last_seq + 1, self._last_created())))
            if not row:
                break
            try:
                self._add_loaded(_packet_from_row(row))
            except Unreadable:
                told += row[5] == _UNREADABLE_PAYLOAD
                unreadable.append(self._add_loaded(_placeholder(row, seq, self._last_created())))
        heartbeat = self._db.execute("SELECT value FROM meta WHERE name = 'heartbeat'").fetchone()
        crashed_at = (heartbeat[0] if heartbeat and type(heartbeat[0]) in (int, float)
                      else self.clock())
        loaded: list[tuple[float, Session]] = []
        bad_sessions = 0
        for row in self._db.execute("SELECT * FROM sessions" + ignore):
            try:
                session, connected, disconnected_at = _session_from_row(row)
            except Unreadable:
                bad_sessions += 1
                continue
            # a session still marked connected was cut off by the crash
            loaded.append((crashed_at if connected or disconnected_at is None
                           else disconnected_at, session))
        marks: list[tuple[tuple[Any, ...], int]] = []
        bad_keys: set[tuple[Any, ...]] = set()
        every_key = False
        for row in self._db.execute("SELECT key, high FROM marks" + ignore).fetchall():
            try:
                marks.append(_mark_from_row(row))
            except Unreadable:
                try:
                    bad_keys.add(_key_from_text(row[0]))
                except (ValueError, TypeError):
                    every_key = True
        kept = [(when, session) for when, session in loaded
                if not self._refused(session, unreadable, bad_keys, every_key)]
        refused = len(loaded) - len(kept) + bad_sessions
        if refused or len(unreadable) > told or bad_keys or every_key:
            logger.warning("%s holds state that cannot be read (corrupt, hostile, or in chatlib "
                           "0.1's format): %d packets, %d sessions, %d eviction marks; %d sessions "
                           "are not recovered (their clients get new sessions)", self.path,
                           len(unreadable) - told, bad_sessions,
                           len(bad_keys) + every_key, refused)
        for _, session in kept:
            self._track(session)
        for when, session in sorted(kept, key=lambda item: item[0]):
            self._sessions.mark_dropped(session, when)
        for key, high in marks:
            self._marks.load(key, high)
        with self._transaction():
            if refused:
                self._write("DELETE FROM sessions")
            for session in self._sessions:
                self._session_changed(session)
            for record in unreadable:  # told once: rewritten so that it is not told again
                self._write("INSERT OR REPLACE INTO packets VALUES (?, ?, ?, ?, ?, ?)",
                            (record.seq, record.namespace or "",
                             None if record.rooms is None else json.dumps(list(record.rooms)),
                             None, record.created, _UNREADABLE_PAYLOAD))
            self._write("DELETE FROM marks")
            self._write("INSERT INTO marks VALUES (?, ?)",
                        [(_key_text(key), high) for key, high in self._marks.items()], many=True)
            self._bound_kept_sessions()
        if given_out and self._unwritten_since is None:
            self._unwritten.write(0)
