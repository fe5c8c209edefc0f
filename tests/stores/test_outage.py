"""Store outages: redis-server killed and started again mid-broadcast; a SQLite file that
turns read-only. Live messages keep flowing, nothing raises into a handler, and what could
not be stored is never restored as if nothing was missed."""

import logging
import signal

import pytest
import socketio

import chatlib
from chatlib.core import RestoreFailure
from chatlib.stores.redis import RedisStore
from tests.helpers import Inbox, eventually, server_saw_drop
from tests.services import RedisServer

WS = {"transports": ["websocket"]}


def outage_warnings(caplog, logger):
    return [r.getMessage() for r in caplog.records
            if r.name == logger and r.levelno == logging.WARNING]


def chat_server(store, **kwargs):
    """The tutorial's pattern: a client's 'say' is broadcast by the handler."""
    sio = chatlib.RecoveryServer(async_mode="asgi", store=store,
                                 recovery=chatlib.Recovery(sweep_interval=0.1), **kwargs)

    @sio.on("say")
    async def say(sid, n):
        await sio.emit("m", n)

    return sio


async def connect(clients, url, inbox, connects=None):
    """A RecoveryClient; given ``connects``, it reconnects by itself and notes ``recovered``."""
    client = clients(chatlib.RecoveryClient(
        reconnection=connects is not None, reconnection_delay=0.05, reconnection_delay_max=0.2,
        randomization_factor=0))
    client.on("m", inbox)
    if connects is not None:
        client.on("connect", lambda: connects.append(client.recovered))
    await client.connect(url, **WS)
    return client


async def say_all(speaker, numbers, inboxes):
    for n in numbers:
        await speaker.emit("say", n)
    for inbox in inboxes:
        await eventually(lambda inbox=inbox: numbers[-1] in inbox.items, 10,
                         f"message {numbers[-1]}, got {inbox.items}")


def handler_errors(caplog):
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR and (r.name.startswith("chatlib")
                                               or "handler error" in r.getMessage())]


@pytest.mark.parametrize("keeps_data", [False, True], ids=["redis-loses-data", "redis-keeps-data"])
async def test_a_redis_restart_mid_broadcast_loses_nothing_silently(
        launch, clients, tmp_path, caplog, keeps_data):
    caplog.set_level(logging.INFO, logger="chatlib")
    caplog.set_level(logging.DEBUG, logger="chatlib.sio.server")
    redis_server = RedisServer(tmp_path if keeps_data else None)
    store = RedisStore(redis_server.url, prefix="outage:")
    try:
        running = await launch(chat_server(
            store, client_manager=socketio.AsyncRedisManager(redis_server.url, channel="outage")))
        on_alice, on_lee, on_bob = Inbox(), Inbox(), Inbox()
        connects = {"alice": [], "lee": []}
        alice = await connect(clients, running.url, on_alice, connects["alice"])  # speaks, stays
        lee = await connect(clients, running.url, on_lee, connects["lee"])        # listens, stays
        bob = await connect(clients, running.url, on_bob)       # drops before the outage
        await say_all(alice, list(range(10)), [on_alice, on_lee, on_bob])

        bob_sid = bob.get_sid()
        await bob.drop()
        await server_saw_drop(running.sio, bob_sid)
        redis_server.kill()
        await say_all(alice, list(range(10, 20)), [on_alice, on_lee])  # live, not stored
        assert not running.sio.store.packets()                           # nothing can be read
        redis_server.start()
        await eventually(lambda: store.expire() >= 0 and store._outage_since is None, 10,
                         "the store to find Redis again")
        # A Redis that lost its data lost what was stored and not yet read too: the server
        # cuts its clients off once, and they reconnect unrecovered (told).
        cut = [False] if keeps_data else [False, False]
        await eventually(lambda: all(seen == cut and client.connected
                                     for seen, client in ((connects["alice"], alice),
                                                          (connects["lee"], lee))),
                         10, f"connections {cut}, got {connects}")
        await say_all(alice, list(range(20, 30)), [on_alice, on_lee])
        assert [row["args"] for row in store.packets()][-1] == [29]      # stored again

        await bob.reconnect()
        assert not bob.recovered  # it missed 10..19, which were never stored
        # a Redis that kept its data knows of the gap; one that lost it, of no session
        why = RestoreFailure.PACKETS_LOST if keeps_data else RestoreFailure.UNKNOWN_PID
        assert why.value in [r.getMessage() for r in caplog.records
                             if r.name == "chatlib.sio.server"][-1]
        lee_sid = lee.get_sid()
        await lee.drop()
        await server_saw_drop(running.sio, lee_sid)
        await alice.emit("say", 30)
        await eventually(lambda: 30 in on_alice.items and 30 in on_bob.items, 10, "message 30")
        await lee.reconnect()
        assert lee.recovered      # registered again after the outage: a normal recovery
        await eventually(lambda: 30 in on_lee.items, 10, "message 30 replayed to lee")
    finally:
        store.close()
        redis_server.stop()
    assert on_alice.items == on_lee.items == list(range(31))
    assert on_bob.items == [*range(10), 30]  # 30 live, after its new start
    assert not handler_errors(caplog), handler_errors(caplog)
    warnings = outage_warnings(caplog, "chatlib.stores.redis")
    # one WARNING per outage; its end is news (a second one) only if Redis lost its data
    assert [w for w in warnings if "unreachable" in w] == warnings[:1], warnings
    assert len(warnings) == (1 if keeps_data else 2), warnings
    assert len([r for r in caplog.records if "is back" in r.getMessage()]) == 1


async def test_clients_of_another_server_that_missed_unstored_packets_are_told(
        launch, clients, tmp_path, caplog):
    """During the outage A's packets reach only A's clients. When Redis is back, A writes a
    gap; B cuts off its clients that the gap was meant for, and they reconnect unrecovered."""
    redis_server = RedisServer(tmp_path)
    stores = [RedisStore(redis_server.url, prefix="gap:") for _ in range(2)]
    try:
        a, b = [await launch(chat_server(store, client_manager=socketio.AsyncRedisManager(
            redis_server.url, channel="gap"))) for store in stores]
        on_alice, on_bea = Inbox(), Inbox()
        alice = await connect(clients, a.url, on_alice)
        bea = clients(chatlib.RecoveryClient(reconnection_delay=0.05, reconnection_delay_max=0.2,
                                             randomization_factor=0))
        bea.on("m", on_bea)
        recovered = []
        bea.on("connect", lambda: recovered.append(bea.recovered))
        await bea.connect(b.url, **WS)
        await say_all(alice, list(range(5)), [on_alice, on_bea])

        redis_server.kill()
        await say_all(alice, list(range(5, 10)), [on_alice])
        redis_server.start()
        await eventually(lambda: len(recovered) == 2, 15, "bea to be cut off and reconnect")
        await say_all(alice, list(range(10, 15)), [on_alice, on_bea])
    finally:
        for store in stores:
            store.close()
        redis_server.stop()
    assert recovered == [False, False]  # told: the reconnection after the gap is not recovered
    assert on_alice.items == list(range(15))
    assert on_bea.items == list(range(5)) + list(range(10, 15))
    assert not handler_errors(caplog), handler_errors(caplog)


async def test_a_server_goes_on_serving_while_redis_does_not_answer(launch, clients):
    """Redis frozen (SIGSTOP) for less than a call's timeout while a handler emits: the
    server answers another client meanwhile (the emit waits for Redis off the event loop),
    and once Redis answers the packet is stored: it comes with an offset, not "unstored"."""
    redis_server = RedisServer()
    store = RedisStore(redis_server.url, prefix="frozen:")
    try:
        # the expiry sweep makes synchronous calls: keep it out of this test's few seconds
        sio = chatlib.RecoveryServer(async_mode="asgi", store=store,
                                     recovery=chatlib.Recovery(sweep_interval=60))

        @sio.on("say")
        async def say(sid, n):
            await sio.emit("m", n)

        @sio.on("ping")
        async def ping(sid):
            return "pong"

        running = await launch(sio)
        on_alice, on_bob = Inbox(), Inbox()
        alice = await connect(clients, running.url, on_alice)
        bob = await connect(clients, running.url, on_bob)
        await say_all(alice, [0], [on_alice, on_bob])
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            await alice.emit("say", 1)
            assert await bob.call("ping", timeout=0.5) == "pong"
            assert 1 not in on_bob.items  # delivered from the store's feed: not yet
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        await eventually(lambda: 1 in on_bob.items, 5, "message 1 once Redis answers")
        assert bob.last_offset.isdigit(), bob.last_offset
        assert [row["args"] for row in store.packets()] == [[0], [1]]
    finally:
        store.close()
        redis_server.stop()
    assert on_alice.items == on_bob.items == [0, 1]


# -- SQLite: the file stops taking writes ------------------------------------------------
#
# The tests run as any user, root included, for whom file modes mean nothing; SQLite's own
# switches give the very errors a read-only file (SQLITE_READONLY) and a full disk
# (SQLITE_FULL) give.

def make_read_only(store):
    store._db.execute("PRAGMA query_only = ON")


def make_full(store):
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def make_writable(store):
    store._db.execute("PRAGMA query_only = OFF")
    store._db.execute("PRAGMA max_page_count = 1073741823")


async def test_a_sqlite_file_that_turns_read_only_loses_nothing(launch, clients, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="chatlib")
    path = str(tmp_path / "recovery.db")
    store = chatlib.SQLiteStore(path)
    running = await launch(chat_server(store))
    on_alice, on_bob, on_carol = Inbox(), Inbox(), Inbox()
    alice = await connect(clients, running.url, on_alice)
    bob = await connect(clients, running.url, on_bob)
    carol = await connect(clients, running.url, on_carol)
    await say_all(alice, list(range(5)), [on_alice, on_bob, on_carol])

    make_read_only(store)
    bob_sid = bob.get_sid()
    await bob.drop()
    await server_saw_drop(running.sio, bob_sid)
    await say_all(alice, list(range(5, 10)), [on_alice, on_carol])  # live while unwritable
    await bob.reconnect()
    assert bob.recovered                                           # from memory
    await eventually(lambda: on_bob.items == list(range(10)), 5, "bob's replay")
    carol_sid = carol.get_sid()
    await carol.drop()                                             # kept during the outage
    await server_saw_drop(running.sio, carol_sid)
    await say_all(alice, list(range(10, 15)), [on_alice, on_bob])
    make_writable(store)
    await eventually(lambda: "takes writes again" in caplog.text, 10, "the file to be written")
    await alice.emit("say", 15)
    await eventually(lambda: 15 in on_bob.items, 5, "message 15")

    restarted = chatlib.SQLiteStore(path)    # what a restart would find now
    try:
        restored = restarted.restore("/", carol.pid, carol.last_offset)
        assert [running.sio._describe_payload(p)[1] for p in restored.missed] == \
            [[n] for n in range(10, 16)]
    finally:
        restarted.close()
    assert on_alice.items == list(range(16))
    assert not handler_errors(caplog), handler_errors(caplog)
    warnings = outage_warnings(caplog, "chatlib.stores.sqlite")
    assert len(warnings) == 1 and "cannot be written" in warnings[0], warnings


def test_a_server_killed_while_its_disk_is_full_restores_nothing_it_could_not_write(tmp_path, caplog):
    path = str(tmp_path / "recovery.db")
    store = chatlib.SQLiteStore(path)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    seen, _ = store.append("/", None, None, lambda o: f"seen@{o}")
    store.keep("/", "alice", {})
    make_full(store)
    given_out = [store.append("/", None, None, lambda o, n=n: f"x{n}@{o}")[0] for n in range(300)]
    assert isinstance(store.restore("/", "pid-a", seen), chatlib.Restored)  # memory has it all
    store.keep("/", "alice", {})
    store.keep("/", "bob", {})
    # SIGKILL now: the file never took the 300 packets. A new store on it is the restart.
    restarted = chatlib.SQLiteStore(path)
    try:
        assert restarted.restore("/", "pid-a", seen) is RestoreFailure.UNKNOWN_PID
        assert restarted.restore("/", "pid-b", given_out[-1]) is RestoreFailure.UNKNOWN_PID
        offset, _ = restarted.append("/", None, None, lambda o: f"new@{o}")
        assert int(offset) > int(given_out[-1])  # offsets never repeat
    finally:
        restarted.close()
        store.close()
    assert "misses packets up to offset" in caplog.text
