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
