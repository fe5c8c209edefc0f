"""RedisStore: one recovery state shared by several servers, in Redis."""

from __future__ import annotations

import json
import pickle
import secrets
import time
from importlib import resources
from typing import Any, AsyncIterator, Callable, Iterable, Optional

from ..core.log import PacketRecord
from ..core.policy import Recovery
from ..core.sessions import Session
from ..core.store import (Payload, RecoveryStore, RestoreFailure, RestoreResult, Restored, packet_row,
                    session_row)

# The offset's place in an encoded packet: the packet is encoded once with this
# marker as its last argument, and the marker's JSON is replaced by the offset.
_MARKER = "\u0000chatlib-offset\u0000"
_MARKER_JSON = json.dumps(_MARKER)
_SCRIPTS = ("append", "open", "rooms", "keep", "restore", "expire", "missed")


def _load_scripts() -> dict[str, str]:
    folder = resources.files("chatlib.stores") / "lua"
    common = (folder / "common.lua").read_text()
    return {name: common + "\n" + (folder / f"{name}.lua").read_text() for name in _SCRIPTS}


def _split_payload(payload: Payload) -> tuple[str, str, bytes]:
    text = payload[0] if isinstance(payload, list) else payload
    at = text.rfind(_MARKER_JSON)
    if at < 0:
        raise ValueError("a RedisStore payload must carry the offset as a JSON string")
    attachments = pickle.dumps(payload[1:]) if isinstance(payload, list) else b""
    return text[:at], text[at + len(_MARKER_JSON):], attachments


def _join_payload(before: str, after: str, attachments: bytes, seq: int) -> Payload:
    text = f'{before}"{seq}"{after}'
    return [text] + pickle.loads(attachments) if attachments else text


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _offset_argument(offset: Any) -> str:
    if offset is None:
        return ""
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        return offset
    return "x"


class RedisStore(RecoveryStore):
    """A recovery store in Redis, shared by every server that points at the same Redis.

    Packets go into one Redis Stream (trimmed by ``max_disconnection_duration``
    and ``max_buffered_packets``), sessions into hashes; every operation is one
    Lua script, so it is atomic across servers. Each server delivers every
    stored packet, its own included, by reading the stream (``feed``), so all
    servers write packets to their clients in offset order. A client that
    drops from server A may come back to server B: it gets its sid, rooms and
    session dict back and every packet it missed, from A and from B.

    Sessions are written while connected; each server writes a heartbeat at
    every expiry sweep (keep ``Recovery.sweep_interval`` well under
    ``dead_after``), and a server silent for ``dead_after`` seconds is taken
    as gone: its clients recover on another server (or on it, restarted). A
    CONNECT for a session still connected elsewhere waits up to ``dead_after``
    for that server to be taken as gone; if it keeps answering, the CONNECT
    gets a new session (so a stolen pid cannot take a live session over).

    Rooms are stored as strings. Use it with python-socketio's
    ``AsyncRedisManager`` so that rooms, disconnects and acks cross servers too::

        store = chatlib.RedisStore("redis://127.0.0.1:6379/0")
        sio = chatlib.RecoveryServer(async_mode="asgi", store=store,
                                     client_manager=socketio.AsyncRedisManager("redis://127.0.0.1:6379/0"))

    Each call is one round trip to Redis made from the event loop (tens of
    microseconds on the same host): put Redis close to the servers.
    """

    shared = True

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", recovery: Optional[Recovery] = None,
                 clock: Callable[[], float] = time.time, prefix: str = "chatlib:",
                 dead_after: float = 2.0) -> None:
        import redis

        self.url = url
        self.recovery = recovery or Recovery()
        self.clock = clock
        self.prefix = prefix
        self.dead_after = dead_after
        self.server_id = secrets.token_hex(8)
        self._redis = redis.Redis.from_url(url)
        self._scripts = {name: self._redis.register_script(source)
                         for name, source in _load_scripts().items()}

    def close(self) -> None:
        self._redis.close()

    def _run(self, name: str, *args: Any) -> Any:
        return self._scripts[name](args=[self.prefix, *args])

    # -- packets ---------------------------------------------------------

    def append(self, namespace: str, rooms: Optional[Iterable], exclude: Optional[Iterable],
               make_payload: Callable[[str], Payload]) -> tuple[str, Payload]:
        before, after, attachments = _split_payload(make_payload(_MARKER))
        now = self.clock()
        seq = self._run("append", namespace,
                        "*" if rooms is None else json.dumps([str(room) for room in rooms]),
                        json.dumps(sorted(exclude)) if exclude else "",
                        repr(now), before, after, attachments,
                        self.recovery.max_buffered_packets,
                        repr(now - self.recovery.max_disconnection_duration))
        return str(seq), _join_payload(before, after, attachments, seq)

    def _record(self, entry_id: Any, fields: dict) -> PacketRecord:
        get = lambda name: fields[name.encode()]  # noqa: E731
        seq = int(_text(entry_id).split("-")[0])
        rooms = _text(get("rooms"))
        excluded = _text(get("ex"))
        return PacketRecord(
            seq, _text(get("ns")),
            None if rooms == "*" else frozenset(json.loads(rooms)),
            frozenset(json.loads(excluded)) if excluded else None,
            float(get("t")), _join_payload(_text(get("pre")), _text(get("suf")), get("att"), seq))

    def head(self) -> int:
        """The sequence number of the newest packet any server stored."""
        return int(self._redis.get(self.prefix + "seq") or 0)

    async def feed(self, after: int) -> AsyncIterator[list[PacketRecord]]:
        """Every packet any server stores after ``after``, in offset order, in batches.

        A reader that falls more than ``max_buffered_packets`` behind misses
        the packets trimmed meanwhile; their recipients get them only by
        recovering after a drop.
        """
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.url)
        try:
            last = f"{after}-0"
            while True:
                reply = await client.xread({self.prefix + "stream": last}, count=1000, block=1000)
                for _, entries in reply or []:
                    if entries:
                        last = _text(entries[-1][0])
                        yield [self._record(entry_id, fields) for entry_id, fields in entries]
        finally:
            await client.aclose()

    # -- sessions --------------------------------------------------------

    def open_session(self, namespace: str, sid: str, pid: str) -> int:
        return int(self._run("open", namespace, sid, pid, self.server_id, repr(self.clock())))

    def join(self, namespace: str, sid: str, room: Any) -> None:
        if room is not None:
            self._run("rooms", namespace, sid, str(room), "join")

    def leave(self, namespace: str, sid: str, room: Any) -> None:
        if room is not None:
            self._run("rooms", namespace, sid, str(room), "leave")

    def keep(self, namespace: str, sid: str, data: Any) -> bool:
        return bool(self._run("keep", namespace, sid, _pickle(data), repr(self.clock()), "keep"))

    def save_data(self, namespace: str, sid: str, data: Any) -> None:
        self._run("keep", namespace, sid, _pickle(data), repr(self.clock()), "save")

    def forget(self, namespace: str, sid: str) -> None:
        self._run("keep", namespace, sid, b"", repr(self.clock()), "forget")

    def restore(self, namespace: str, pid: Any, offset: Any) -> RestoreResult:
        if not isinstance(pid, str) or not pid or len(pid) > 256:
            return RestoreFailure.UNKNOWN_PID
        reply = self._run("restore", namespace, pid, _offset_argument(offset), repr(self.clock()),
                          self.recovery.max_disconnection_duration, self.server_id,
                          self.dead_after)
        status = _text(reply[0])
        if status != "OK":
            return RestoreFailure[status]
        sid, joined, data, head, entries = _text(reply[1]), json.loads(reply[2]), reply[3], reply[4], reply[5]
        session = Session(namespace, sid, pid, 0)
        session.joined = joined
        session.start = joined[sid]
        records = [self._record(entry_id, dict(zip(flat[::2], flat[1::2])))
                   for entry_id, flat in entries]
        missed = [record.payload for record in records if session.is_target(record)]
        rooms = tuple(room for room in joined if room != sid)
        return Restored(sid, pid, rooms, pickle.loads(data) if data else {}, missed, int(head))

    def missed(self, namespace: str, sid: str,
               offset: Optional[str] = None) -> list[dict[str, Any]]:
        reply = self._run("missed", namespace, sid, _offset_argument(offset), repr(self.clock()),
                          self.recovery.max_disconnection_duration)
        if not reply:
            return []
        pid, joined, entries = _text(reply[0]), json.loads(reply[1]), reply[2]
        session = Session(namespace, sid, pid, joined[sid])
        session.joined = joined
        now = self.clock()
        records = [self._record(entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))
                   for entry_id, flat in entries]
        return [packet_row(record, now, self.describe)
                for record in records if session.is_target(record)]

    # -- expiry and inspection -------------------------------------------

    def expire(self, limit: Optional[int] = None) -> int:
        return int(self._run("expire", repr(self.clock()), self.recovery.max_disconnection_duration,
                             limit or 1_000_000_000, self.server_id, self.dead_after))

    def packets(self) -> list[dict]:
        now = self.clock()
        return [packet_row(self._record(entry_id, fields), now, self.describe)
                for entry_id, fields in self._redis.xrange(self.prefix + "stream")]

    def sessions(self) -> list[dict]:
        now = self.clock()
        limit = self.recovery.max_disconnection_duration
        rows = []
        for pid in sorted(self._redis.smembers(self.prefix + "pids")):
            fields = {_text(k): v for k, v in self._redis.hgetall(self.prefix + "s:" + _text(pid)).items()}
            if not fields:
                continue
            connected = fields["connected"] == b"1"
            rows.append(session_row(_text(fields["ns"]), _text(fields["sid"]), _text(pid),
                                    json.loads(fields["joined"]), connected,
                                    None if connected else float(fields["at"]), now, limit))
        return rows

    def stats(self) -> dict:
        """Counts for monitoring, as MemoryStore.stats gives them."""
        sessions = self.sessions()
        return {"packets": self._redis.xlen(self.prefix + "stream"), "sessions": len(sessions),
                "kept_sessions": sum(1 for row in sessions if not row["connected"]),
                "marks": self._redis.hlen(self.prefix + "marks")}


def _pickle(data: Any) -> bytes:
    try:
        return pickle.dumps(data)
    except Exception:  # an app may keep anything in its session dict
        return pickle.dumps({})
