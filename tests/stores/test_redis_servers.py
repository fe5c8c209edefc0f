"""Two recovery servers share one RedisStore: a client that drops from A recovers on B."""

import pytest
import socketio

import chatlib
from chatlib.stores.redis import RedisStore
from tests.helpers import Inbox, eventually, server_saw_drop

WS = {"transports": ["websocket"]}


@pytest.fixture
def make_server(redis_server, redis_prefix):
    stores = []

    def _make():
        store = RedisStore(redis_server.url, prefix=redis_prefix)
        stores.append(store)
        sio = chatlib.RecoveryServer(
            async_mode="asgi", store=store, recovery=chatlib.Recovery(sweep_interval=0.2),
            client_manager=socketio.AsyncRedisManager(redis_server.url, channel=redis_prefix + "sio"))

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

    yield _make
    for store in stores:
        store.close()


async def connect(clients, url, inbox):
    client = clients(chatlib.RecoveryClient(reconnection=False))
    client.on("m", inbox)
    await client.connect(url, **WS)
    return client


async def test_every_server_delivers_every_broadcast_once(launch, clients, make_server):
    a, b = await launch(make_server()), await launch(make_server())
    on_a, on_b = Inbox(), Inbox()
    await connect(clients, a.url, on_a)
    await connect(clients, b.url, on_b)
    await a.sio.emit("m", "from A")
    await a.sio.wait_stored()  # an emit returns once queued: this orders A's before B's
    await b.sio.emit("m", "from B")
    await on_a.wait_for(2)
    await on_b.wait_for(2)
    assert on_a.items == on_b.items == ["from A", "from B"]


async def test_a_client_that_drops_from_a_recovers_on_b_with_what_both_sent(launch, clients, make_server):
    a, b = await launch(make_server()), await launch(make_server())
    inbox = Inbox()
    alice = await connect(clients, a.url, inbox)
    sid = alice.get_sid()
    await alice.call("join", "kitchen")
    await alice.call("remember", "kept in redis")
    await a.sio.emit("m", "seen")
    await inbox.wait_for(1)

    await alice.drop()
    await server_saw_drop(a.sio, sid)
    await a.sio.emit("m", "from A")
    await b.sio.emit("m", "kitchen, from B", to="kitchen")
    await b.sio.emit("m", "garden, from B", to="garden")
    await alice.reconnect(url=b.url)

    assert alice.recovered and alice.get_sid() == sid and b.sio.recovered(sid)
    await inbox.wait_for(3)
    assert await alice.call("recall") == "kept in redis"
    await a.sio.emit("m", "live, from A", to="kitchen")
    await inbox.wait_for(4)
    assert inbox.items == ["seen", "from A", "kitchen, from B", "live, from A"]


async def test_a_live_session_on_one_server_cannot_be_taken_over_from_another(launch, clients, make_server):
    a, b = await launch(make_server()), await launch(make_server())
    alice = await connect(clients, a.url, Inbox())
    thief = clients(socketio.AsyncClient(reconnection=False))
    await thief.connect(b.url, auth={"pid": alice.pid}, wait_timeout=10, **WS)
    assert thief.get_sid() != alice.get_sid() and not b.sio.recovered(thief.get_sid())


async def test_the_sessions_of_a_server_that_went_silent_recover_elsewhere(launch, clients, make_server):
    a, b = await launch(make_server()), await launch(make_server())
    inbox = Inbox()
    alice = await connect(clients, a.url, inbox)
    sid = alice.get_sid()
    a.sio.store.dead_after = b.sio.store.dead_after = 0.5
    await a.sio.shutdown()  # A stops its heartbeat and its feed: as if it hung
    await b.sio.emit("m", "while A is silent")
    await connect(clients, b.url, Inbox())  # B has clients of its own, so its sweep runs
    await eventually(lambda: not [row for row in b.sio.store.sessions() if row["connected"]
                                  and row["sid"] == sid], 5, "B to see A's sessions as dropped")
    alice_again = clients(chatlib.RecoveryClient(reconnection=False))
    alice_again.on("m", inbox)
    alice_again._states = alice._states  # the same client, as if its connection to A broke
    await alice_again.connect(b.url, **WS)
    assert alice_again.recovered and alice_again.get_sid() == sid
    assert await inbox.wait_for(1) == ["while A is silent"]


async def test_a_server_that_fell_behind_the_trim_tells_its_clients(launch, clients, redis_server,
                                                                    redis_prefix):
    """Another server stores more packets than ``max_buffered_packets`` before this one reads
    any (here: with this server's loop held): the oldest are trimmed unread. Its client is not
    left with a silent gap: it is cut off, and reconnects told (``recovered`` false); what it
    got before has no hole."""
    recovery = chatlib.Recovery(max_buffered_packets=10)
    store = RedisStore(redis_server.url, recovery=recovery, prefix=redis_prefix)
    other = RedisStore(redis_server.url, recovery=recovery, prefix=redis_prefix)  # "server B"
    try:
        running = await launch(chatlib.RecoveryServer(async_mode="asgi", store=store,
                                                      recovery=recovery))
        inbox, connects = Inbox(), []
        client = clients(chatlib.RecoveryClient(reconnection_delay=0.05, reconnection_delay_max=0.2,
                                                randomization_factor=0))
        client.on("m", inbox)
        client.on("connect", lambda: connects.append(client.recovered))
        await client.connect(running.url, **WS)
        packet = running.sio.packet_class
        for n in range(30):  # no await: this server's feed cannot read in between
            other.append("/", None, None, lambda offset, n=n: packet(
                2, namespace="/", data=["m", n, offset]).encode())
        await eventually(lambda: connects == [False, False], 10,
                         f"the client cut off and told, got {connects}")
        before = list(inbox.items)
        assert before == list(range(len(before)))  # no hole in what it got before it was told
        other.append("/", None, None, lambda offset: packet(
            2, namespace="/", data=["m", 30, offset]).encode())
        await inbox.wait_for(len(before) + 1)
        assert inbox.items == [*before, 30]  # live again in its new session
    finally:
        other.close()
        store.close()


async def test_a_burst_larger_than_the_buffer_reaches_every_client_of_the_emitting_server(
        launch, clients, redis_server, redis_prefix):
    """One handler emits 20 times the buffer to 40 clients: each batch is a small part of the
    buffer and the server stores no faster than its own feed writes, so nothing is trimmed
    unread and nobody is cut off (with 500-packet batches every client was cut off at once)."""
    recovery = chatlib.Recovery(max_buffered_packets=200)
    store = RedisStore(redis_server.url, recovery=recovery, prefix=redis_prefix)
    try:
        sio = chatlib.RecoveryServer(async_mode="asgi", store=store, recovery=recovery)

        @sio.on("burst")
        async def burst(sid, count):
            for n in range(count):
                await sio.emit("m", n)

        running = await launch(sio)
        inboxes, listeners = [], []
        for _ in range(40):
            inbox = Inbox()
            listener = clients(chatlib.RecoveryClient(reconnection=False))
            listener.on("m", inbox)
            await listener.connect(running.url, **WS)
            inboxes.append(inbox)
            listeners.append(listener)
        await listeners[0].emit("burst", 4000)
        for inbox in inboxes:
            await inbox.wait_for(4000, timeout=60)
        assert all(inbox.items == list(range(4000)) for inbox in inboxes)
        assert all(listener.connected for listener in listeners)  # none was cut off
    finally:
        store.close()
