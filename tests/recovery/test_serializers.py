"""Recovery with every serializer python-socketio offers: msgpack, and a ``json=`` module of the user's.

With ``serializer="msgpack"`` a packet is bytes, not text: it is stored as
bytes, written as a binary WebSocket frame (the direct path included) and
replayed as such, on every store. A ``json=`` module is used for every packet,
stored and replayed ones included.
"""

import json as std_json
import types

import pytest
import socketio

import chatlib
from chatlib.stores.redis import RedisStore
from tests.helpers import Inbox, server_saw_drop

WS = {"transports": ["websocket"]}

# a user's JSON module: UTF-8 on the wire, as the JS server sends it
utf8_json = types.SimpleNamespace(
    dumps=lambda obj, **kwargs: std_json.dumps(obj, ensure_ascii=False, **kwargs),
    loads=std_json.loads, JSONDecodeError=std_json.JSONDecodeError)

SERIALIZERS = {"msgpack": {"serializer": "msgpack"}, "json module": {"json": utf8_json}}


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request, tmp_path):
    def make():
        if request.param == "memory":
            return None
        if request.param == "sqlite":
            return chatlib.SQLiteStore(str(tmp_path / "recovery.db"))
        server = request.getfixturevalue("redis_server")
        return RedisStore(server.url, prefix=request.getfixturevalue("redis_prefix"))
    return make


@pytest.fixture(params=sorted(SERIALIZERS))
def serializer(request):
    options = SERIALIZERS[request.param]
    yield options
    if "json" in options:
        # python-socketio sets a json= module on its packet class, for every server after it
        socketio.packet.Packet.json = std_json


def recovery_server(store, options):
    pubsub = isinstance(store, RedisStore)
    kwargs = {"client_manager": socketio.AsyncRedisManager(store.url)} if pubsub else {}
    sio = chatlib.RecoveryServer(async_mode="asgi", store=store, **options, **kwargs)

    @sio.on("burst")
    async def burst(sid, count):
        for i in range(count):
            await sio.emit("m", {"i": i, "text": "más", "bytes": b"\x00\xff"})

    return sio


async def test_a_dropped_client_gets_what_it_missed_with_every_serializer_and_store(
        launch, clients, make_store, serializer):
    sio = recovery_server(make_store(), serializer)
    running = await launch(sio)
    inboxes = [Inbox(), Inbox()]
    alice, bob = [clients(chatlib.RecoveryClient(reconnection=False, **serializer)) for _ in inboxes]
    for client, inbox in zip([alice, bob], inboxes, strict=True):
        client.on("m", inbox)
    await alice.connect(running.url, **WS)
    await bob.connect(running.url)  # long-polling, then upgraded: engineio's queue
    sid = alice.get_sid()

    await bob.emit("burst", 50)  # a broadcast: straight onto alice's WebSocket
    expected = [{"i": i, "text": "más", "bytes": b"\x00\xff"} for i in range(50)]
    for inbox in inboxes:
        assert await inbox.wait_for(50, timeout=10) == expected

    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", ("missed", b"\x01"))
    await sio.emit("m", {"missed": "ñ"}, to=sid)
    await alice.reconnect()

    assert alice.recovered and alice.get_sid() == sid and sio.recovered(sid)
    assert (await inboxes[0].wait_for(52, timeout=10))[50:] == [("missed", b"\x01"), {"missed": "ñ"}]
    await bob.emit("burst", 3)
    assert (await inboxes[0].wait_for(55, timeout=10))[52:] == expected[:3]
    assert (await inboxes[1].wait_for(54, timeout=10))[50:] == [("missed", b"\x01"), *expected[:3]]
