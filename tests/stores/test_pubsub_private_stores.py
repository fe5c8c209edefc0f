"""A pub/sub manager with a store that is not shared (memory, SQLite), on a real redis-server.

python-socketio's AsyncRedisManager carries emits between servers; each chatlib
server stores what reaches its own clients, so a client recovers on the server
that kept its session, with what every server sent meanwhile.
"""

import asyncio

import pytest
import redis.asyncio
import socketio

import chatlib
from tests.helpers import Inbox, server_saw_drop

WS = {"transports": ["websocket"]}


@pytest.fixture(params=["memory", "sqlite"])
def make_server(request, redis_server, redis_prefix, tmp_path):
    made = []

    def _make(stock: bool = False):
        manager = socketio.AsyncRedisManager(redis_server.url, channel=redis_prefix + "sio")
        if stock:
            sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
        else:
            store = None
            if request.param == "sqlite":
                store = chatlib.SQLiteStore(str(tmp_path / f"server{len(made)}.db"))
            sio = chatlib.RecoveryServer(async_mode="asgi", store=store, client_manager=manager)

        @sio.on("join")
        async def join(sid, room):
            await sio.enter_room(sid, room)

        made.append(sio)
        return sio

    return _make


@pytest.fixture
async def listening(redis_server, redis_prefix):
    """Wait until ``count`` servers listen on the channel.

    python-socketio's pub/sub managers subscribe in a background task started
    by a server's first connection; what is published before that is not heard.
    """
    client = redis.asyncio.Redis.from_url(redis_server.url)
    channel = redis_prefix + "sio"

    async def _wait(count: int) -> None:
        for _ in range(500):
            listeners = dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0)
            if listeners >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{listeners} of {count} servers listening on {channel}")

    yield _wait
    await client.aclose()


async def connect(clients, url, inbox, client_class=chatlib.RecoveryClient):
    client = clients(client_class(reconnection=False))
    client.on("m", inbox)
    await client.connect(url, **WS)
    return client


async def test_an_emit_on_one_server_reaches_the_clients_of_the_other(
        launch, clients, make_server, listening):
    a, b = await launch(make_server()), await launch(make_server())
    on_a, on_b = Inbox(), Inbox()
    await connect(clients, a.url, on_a)
    await connect(clients, b.url, on_b)
    await listening(2)
    await a.sio.emit("m", "from A")
    await b.sio.emit("m", "from B")
    # pub/sub orders each server's emits, not emits of two servers against each other
    assert sorted(await on_a.wait_for(2)) == sorted(await on_b.wait_for(2)) == ["from A", "from B"]


async def test_rooms_and_skip_sid_cross_servers(launch, clients, make_server, listening):
    a, b = await launch(make_server()), await launch(make_server())
    in_room, outside, skipped = Inbox(), Inbox(), Inbox()
    member = await connect(clients, b.url, in_room)
    await member.call("join", "kitchen")
    await connect(clients, b.url, outside)
    sender = await connect(clients, b.url, skipped)
    await connect(clients, a.url, Inbox())
    await listening(2)
    await a.sio.emit("m", "kitchen only", to="kitchen")
    await a.sio.emit("m", "all but one", skip_sid=sender.get_sid())
    assert await in_room.wait_for(2) == ["kitchen only", "all but one"]
    assert await outside.wait_for(1) == ["all but one"]
    assert skipped.items == []


async def test_a_client_recovers_on_its_server_with_what_the_other_server_sent(
        launch, clients, make_server, listening):
    a, b = await launch(make_server()), await launch(make_server())
    inbox = Inbox()
    alice = await connect(clients, b.url, inbox)
    sid = alice.get_sid()
    await alice.call("join", "kitchen")
    await connect(clients, a.url, Inbox())
    await listening(2)
    await a.sio.emit("m", "before")
    await inbox.wait_for(1)

    await alice.drop()
    await server_saw_drop(b.sio, sid)
    await a.sio.emit("m", "kitchen, from A", to="kitchen")
    await a.sio.emit("m", "garden, from A", to="garden")
    await alice.reconnect()

    assert alice.recovered and alice.get_sid() == sid
    assert await inbox.wait_for(2) == ["before", "kitchen, from A"]


async def test_a_stock_python_socketio_server_on_the_channel_still_gets_chatlib_emits(
        launch, clients, make_server, listening):
    chat, stock = await launch(make_server()), await launch(make_server(stock=True))
    on_stock, on_chat = Inbox(), Inbox()
    await connect(clients, stock.url, on_stock, socketio.AsyncClient)
    await connect(clients, chat.url, on_chat)
    await listening(2)
    await chat.sio.emit("m", "from chatlib")
    await stock.sio.emit("m", "from stock")
    assert sorted(await on_stock.wait_for(2)) == ["from chatlib", "from stock"]
    assert sorted(await on_chat.wait_for(2)) == ["from chatlib", "from stock"]
