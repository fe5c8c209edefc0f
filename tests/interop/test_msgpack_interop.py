"""chatlib with ``serializer="msgpack"`` against the official JS client with socket.io-msgpack-parser.

The same recovery story as ``test_interop.py``, on every store: the JS client
drops, the server broadcasts while it is away, the client comes back with the
same id, ``recovered``, and every missed event once and in order; a burst
before the drop goes the fast path (straight onto the WebSocket, binary frames).
"""

from __future__ import annotations

import pytest
import socketio

import chatlib
from chatlib.stores.redis import RedisStore
from tests.helpers import eventually

pytestmark = pytest.mark.interop

WAIT = 10.0
TRANSPORTS = [pytest.param({"transports": ["websocket"]}, id="websocket"),
              pytest.param({}, id="polling-then-websocket")]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return chatlib.SQLiteStore(str(tmp_path / "recovery.db"))
    server = request.getfixturevalue("redis_server")
    return RedisStore(server.url, prefix=request.getfixturevalue("redis_prefix"))


def events(node) -> list:
    """Each event's arguments as the JS handler got them, offset (the last, a string) left out."""
    return [message["args"][:-1] for message in node.find(type="event")]


@pytest.mark.parametrize("io_options", TRANSPORTS)
async def test_js_client_with_the_msgpack_parser_recovers_on_every_store(launch, node_client, store,
                                                                         io_options):
    pubsub = isinstance(store, RedisStore)
    manager = {"client_manager": socketio.AsyncRedisManager(store.url)} if pubsub else {}
    sio = chatlib.RecoveryServer(async_mode="asgi", serializer="msgpack", store=store, **manager)
    drops = []

    @sio.event
    async def disconnect(sid, reason):
        drops.append(sid)

    @sio.on("burst")
    async def burst(sid, count):
        for i in range(count):
            await sio.emit("m", {"i": i, "text": "más"})

    running = await launch(sio)
    node = await node_client(running.url, "msgpack client", parser="msgpack", **io_options)
    connected = await node.expect(type="connect")
    sid = connected["id"]
    assert connected["recovered"] is False

    await node.request("emit", event="burst", args=[100])
    burst_events = [[{"i": i, "text": "más"}] for i in range(100)]
    await eventually(lambda: len(events(node)) >= 100, WAIT, "the burst")
    assert events(node) == burst_events

    await node.request("drop")
    await eventually(lambda: sid in drops, WAIT, "the server to see the drop")
    await sio.emit("m", "missed 1")
    await sio.emit("m", ["missed", 2], to=sid)
    back = await node.request("reconnect")

    assert back["recovered"] is True and back["id"] == sid and sio.recovered(sid)
    await eventually(lambda: len(events(node)) >= 102, WAIT, "the missed events")
    assert events(node)[100:] == [["missed 1"], [["missed", 2]]]
    await sio.emit("m", "live again")
    await eventually(lambda: len(events(node)) >= 103, WAIT, "a live event")
    assert events(node) == [*burst_events, ["missed 1"], [["missed", 2]], ["live again"]]
