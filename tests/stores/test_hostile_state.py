"""Hostile state: what is written straight into Redis or into the SQLite file is read, never run.

Whoever can write one key to the Redis the servers share, or one row to the SQLite file, must
not run code in the servers. Each test writes, straight into a real redis-server or a real
SQLite file, one of these into a place chatlib reads back:

- a pickle whose unpickling creates a file (the mark): the old stores unpickled what they read;
- garbage bytes, a truncated value, a value of the wrong type.

Then real clients come back (RecoveryClient) and the other servers read what was written. The
tests check what a user would notice: the mark is absent; the restore of a session whose state
cannot be read answers as for corrupt state (a new session, ``recovered`` false, exactly one
WARNING), once; the feed skips an entry it cannot read and cuts off the clients it was meant
for, so that they reconnect told (``recovered`` false) instead of silently missing it; nobody
else loses anything.
"""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import time

import pytest
import redis
import socketio

import chatlib
from chatlib.stores.redis import RedisStore
from tests.helpers import Inbox, eventually, server_saw_drop, start

WS = {"transports": ["websocket"]}


class Mark:
    """Unpickling this opens (so creates) a file: the mark that code ran."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# what is written into a session's data (the old stores pickled the session dict there)
SESSION_DATA = {
    "pickle": lambda mark: pickle.dumps({"name": Mark(mark)}),
    "garbage": lambda mark: b"\x00\xff\xfe\x80garbage",
    "truncated": lambda mark: b'{"name": "Ali',
    "wrong type": lambda mark: b"[1, 2, 3]",
    "bad tag": lambda mark: b'{"name": {"$bytes": "not base64!"}}',
}
# what is written into a packet's attachments (the old stores pickled the list of them there)
ATTACHMENTS = {
    "pickle": lambda mark: pickle.dumps([Mark(mark)]),
    "garbage": lambda mark: b"\x00\xff\xfe\x80garbage",
    "truncated": lambda mark: b'[{"$bytes": "AAE',
    "wrong type": lambda mark: b'{"$bytes": "AAE="}',
}


def chatlib_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING and record.name.startswith("chatlib")]


def app(store, **options) -> chatlib.RecoveryServer:
    sio = chatlib.RecoveryServer(async_mode="asgi", store=store,
                                 recovery=chatlib.Recovery(sweep_interval=0.2), **options)

    @sio.on("join")
    async def join(sid, room):
        await sio.enter_room(sid, room)

    @sio.on("remember")
    async def remember(sid, value):
        await sio.save_session(sid, {"remembered": value})

    @sio.on("recall")
    async def recall(sid):
        return (await sio.get_session(sid)).get("remembered")

    return sio


async def client_of(clients, url, inbox=None, connects=None, reconnection=False):
    client = clients(chatlib.RecoveryClient(
        reconnection=reconnection, reconnection_delay=0.05, reconnection_delay_max=0.2,
        randomization_factor=0))
    if inbox is not None:
        client.on("m", inbox)
    if connects is not None:
        client.on("connect", lambda: connects.append(client.recovered))
    await client.connect(url, **WS)
    return client


# -- Redis ---------------------------------------------------------------------------

@pytest.fixture
def redis_servers(redis_server, redis_prefix, launch):
    """``make()`` starts one more server on the shared Redis; ``raw`` writes into that Redis."""
    stores = []
    raw = redis.Redis.from_url(redis_server.url)

    async def make():
        store = RedisStore(redis_server.url, prefix=redis_prefix)
        stores.append(store)
        return await launch(app(store, client_manager=socketio.AsyncRedisManager(
            redis_server.url, channel=redis_prefix + "sio")))

    make.raw = raw
    make.prefix = redis_prefix
    yield make
    raw.close()
    for store in stores:
        store.close()


@pytest.mark.parametrize("kind", SESSION_DATA)
async def test_a_kept_sessions_data_written_in_redis_is_never_run(redis_servers, clients, caplog,
                                                                  tmp_path, kind):
    mark = tmp_path / "mark"
    a, b = await redis_servers(), await redis_servers()
    alice = await client_of(clients, a.url)
    carol = await client_of(clients, a.url)
    bob_inbox = Inbox()
    bob = await client_of(clients, b.url, bob_inbox)
    await alice.call("remember", "alice's")
    await carol.call("remember", "carol's")
    sid = alice.get_sid()
    for dropped in (alice, carol):
        sid_of = dropped.get_sid()
        await dropped.drop()
        await server_saw_drop(a.sio, sid_of)
    assert redis_servers.raw.hset(redis_servers.prefix + "s:" + alice.pid, "data",
                                  SESSION_DATA[kind](mark)) == 0  # the field was there

    with caplog.at_level(logging.WARNING):
        await alice.reconnect(url=b.url)
        assert not mark.exists()
        assert alice.connected and not alice.recovered and alice.get_sid() != sid
        assert not b.sio.recovered(alice.get_sid())
        [warning] = chatlib_warnings(caplog)
        assert "cannot be restored" in warning and "session dict" in warning
        assert await alice.call("recall") is None  # a new session: nothing of the old one

        caplog.clear()  # a new session once: it drops and recovers as any other
        await alice.call("remember", "again")
        sid = alice.get_sid()
        await alice.drop()
        await server_saw_drop(b.sio, sid)
        await alice.reconnect(url=a.url)
        assert alice.recovered and alice.get_sid() == sid
        assert await alice.call("recall") == "again"

        # nothing else is lost: carol's session and bob's connection are as they were
        await carol.reconnect(url=b.url)
        assert carol.recovered and await carol.call("recall") == "carol's"
        await a.sio.emit("m", "after")
        assert await bob_inbox.wait_for(1) == ["after"] and bob.connected
        assert chatlib_warnings(caplog) == []


@pytest.mark.parametrize("field, value", [
    ("joined", b"{not json"), ("joined", b'{"someone else": 3}'), ("joined", b'["a"]'),
    ("shadow", b"\x80\x04"), ("shadow", b'{"k": "v"}'), ("start", b"start"),
    ("connected", b"maybe"), ("at", b"yesterday"), ("pid", b"another pid"), ("ns", None),
])
async def test_wrong_types_in_the_fields_of_a_kept_session_in_redis(redis_servers, clients, caplog,
                                                                   field, value):
    """Lua reads these fields: one that cannot be read makes the session unreadable, not an
    error in every script that meets it (which the servers would take for a Redis outage)."""
    a, b = await redis_servers(), await redis_servers()
    alice = await client_of(clients, a.url)
    carol = await client_of(clients, a.url)
    bob_inbox = Inbox()
    await client_of(clients, b.url, bob_inbox)
    await carol.call("remember", "carol's")
    sid = alice.get_sid()
    for dropped in (alice, carol):
        sid_of = dropped.get_sid()
        await dropped.drop()
        await server_saw_drop(a.sio, sid_of)
    key = redis_servers.prefix + "s:" + alice.pid
    if value is None:
        redis_servers.raw.hdel(key, field)  # a truncated session: a field missing
    else:
        redis_servers.raw.hset(key, field, value)

    with caplog.at_level(logging.WARNING):
        a.sio.store.expire()  # the sweep meets it too: no error, no outage
        await alice.reconnect(url=b.url)
        assert alice.connected and not alice.recovered and alice.get_sid() != sid
        [warning] = chatlib_warnings(caplog)
        assert "cannot be restored" in warning
        await carol.reconnect(url=b.url)
        assert carol.recovered and await carol.call("recall") == "carol's"
        await a.sio.emit("m", "after")
        assert await bob_inbox.wait_for(1) == ["after"]
        assert chatlib_warnings(caplog) == [warning]  # no outage was declared


def write_entry(raw, prefix, targets, attachments=b"", overrides=None):
    """Append one packet to the stream as append.lua does, straight into Redis; ``overrides``
    replaces fields (None: leaves the field out)."""
    seq = raw.incr(prefix + "seq")
    entry = {"ns": "/", "rooms": json.dumps(targets), "ex": "",
             "t": repr(time.time()),
             "pre": '51-["m",{"_placeholder":true,"num":0},', "suf": "]", "att": attachments}
    for name, value in (overrides or {}).items():
        if value is None:
            del entry[name]
        else:
            entry[name] = value
    raw.xadd(prefix + "stream", entry, id=f"{seq}-0")
    return seq


async def joined(clients, url, room, inbox=None, connects=None):
    client = await client_of(clients, url, inbox, connects, reconnection=True)
    await client.call("join", room)
    return client


@pytest.mark.parametrize("kind", ATTACHMENTS)
async def test_a_stream_entry_written_in_redis_is_skipped_and_its_clients_are_told(
        redis_servers, clients, caplog, tmp_path, kind):
    mark = tmp_path / "mark"
    a, b = await redis_servers(), await redis_servers()
    told = {name: [] for name in ("alice", "bob", "dave")}
    inboxes = {name: Inbox() for name in told}
    alice = await joined(clients, a.url, "kitchen", inboxes["alice"], told["alice"])
    bob = await joined(clients, b.url, "kitchen", inboxes["bob"], told["bob"])
    dave = await joined(clients, b.url, "garden", inboxes["dave"], told["dave"])
    carol = await client_of(clients, a.url)   # kept while the entry is written: she missed it
    await carol.call("join", "kitchen")
    carol_sid = carol.get_sid()
    await carol.drop()
    await server_saw_drop(a.sio, carol_sid)
    erin = await client_of(clients, a.url)    # kept too, but in no room the entry went to
    await erin.call("remember", "erin's")
    erin_sid = erin.get_sid()
    await erin.drop()
    await server_saw_drop(a.sio, erin_sid)
    await a.sio.emit("m", "before")
    for inbox in inboxes.values():
        await inbox.wait_for(1)

    with caplog.at_level(logging.WARNING):
        seq = write_entry(redis_servers.raw, redis_servers.prefix, ["kitchen"],
                          ATTACHMENTS[kind](mark))
        cut_off = lambda: told["alice"] == [False, False] and told["bob"] == [False, False]  # noqa: E731
        await eventually(lambda: cut_off() or mark.exists(), 10,
                         f"kitchen's clients cut off and told, got {told}")
        assert not mark.exists()
        assert cut_off()
        entry_warnings = chatlib_warnings(caplog)
        assert len(entry_warnings) == 2  # one per server that read it
        assert all(f"stream entry {seq}" in warning for warning in entry_warnings)
        assert told["dave"] == [False] and dave.connected  # the entry was not meant for him

        caplog.clear()
        await carol.reconnect(url=b.url)   # her restore meets the entry too
        assert not carol.recovered and carol.get_sid() != carol_sid
        [warning] = chatlib_warnings(caplog)
        assert f"stream entry {seq}" in warning and "cannot be restored" in warning
        caplog.clear()
        await erin.reconnect(url=b.url)
        assert erin.recovered and await erin.call("recall") == "erin's"

        await a.sio.emit("m", "after")
        for name, inbox in inboxes.items():
            await eventually(lambda inbox=inbox: "after" in inbox.items, 5, f"{name} live again")
            assert inbox.items == ["before", "after"]  # nothing twice, nothing of the entry
        assert chatlib_warnings(caplog) == []
    assert not mark.exists()
    for client in (alice, bob):
        assert client.connected and not client.recovered


@pytest.mark.parametrize("field, value", [
    ("ns", None), ("ns", b"\xff\xfe"), ("rooms", b"kitchen"), ("rooms", b'{"a": 1}'),
    ("rooms", None), ("ex", b"[1, 2]"), ("t", b"noon"), ("t", None), ("pre", b"\x80abc"),
    ("pre", b"2\x80abc"), ("pre", b"\xff\xfeabc"), ("suf", None), ("att", None),
])
async def test_truncated_entries_and_wrong_types_in_every_stream_field(
        redis_servers, clients, caplog, field, value):
    """An entry whose targets cannot be read may have been meant for anyone: every client of
    every server is told; the append and expiry scripts that meet it later do not fail."""
    a, b = await redis_servers(), await redis_servers()
    told = {name: [] for name in ("alice", "bob")}
    inboxes = {name: Inbox() for name in told}
    await joined(clients, a.url, "kitchen", inboxes["alice"], told["alice"])
    await joined(clients, b.url, "kitchen", inboxes["bob"], told["bob"])
    with caplog.at_level(logging.WARNING):
        write_entry(redis_servers.raw, redis_servers.prefix, ["kitchen"],
                    b'[{"$bytes": "AAE="}]', {field: value})
        await eventually(lambda: told["alice"] == [False, False] and told["bob"] == [False, False],
                         10, f"the clients cut off and told, got {told}")
        a.sio.store.expire()
        for n in range(3):
            await a.sio.emit("m", n)
        for inbox in inboxes.values():
            await inbox.wait_for(3)
            assert inbox.items == [0, 1, 2]
        assert len(chatlib_warnings(caplog)) == 2  # one per server; no outage


# -- SQLite --------------------------------------------------------------------------

class SQLiteServer:
    """A recovery server on a SQLite file, restarted on the same file as after a crash."""

    def __init__(self, path) -> None:
        self.path = str(path)
        self.running = None

    async def start(self):
        self.running = await start(app(chatlib.SQLiteStore(self.path)))
        return self.running

    async def stop(self):
        await self.running.sio.shutdown()
        await self.running.server.stop()
        self.running.sio.store.close()

    def write(self, sql, *params):
        with sqlite3.connect(self.path) as db:
            assert db.execute(sql, params).rowcount == 1


@pytest.fixture
async def sqlite_server(tmp_path):
    server = SQLiteServer(tmp_path / "recovery.db")
    yield server
    if server.running is not None:
        await server.stop()


@pytest.mark.parametrize("kind", SESSION_DATA)
async def test_a_kept_sessions_row_in_the_sqlite_file_is_never_run(sqlite_server, clients, caplog,
                                                                    tmp_path, kind):
    mark = tmp_path / "mark"
    first = await sqlite_server.start()
    alice, carol = await client_of(clients, first.url), await client_of(clients, first.url)
    await alice.call("remember", "alice's")
    await carol.call("remember", "carol's")
    sids = {name: client.get_sid() for name, client in (("alice", alice), ("carol", carol))}
    for client in (alice, carol):
        sid = client.get_sid()
        await client.drop()
        await server_saw_drop(first.sio, sid)
    await sqlite_server.stop()
    sqlite_server.write("UPDATE sessions SET data = ? WHERE sid = ?", SESSION_DATA[kind](mark),
                        sids["alice"])

    with caplog.at_level(logging.WARNING):
        again = await sqlite_server.start()
        assert not mark.exists()
        [warning] = chatlib_warnings(caplog)
        assert "cannot be read" in warning and "1 sessions are not recovered" in warning
        await alice.reconnect(url=again.url)
        assert not alice.recovered and alice.get_sid() != sids["alice"]
        assert await alice.call("recall") is None
        await carol.reconnect(url=again.url)
        assert carol.recovered and await carol.call("recall") == "carol's"
        assert chatlib_warnings(caplog) == [warning]
    await sqlite_server.stop()
    with caplog.at_level(logging.WARNING):
        caplog.clear()
        await sqlite_server.start()   # told once: the next start finds nothing to say
        assert chatlib_warnings(caplog) == []
    assert not mark.exists()


@pytest.mark.parametrize("column, value", [
    ("joined", "{not json"), ("joined", '[["kitchen", "one"]]'), ("shadow", 5),
    ("start", "start"), ("connected", 7), ("disconnected_at", "noon"), ("namespace", b"\x00"),
])
async def test_wrong_types_in_every_column_of_a_kept_session_row(sqlite_server, clients, caplog,
                                                                 column, value):
    first = await sqlite_server.start()
    alice, carol = await client_of(clients, first.url), await client_of(clients, first.url)
    await carol.call("remember", "carol's")
    sid = alice.get_sid()
    for client in (alice, carol):
        dropped = client.get_sid()
        await client.drop()
        await server_saw_drop(first.sio, dropped)
    await sqlite_server.stop()
    sqlite_server.write(f"UPDATE sessions SET {column} = ? WHERE sid = ?", value, sid)
    with caplog.at_level(logging.WARNING):
        again = await sqlite_server.start()
        [warning] = chatlib_warnings(caplog)
        await alice.reconnect(url=again.url)
        assert not alice.recovered and alice.get_sid() != sid
        await carol.reconnect(url=again.url)
        assert carol.recovered and await carol.call("recall") == "carol's"
        assert chatlib_warnings(caplog) == [warning]


BINARY_PACKETS = {
    "pickle": lambda mark: pickle.dumps(['51-["m",{"_placeholder":true,"num":0},"1"]', Mark(mark)]),
    "garbage": lambda mark: b"\x00\xff\xfe\x80garbage",
    "truncated": lambda mark: b'["451-[\\"m\\"',
    "wrong type": lambda mark: 42,
}


@pytest.mark.parametrize("kind", BINARY_PACKETS)
async def test_a_packet_row_in_the_sqlite_file_is_never_run_and_its_sessions_are_told(
        sqlite_server, clients, caplog, tmp_path, kind):
    mark = tmp_path / "mark"
    first = await sqlite_server.start()
    inboxes = {name: Inbox() for name in ("alice", "carol")}
    alice = await client_of(clients, first.url, inboxes["alice"])
    carol = await client_of(clients, first.url, inboxes["carol"])
    await alice.call("join", "kitchen")
    await carol.call("join", "garden")
    sids = {"alice": alice.get_sid(), "carol": carol.get_sid()}
    for client in (alice, carol):
        sid = client.get_sid()
        await client.drop()
        await server_saw_drop(first.sio, sid)
    await first.sio.emit("m", b"\x00\x01", to="kitchen")    # missed by alice
    await first.sio.emit("m", "for the garden", to="garden")  # missed by carol
    await sqlite_server.stop()
    sqlite_server.write("UPDATE packets SET payload = ? WHERE typeof(payload) = 'blob'",
                        BINARY_PACKETS[kind](mark))

    with caplog.at_level(logging.WARNING):
        again = await sqlite_server.start()
        assert not mark.exists()
        [warning] = chatlib_warnings(caplog)
        assert "1 packets" in warning and "1 sessions are not recovered" in warning
        await alice.reconnect(url=again.url)
        assert not alice.recovered and alice.get_sid() != sids["alice"]
        await carol.reconnect(url=again.url)
        assert carol.recovered and await inboxes["carol"].wait_for(1) == ["for the garden"]
        await again.sio.emit("m", "after")
        for inbox in inboxes.values():
            await eventually(lambda inbox=inbox: "after" in inbox.items, 5, "live again")
        assert inboxes["alice"].items == ["after"]  # nothing of the unreadable packet
        assert chatlib_warnings(caplog) == [warning]
        assert [row["offset"] for row in again.sio.store.packets()] == ["2", "3"]
