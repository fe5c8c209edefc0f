"""RedisStore: one recovery state shared by several servers, in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..core import codec
from ..core.log import PacketRecord
from ..core.policy import Recovery
from ..core.sessions import Session
from ..core.store import (
    UNSTORED,
    Payload,
    Restored,
    RestoreFailure,
    RestoreResult,
    SharedStore,
    packet_row,
    session_row,
    storable_session_data,
)
from .redis_connect import RedisTarget, parse_url

logger = logging.getLogger(__name__)

# The offset's place in an encoded packet: the packet is encoded once with this
# marker as its last argument, and the marker's JSON is replaced by the offset.
_MARKER = "\u0000chatlib-offset\u0000"
_MARKER_JSON = json.dumps(_MARKER)
_SCRIPTS = ("append", "open", "rooms", "keep", "restore", "expire", "resync", "missed", "probe")
# The scripts that write take "generation@primary" last and answer -1 when Redis lost its
# data or another Redis took over (a failover): the server resyncs, then calls once more.
_CHECK_GENERATION = ("append", "expire", "open", "rooms", "keep", "restore")
_STALE_GENERATION = -1
# the "gap" field of the entry a new primary's first resync writes where the sequence jumps
# (resync.lua): no packet and no gap (the gap for packets lost with the old primary says "*lost")
_JUMPED = b"*jump"
# Reconnection after an outage: the first retry soon, then doubling up to a ceiling.
_RETRY_FIRST = 0.1
_RETRY_MAX = 2.0
# Calls are made from the event loop: bound how long one can hold it when Redis is away.
_CONNECTION_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
_FEED_BLOCK_MS = 1000
# the feed's reads wait up to _FEED_BLOCK_MS for news: only a longer silence is a failure
_FEED_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 3.0}


@dataclass(frozen=True)
class _Prepared:
    """One packet encoded for append.lua: its targets, its time, and its text around the offset."""

    namespace: str
    rooms: list[str] | None  # None: everyone
    excluded: str  # JSON list of sids, or ""
    now: float
    before: Any  # str, or bytes for a msgpack packet
    after: Any
    attachments: bytes

    def fields(self) -> tuple[Any, ...]:
        """Its seven arguments of append.lua."""
        return (self.namespace, "*" if self.rooms is None else json.dumps(self.rooms),
                self.excluded, repr(self.now), self.before, self.after, self.attachments)


class _Unavailable(Exception):
    """Redis could not be reached for this call (the store is in an outage)."""


def _load_scripts() -> dict[str, str]:
    folder = resources.files("chatlib.stores") / "lua"
    common = (folder / "common.lua").read_text()
    return {name: common + "\n" + (folder / f"{name}.lua").read_text() for name in _SCRIPTS}


def _packed_str(text: str) -> bytes:
    """``text`` as a msgpack str (how python-socketio's msgpack serializer writes the offset)."""
    data = text.encode()
    size = len(data)
    if size < 32:
        return bytes((0xA0 | size,)) + data
    if size < 1 << 8:
        return b"\xd9" + bytes((size,)) + data
    return b"\xda" + size.to_bytes(2, "big") + data


_MARKER_PACKED = _packed_str(_MARKER)


def _split_payload(payload: Payload) -> tuple[Any, Any, bytes]:
    """A packet's parts around its offset: text for JSON packets, bytes for msgpack ones."""
    text = payload[0] if isinstance(payload, list) else payload
    marker = _MARKER_PACKED if isinstance(text, bytes) else _MARKER_JSON
    at = text.rfind(marker)
    if at < 0:
        raise ValueError("a RedisStore payload must carry the offset as a string")
    attachments = (codec.dumps([bytes(part) for part in payload[1:]]).encode()
                   if isinstance(payload, list) else b"")
    return text[:at], text[at + len(marker):], attachments


def _join_payload(before: Any, after: Any, attachments: bytes, seq: Any) -> Payload:
    """The payload of a stored packet; raises ``codec.Unreadable`` for attachments it cannot read."""
    if isinstance(before, bytes):
        return before + _packed_str(str(seq)) + after
    text = f'{before}"{seq}"{after}'
    return [text, *codec.loads_attachments(attachments)] if attachments else text


class _UnreadableEntry(Exception):
    """A stream entry that cannot be read (corrupt, hostile, or in chatlib 0.1's format).

    ``record`` holds what can be read of its targets, payload None; its namespace is
    None when that cannot be read either (then it may have been meant for anyone).
    """

    def __init__(self, record: PacketRecord) -> None:
        super().__init__(record.seq)
        self.record = record

    def may_be_for(self, session: Session) -> bool:
        if self.record.namespace is None:
            return self.record.seq > session.start
        return session.is_target(self.record)


def _utf8(value: Any) -> str:
    if type(value) is not bytes:
        raise codec.Unreadable("a missing field")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise codec.Unreadable("not UTF-8 text") from None


def _sids(text: str) -> frozenset[str] | None:
    """A stream entry's rooms or excluded sids: "*" or "" for none, else a JSON list of strings."""
    if text in ("*", ""):
        return None
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise codec.Unreadable("not JSON") from None
    if type(items) is not list or any(type(item) is not str for item in items):
        raise codec.Unreadable("not a list of strings")
    return frozenset(items)


def _checked_msgpack(payload: bytes) -> bytes:
    """A stored msgpack packet, if it decodes as one (a map with an integer "type" and a
    string "nsp"); raises ``codec.Unreadable`` otherwise. Decoding msgpack runs no code."""
    try:
        import msgpack
    except ImportError:  # a server without msgpack made no msgpack packets
        raise codec.Unreadable("a msgpack packet, and msgpack is not installed") from None
    try:
        packet = msgpack.unpackb(payload)
    except Exception:  # msgpack raises several kinds for bytes that are not msgpack
        raise codec.Unreadable("not msgpack") from None
    if (type(packet) is not dict or type(packet.get("type")) is not int
            or type(packet.get("nsp")) is not str):
        raise codec.Unreadable("not a Socket.IO packet")
    return payload


def _parts(before: Any, after: Any) -> tuple[Any, Any]:
    """Stored parts as ``_split_payload`` made them: UTF-8 text for a text packet, bytes for a
    msgpack one (which starts with a map header, never the start of UTF-8 text). Raises
    ``codec.Unreadable`` for parts that are neither."""
    if type(before) is not bytes or type(after) is not bytes:
        raise codec.Unreadable("a missing field")
    try:
        return before.decode("utf-8"), _utf8(after)
    except UnicodeDecodeError:
        pass
    if not before or not (0x81 <= before[0] <= 0x8F or before[0] in (0xDE, 0xDF)):
        raise codec.Unreadable("neither UTF-8 text nor a msgpack map")
    return before, after


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _offset_argument(offset: Any) -> str:
    if offset is None:
        return ""
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        return offset
    return "x"


class RedisStore(SharedStore):
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

    A server's emits are stored in batches: ``emit`` returns once the packet is
    queued, and one writer per server stores what was queued meanwhile in one
    script call, in emit order (``chatlib.sio.appends``). Every other call is one
    round trip to Redis made from the event loop (tens of microseconds on the
    same host): put Redis close to the servers.

    ``url`` takes every form python-socketio's ``AsyncRedisManager`` takes
    (``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://h1:p1,h2:p2/db/service``,
    and ``valkey://``, ``valkeys://``, ``valkey+sentinel://`` with the ``valkey``
    client), so one URL configures both; ``redis_options`` are keyword arguments
    for every client, as the manager's. With ``cluster=True`` the URL names one
    node of a Redis Cluster; every key of the store carries the hash tag of its
    prefix (``"chatlib:"`` becomes ``"{chatlib}:"``), so each script runs on one
    slot. A Sentinel deployment::

        url = "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/0/chat"
        store = chatlib.RedisStore(url)
        manager = socketio.AsyncRedisManager(url)

    A failover (another Redis takes over) is noticed by the first call made to
    the new primary: every server resyncs there before it writes, the sequence
    jumps past every number given out, and if the new primary lacks packets a
    server saw (replication is asynchronous), a gap for everyone is written, so
    their clients reconnect and are told ``recovered`` false (docs/deploying.md).

    When Redis cannot be reached (killed, restarting, network), no call raises:
    packets are delivered live to this server's own clients, marked ``UNSTORED``,
    and restores answer ``STORE_UNAVAILABLE``; one WARNING says the outage began
    (its end is logged at INFO, or at WARNING if Redis lost its data).
    Calls retry with backoff (0.1 s doubling to 2 s) and the feed reconnects the
    same way. When Redis is back the server first writes a gap for what it could
    not store (sessions that missed it reconnect with ``recovered`` false, and
    other servers cut their clients that missed it off so they reconnect and learn),
    forgets the sessions that dropped meanwhile and registers its connected ones
    again. A Redis that lost its data gets a new generation of sequence numbers,
    above the old ones; the sessions it lost are not recovered.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", recovery: Recovery | None = None,
                 clock: Callable[[], float] = time.time, prefix: str = "chatlib:",
                 dead_after: float = 2.0, *, cluster: bool = False,
                 redis_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.own_recovery = recovery
        self.target: RedisTarget = parse_url(url, cluster=cluster, options=redis_options)
        self.recovery = recovery or Recovery()
        self.clock = clock
        self.prefix = _hash_tagged(prefix) if cluster else prefix
        self.dead_after = dead_after
        self.server_id = secrets.token_hex(8)
        self._errors = self.target.errors()
        # every script names one key, so that a cluster client sends it to that key's slot
        self._keys = [self.prefix + "seq"]
        # one immediate retry: a pooled connection that Redis closed is replaced at once
        self._redis = self.target.sync_client(retry=self.target.retry(1), **_CONNECTION_OPTIONS)
        self._sources = _load_scripts()
        self._scripts = {name: self._redis.register_script(source)
                         for name, source in self._sources.items()}
        # batched appends go through an asyncio client of the loop that makes them
        self._aio: Any = None
        self._aio_loop: asyncio.AbstractEventLoop | None = None
        self._aio_append: Any = None
        self._generation: str | None = None  # learnt on first contact (resync.lua)
        self._primary: str | None = None  # the Redis process resynced with (None: resync first)
        self._primary_seen: str | None = None  # the last one, for the log line of a failover
        self._high = 0  # the highest sequence number this server has seen
        self._outage_since: float | None = None
        self._retry_at = 0.0
        self._retry_delay = _RETRY_FIRST
        self._unstored = 0
        # What Redis must learn when it is back: this server's connected sessions
        # ((namespace, sid) -> (pid, rooms)), the ones that ended meanwhile, and
        # per namespace the rooms of the packets it could not store (None: everyone).
        self._mine: dict[tuple[str, str], tuple[str, set[str]]] = {}
        self._gone: set[tuple[str, str]] = set()
        self._gaps: dict[str, set[str] | None] = {}

    def close(self) -> None:
        self._redis.close()

    async def aclose(self) -> None:
        """Close the asyncio connection of batched appends (a later batch opens a new one)."""
        client, self._aio, self._aio_loop, self._aio_append = self._aio, None, None, None
        if client is not None:
            await _close_quietly(client)

    @property
    def available(self) -> bool:
        """Whether the last call reached Redis (False during an outage: packets go unstored).

        Example, in a health check: ``return 200 if store.available else 503``.
        """
        return self._outage_since is None

    # -- outages ---------------------------------------------------------

    def _run(self, name: str, *args: Any) -> Any:
        """Run one script; raises ``_Unavailable`` (after noting the outage) if Redis is away."""
        if not self._ready():
            raise _Unavailable
        checked = name in _CHECK_GENERATION
        token = [self._token()] if checked else []
        try:
            reply = self._scripts[name](keys=self._keys, args=[self.prefix, *args, *token])
            if checked and reply == _STALE_GENERATION:
                self._primary = None  # Redis restarted empty, or a failover: catch up, then once more
                if not self._ready():
                    raise _Unavailable
                reply = self._scripts[name](keys=self._keys, args=[self.prefix, *args, self._token()])
                if reply == _STALE_GENERATION:
                    # stale again (the primary changed between the resync and the call): never
                    # take -1 for an answer; the next call resyncs
                    self._primary = None
                    raise _Unavailable
            return reply
        except self._errors as exc:
            self._outage_begins(exc)
            raise _Unavailable from exc

    def _token(self) -> str:
        return f"{self._generation}@{self._primary}"

    def _ready(self) -> bool:
        """Whether calls may go to Redis now: after first contact, an outage or a failover, resync."""
        if self._outage_since is None and self._primary is not None:
            return True
        if self._outage_since is not None and time.monotonic() < self._retry_at:
            return False
        try:
            self._resync()
        except self._errors as exc:
            self._outage_begins(exc)
            return False
        return True

    def _outage_begins(self, exc: BaseException, retry_now: bool = False) -> None:
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
            self._retry_delay = _RETRY_FIRST
            logger.warning("Redis at %s unreachable (%s): recovery paused; live packets go to "
                           "this server's clients only, and what is not stored will not be "
                           "recovered", self.target.where, exc)
        elif not retry_now:
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX)
        self._retry_at = now if retry_now else now + self._retry_delay * random.uniform(0.5, 1.0)

    def _resync(self) -> None:
        gaps = [[namespace, None if rooms is None else sorted(rooms)]
                for namespace, rooms in self._gaps.items()]
        gen, head, primary = self._scripts["resync"](keys=self._keys, args=[
            self.prefix, secrets.token_hex(8), self._high,
            json.dumps(gaps), json.dumps(sorted(self._gone)),
            json.dumps([[namespace, sid, pid, sorted(rooms)]
                        for (namespace, sid), (pid, rooms) in self._mine.items()]),
            self.server_id, repr(self.clock())])
        gen, primary = _text(gen), _text(primary)
        lost_data = self._generation is not None and gen != self._generation
        if self._outage_since is not None:
            # the outage had its WARNING; its end is news only if Redis lost its data
            logger.log(logging.WARNING if lost_data else logging.INFO,
                       "Redis at %s is back after %.1f s: %d packets could not be stored; "
                       "%d connected sessions registered again%s", self.target.where,
                       time.monotonic() - self._outage_since, self._unstored, len(self._mine),
                       " (Redis had lost its data: kept sessions are gone)" if lost_data else "")
        elif not lost_data and self._primary_seen not in (None, primary):
            logger.warning("Redis at %s: another Redis took over (a failover or a restart); "
                           "%d connected sessions registered again there", self.target.where,
                           len(self._mine))
        self._generation = gen
        self._primary = self._primary_seen = primary
        self._high = max(self._high, int(head))
        self._outage_since = None
        self._unstored = 0
        self._gone.clear()
        self._gaps.clear()

    def _not_stored(self, namespace: str, rooms: list[str] | None) -> None:
        self._unstored += 1
        if namespace in self._gaps and self._gaps[namespace] is None:
            return
        if rooms is None:
            self._gaps[namespace] = None
        else:
            self._gaps.setdefault(namespace, set()).update(rooms)  # type: ignore[union-attr]  # not None: see above

    # -- packets ---------------------------------------------------------

    def prepare_append(self, namespace: str, rooms: Iterable[Any] | None,
                       exclude: Iterable[str] | None,
                       make_payload: Callable[[str], Payload]) -> _Prepared:
        before, after, attachments = _split_payload(make_payload(_MARKER))
        return _Prepared(namespace, None if rooms is None else [str(room) for room in rooms],
                         json.dumps(sorted(exclude)) if exclude else "", self.clock(),
                         before, after, attachments)

    def append(self, namespace: str, rooms: Iterable[Any] | None, exclude: Iterable[str] | None,
               make_payload: Callable[[str], Payload]) -> tuple[str, Payload]:
        """Store one packet now, in one round trip (a server's emits use ``append_prepared``)."""
        batch = [self.prepare_append(namespace, rooms, exclude, make_payload)]
        try:
            first = self._run("append", *self._append_arguments(batch))
        except _Unavailable:
            return self._results_unstored(batch)[0]
        return self._results_stored(batch, int(first))[0]

    async def append_prepared(self, batch: Sequence[_Prepared]) -> list[tuple[str, Payload]]:
        """Store a batch of packets in one script call, in order, on this loop's asyncio client.

        As the other calls, it never raises for an outage: the whole batch is
        then ``UNSTORED`` (a script runs whole or not at all), and noted for the
        gap written when Redis is back.
        """
        if not batch:
            return []
        if not self._ready():
            return self._results_unstored(batch)
        arguments = [self.prefix, *self._append_arguments(batch)]
        script = self._async_append()
        try:
            first = await script(keys=self._keys, args=[*arguments, self._token()])
            if first == _STALE_GENERATION:
                self._primary = None  # Redis restarted empty, or a failover: catch up, then once more
                if not self._ready():
                    return self._results_unstored(batch)
                first = await script(keys=self._keys, args=[*arguments, self._token()])
                if first == _STALE_GENERATION:
                    # never numbered from -1: these packets are not stored (a gap is written)
                    self._primary = None
                    return self._results_unstored(batch)
        except self._errors as exc:
            self._outage_begins(exc)
            return self._results_unstored(batch)
        return self._results_stored(batch, int(first))

    def _async_append(self) -> Any:
        """append.lua on an asyncio client of the running loop (made on first use per loop)."""
        loop = asyncio.get_running_loop()
        if self._aio is None or self._aio_loop is not loop:
            # a client of an earlier loop cannot be closed from this one: it is left to go
            # one immediate retry, as the synchronous client's: a pooled connection that
            # Redis closed (during an outage) is replaced at once
            # (an asyncio client needs the asyncio Retry)
            self._aio = self.target.async_client(self._known_nodes(),
                                                 retry=self.target.retry(1, asyncio=True),
                                                 **_CONNECTION_OPTIONS)
            self._aio_loop = loop
            self._aio_append = self._aio.register_script(self._sources["append"])
        return self._aio_append

    def _known_nodes(self) -> list[tuple[str, int]]:
        """A cluster's nodes as the synchronous client knows them now (after a failover too)."""
        if self.target.kind != "cluster":
            return []
        return [(node.host, node.port) for node in self._redis.get_nodes()]

    def _append_arguments(self, batch: Sequence[_Prepared]) -> list[Any]:
        """append.lua's arguments after the prefix, the generation left out."""
        cutoff = batch[-1].now - self.recovery.max_disconnection_duration
        arguments: list[Any] = [self.recovery.max_buffered_packets, repr(cutoff)]
        for prepared in batch:
            arguments.extend(prepared.fields())
        return arguments

    def _results_stored(self, batch: Sequence[_Prepared], first: int) -> list[tuple[str, Payload]]:
        self._high = max(self._high, first + len(batch) - 1)
        return [(str(seq), _join_payload(p.before, p.after, p.attachments, seq))
                for seq, p in enumerate(batch, start=first)]

    def _results_unstored(self, batch: Sequence[_Prepared]) -> list[tuple[str, Payload]]:
        for prepared in batch:
            self._not_stored(prepared.namespace, prepared.rooms)
        return [(UNSTORED, _join_payload(p.before, p.after, p.attachments, UNSTORED)) for p in batch]

    def _record(self, entry_id: Any, fields: dict[Any, Any]) -> PacketRecord:
        """A stream entry as a packet; raises ``_UnreadableEntry`` for one it cannot read.

        Entries are read, never trusted: every field is checked, and nothing in one
        can run code. A gap (packets a server could not store) has no payload.
        """
        get = fields.get
        seq = int(_text(entry_id).split("-")[0])
        namespace: str | None = None
        rooms: frozenset[str] | None = None
        try:
            namespace = _utf8(get(b"ns"))
            rooms = _sids(_utf8(get(b"rooms")))
            excluded = _sids(_utf8(get(b"ex")))
            created = float(_utf8(get(b"t")))
            attachments = get(b"att")
            if type(attachments) is not bytes:
                raise codec.Unreadable("no attachments field")
            payload = None if b"gap" in fields else _join_payload(
                *_parts(get(b"pre"), get(b"suf")), attachments, seq)
            if isinstance(payload, bytes):
                payload = _checked_msgpack(payload)
        except (codec.Unreadable, ValueError) as exc:
            raise _UnreadableEntry(PacketRecord(seq, namespace, rooms, None, 0.0, None)) from exc  # type: ignore[arg-type]
        if rooms is None and _utf8(get(b"rooms")) != "*":
            raise _UnreadableEntry(PacketRecord(seq, namespace, None, None, 0.0, None))
        return PacketRecord(seq, namespace, rooms, excluded, created, payload)

    def _readable(self, entries: Iterable[tuple[Any, dict[Any, Any]]]) -> list[PacketRecord]:
        """The entries that can be read (inspection shows no others)."""
        records = []
        for entry_id, fields in entries:
            with contextlib.suppress(_UnreadableEntry):
                records.append(self._record(entry_id, fields))
        return records

    def _fed(self, entries: Iterable[tuple[Any, dict[Any, Any]]]) -> list[PacketRecord]:
        """The feed's records: an entry that cannot be read is a gap for whom it may be meant."""
        records = []
        for entry_id, fields in entries:
            try:
                records.append(self._record(entry_id, fields))
            except _UnreadableEntry as unreadable:
                record = unreadable.record
                logger.warning("stream entry %d in Redis at %s cannot be read (corrupt, hostile, "
                               "or in chatlib 0.1's format): skipped; the clients it may have been "
                               "meant for are cut off and told", record.seq, self.target.where)
                if record.namespace is None:
                    records.extend(self._gaps_for_everyone(record.seq))
                else:
                    records.append(PacketRecord(record.seq, record.namespace, record.rooms, None,
                                                self.clock(), None))
        return records

    def head(self) -> int:
        """The sequence number of the newest packet any server stored."""
        try:
            if self._ready():
                self._high = max(self._high, int(self._redis.get(self.prefix + "seq") or 0))
        except self._errors as exc:
            self._outage_begins(exc)
        return self._high

    async def feed(self, after: int) -> AsyncIterator[list[PacketRecord]]:
        """Every packet any server stores after ``after``, in offset order, in batches.

        When Redis goes away the feed reconnects with backoff and goes on where
        it was. A gap comes as a record whose payload is None: one written by
        another server (this server's own do not come: its clients had those
        packets live); one for everyone when Redis lost its data (packets stored
        and not yet read were lost with it; the feed then reads the new stream
        from its start); and one for everyone when this reader fell more than
        ``max_buffered_packets`` behind, so that packets were trimmed before it
        read them. When another Redis took over (a failover), the feed goes on
        there; a gap for everyone comes if it lacks packets any server saw.
        The server cuts off the clients a gap was meant for, and
        they learn on reconnecting (``recovered`` false where they missed one).
        """
        client = None
        last = after
        new_stream = False
        generation = self._generation
        primary = self._primary
        ours = self.server_id.encode()
        delay = _RETRY_FIRST
        try:
            while True:
                # redis-py can swallow a cancellation that lands while it connects
                if asyncio.current_task().cancelling():  # type: ignore[union-attr]  # in a task
                    raise asyncio.CancelledError
                try:
                    if client is None:
                        # no retries inside redis-py: every broken connection must come
                        # here, where the generation is checked (a transparent reconnection
                        # to a Redis that lost its data would go unnoticed)
                        client = self.target.async_client(
                            self._known_nodes(), retry=self.target.retry(0, asyncio=True),
                            **_FEED_OPTIONS)
                        probe = client.register_script(self._sources["probe"])
                        current, seq, now_primary = await probe(keys=self._keys, args=[self.prefix])
                        current = _text(current) if current else None
                        now_primary = _text(now_primary)
                        if generation is not None and current != generation:
                            # Redis lost its data: packets stored but not yet read went with
                            # it, so every client here may miss some; cut them all off (a gap
                            # for everyone) and read the new stream from its start.
                            # above the floor of every session this server had before
                            head = max(int(seq), self._high + 1)
                            last, new_stream = 0, True  # its first entry is above the old ones
                            yield self._gaps_for_everyone(head)
                        elif primary is not None and now_primary != primary:
                            # another Redis took over: resync there now, so that the gap for
                            # packets it lacks (resync.lua) is written before this server's
                            # clients reconnect or anyone restores a session that missed them
                            self._primary = None
                            self._ready()
                        generation, primary = current, now_primary
                        if self._outage_since is not None:
                            # Redis answers again (a failover took seconds): end the outage
                            # now rather than at the next retry of the backoff, so that this
                            # server's emits are stored again at once
                            self._retry_at = 0.0
                            self._ready()
                    reply = await client.xread({self.prefix + "stream": f"{last}-0"},
                                               count=1000, block=_FEED_BLOCK_MS)
                    delay = _RETRY_FIRST
                except self._errors as exc:
                    self._outage_begins(exc, retry_now=True)
                    if client is not None:
                        await _close_quietly(client)
                        client = None
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, _RETRY_MAX)
                    continue
                for _, entries in reply or []:
                    if entries:
                        first = int(_text(entries[0][0]).split("-")[0])
                        if (not new_stream and first > last + 1
                                and entries[0][1].get(b"gap") != _JUMPED):
                            # packets stored after the last one read were trimmed before this
                            # server read them (it fell max_buffered_packets behind): every
                            # client here may have missed some, as when Redis loses its data
                            yield self._gaps_for_everyone(first - 1)
                        last = int(_text(entries[-1][0]).split("-")[0])
                        new_stream = False
                        self._high = max(self._high, last)
                        # this server's own gaps (its clients had the packets live) and the
                        # marks of a new primary's jump are no news for its clients
                        yield self._fed(entry for entry in entries
                                        if entry[1].get(b"gap") not in (ours, _JUMPED))
        finally:
            if client is not None:
                await _close_quietly(client)

    def _gaps_for_everyone(self, seq: int) -> list[PacketRecord]:
        """A gap at ``seq`` for every client of this server, in each of its namespaces."""
        namespaces = sorted({namespace for namespace, _ in self._mine})
        return [PacketRecord(seq, namespace, None, None, self.clock(), None)
                for namespace in namespaces]

    # -- sessions --------------------------------------------------------

    # Each session call first updates what this server knows of its own sessions
    # (``_mine``), so that after an outage Redis can be told what it missed.

    def open_session(self, namespace: str, sid: str, pid: str) -> int:
        self._mine[(namespace, sid)] = (pid, set())
        try:
            return int(self._run("open", namespace, sid, pid, self.server_id, repr(self.clock())))
        except _Unavailable:
            return self._high

    def join(self, namespace: str, sid: str, room: Any) -> None:
        if room is None:
            return
        if (namespace, sid) in self._mine:
            self._mine[(namespace, sid)][1].add(str(room))
        with contextlib.suppress(_Unavailable):
            self._run("rooms", namespace, sid, str(room), "join")

    def leave(self, namespace: str, sid: str, room: Any) -> None:
        if room is None:
            return
        if (namespace, sid) in self._mine:
            self._mine[(namespace, sid)][1].discard(str(room))
        with contextlib.suppress(_Unavailable):
            self._run("rooms", namespace, sid, str(room), "leave")

    def _end(self, namespace: str, sid: str, data: str | bytes, how: str) -> bool:
        self._mine.pop((namespace, sid), None)
        try:
            return bool(self._run("keep", namespace, sid, data, repr(self.clock()), how,
                                  self.recovery.max_kept_sessions))
        except _Unavailable:
            self._gone.add((namespace, sid))
            return False

    def keep(self, namespace: str, sid: str, data: Any) -> bool:
        return self._end(namespace, sid, _encoded(data, namespace, sid), "keep")

    def save_data(self, namespace: str, sid: str, data: Any) -> None:
        with contextlib.suppress(_Unavailable):  # written again when the session drops
            self._run("keep", namespace, sid, _encoded(data, namespace, sid), repr(self.clock()),
                      "save", self.recovery.max_kept_sessions)

    def forget(self, namespace: str, sid: str) -> None:
        self._end(namespace, sid, b"", "forget")

    def restore(self, namespace: str, pid: Any, offset: Any) -> RestoreResult:
        if not isinstance(pid, str) or not pid or len(pid) > 256:
            return RestoreFailure.UNKNOWN_PID
        try:
            reply = self._run("restore", namespace, pid, _offset_argument(offset),
                              repr(self.clock()), self.recovery.max_disconnection_duration,
                              self.server_id, self.dead_after)
        except _Unavailable:
            return RestoreFailure.STORE_UNAVAILABLE
        status = _text(reply[0])
        if status == "UNREADABLE_STATE":  # restore.lua found the session's fields unreadable
            return self._unreadable(namespace, None, "its fields")
        if status != "OK":
            return RestoreFailure[status]
        sid, joined, data, head, entries = _text(reply[1]), json.loads(reply[2]), reply[3], reply[4], reply[5]
        session = Session(namespace, sid, pid, 0)
        session.joined = joined
        session.start = joined[sid]
        missed = []
        for entry_id, flat in entries:
            try:
                record = self._record(entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))
            except _UnreadableEntry as unreadable:
                if unreadable.may_be_for(session):
                    return self._unreadable(namespace, sid, f"stream entry {unreadable.record.seq}")
                continue
            if record.payload is not None and session.is_target(record):
                missed.append(record.payload)
        try:
            restored_data = codec.loads_session_dict(data) if data else {}
        except codec.Unreadable:
            return self._unreadable(namespace, sid, "its session dict")
        rooms = tuple(room for room in joined if room != sid)
        self._mine[(namespace, sid)] = (pid, set(rooms))
        self._high = max(self._high, int(head))
        return Restored(sid, pid, rooms, restored_data, missed, int(head))

    def _unreadable(self, namespace: str, sid: str | None, what: str) -> RestoreFailure:
        """A kept session whose state cannot be read: forgotten, with one WARNING; a new session."""
        if sid is not None:  # restore.lua gave it to this server: take it out of Redis
            self._end(namespace, sid, b"", "forget")
        logger.warning("a kept session in %s (sid %s) cannot be restored: %s in Redis at %s cannot "
                       "be read (corrupt, hostile, or in chatlib 0.1's format); it is forgotten "
                       "and its client gets a new session", namespace, sid or "unreadable",
                       what, self.target.where)
        return RestoreFailure.UNREADABLE_STATE

    def missed(self, namespace: str, sid: str,
               offset: str | None = None) -> list[dict[str, Any]]:
        try:
            reply = self._run("missed", namespace, sid, _offset_argument(offset), repr(self.clock()),
                              self.recovery.max_disconnection_duration)
        except _Unavailable:
            return []  # inspection during an outage shows nothing rather than raise
        if not reply:
            return []
        pid, joined, entries = _text(reply[0]), json.loads(reply[1]), reply[2]
        session = Session(namespace, sid, pid, joined[sid])
        session.joined = joined
        now = self.clock()
        records = []
        for entry_id, flat in entries:
            try:
                records.append(self._record(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))))
            except _UnreadableEntry as unreadable:
                if unreadable.may_be_for(session):
                    return []  # a restore now would fail
        # as restore: a gap entry (packets another server could not store) is no packet;
        # the eviction marks it left make missed.lua answer nothing where it matters
        return [packet_row(record, now, self.describe)
                for record in records if record.payload is not None and session.is_target(record)]

    # -- expiry and inspection -------------------------------------------

    def expire(self, limit: int | None = None) -> int:
        try:
            return int(self._run("expire", repr(self.clock()),
                                 self.recovery.max_disconnection_duration, limit or 1_000_000_000,
                                 self.server_id, self.dead_after, self.recovery.max_kept_sessions))
        except _Unavailable:
            return 0

    # Inspection reads Redis directly; during an outage it shows nothing rather than raise.

    def packets(self) -> list[dict[str, Any]]:
        now = self.clock()
        try:
            entries = self._redis.xrange(self.prefix + "stream") if self._ready() else []
        except self._errors as exc:
            self._outage_begins(exc)
            entries = []
        return [packet_row(record, now, self.describe) for record in self._readable(entries)
                if record.payload is not None]

    def sessions(self) -> list[dict[str, Any]]:
        try:
            return self._session_rows() if self._ready() else []
        except self._errors as exc:
            self._outage_begins(exc)
            return []

    def _session_rows(self) -> list[dict[str, Any]]:
        now = self.clock()
        limit = self.recovery.max_disconnection_duration
        rows = []
        for pid in sorted(self._redis.smembers(self.prefix + "pids")):
            fields = self._redis.hgetall(self.prefix + "s:" + _text(pid))
            if not fields:
                continue
            try:
                connected = fields[b"connected"] == b"1"
                rows.append(session_row(_utf8(fields.get(b"ns")), _utf8(fields.get(b"sid")),
                                        _text(pid), json.loads(fields[b"joined"]), connected,
                                        None if connected else float(fields[b"at"]), now, limit))
            except (codec.Unreadable, ValueError, KeyError, TypeError, RecursionError):
                continue  # a session that cannot be read: its restore will say so
        return rows

    def stats(self) -> dict[str, Any]:
        """Counts for monitoring, as MemoryStore.stats gives them."""
        sessions = self.sessions()
        try:
            packets = self._redis.xlen(self.prefix + "stream") if self._ready() else 0
            marks = self._redis.hlen(self.prefix + "marks") if self._ready() else 0
        except self._errors as exc:
            self._outage_begins(exc)
            packets = marks = 0
        return {"packets": packets, "sessions": len(sessions),
                "kept_sessions": sum(1 for row in sessions if not row["connected"]),
                "marks": marks}


def _hash_tagged(prefix: str) -> str:
    """A prefix whose keys all hash to one cluster slot: its own hash tag, or braces around it."""
    start = prefix.find("{")
    if start >= 0 and prefix.find("}", start + 2) > start:
        return prefix
    stem = prefix.rstrip(":")
    return "{" + stem + "}" + prefix[len(stem):]


async def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):  # closing a connection to a Redis that is gone may fail too
        await client.aclose()


def _encoded(data: Any, namespace: str, sid: str) -> str:
    """A session dict as Redis keeps it: JSON, less what cannot be stored (with a WARNING)."""
    return codec.dumps(storable_session_data(data, namespace, sid))
