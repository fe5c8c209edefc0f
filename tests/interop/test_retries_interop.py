"""Retries against the official Socket.IO JS 4.8: the JS client's ``retries``/``ackTimeout``.

RecoveryClient(retries=N, ack_timeout=s) against the socket.io server, which
acknowledges each event with "got <text>" unless an ack plan (server.js) makes
it withhold an ack or send it late; and the socket.io-client with the same
options against chatlib's RecoveryServer. A user sees the same on both sides:
a packet sent again until acknowledged, twice on the server when an ack was
late, reported when never acknowledged, and emits made while disconnected
sent in order after the recovery.
"""

from __future__ import annotations

import asyncio

import pytest

import chatlib
from tests.helpers import eventually

pytestmark = pytest.mark.interop

WAIT = 10.0
ACK_TIMEOUT = 0.3
EVENT = "note"


async def receipts(node, count: int, event: str = EVENT) -> list[tuple]:
    """(first argument, how the server answered it) of each receipt of ``event``, in order,
    once the server has reported ``count`` of them (its reports may trail its acks)."""
    def found() -> list[tuple]:
        return [(m["args"][0], m["acked"]) for m in node.find(type="event", event=event)]

    await eventually(lambda: len(found()) >= count, WAIT, f"{count} receipts of {event!r}")
    return found()


@pytest.fixture
async def retrying_client():
    made: list[chatlib.RecoveryClient] = []

    async def connect(url: str, retries: int = 2) -> chatlib.RecoveryClient:
        client = chatlib.RecoveryClient(reconnection=False, retries=retries,
                                        ack_timeout=ACK_TIMEOUT)
        made.append(client)
        await client.connect(url, transports=["websocket"])
        return client

    yield connect
    for client in made:
        await client.shutdown()


async def test_python_client_sends_again_until_the_js_server_acks(node_server, retrying_client):
    client = await retrying_client(node_server.url)
    await node_server.request("ack-plan", event=EVENT, withhold=1)

    assert await client.call(EVENT, "hello") == "got hello"
    assert await receipts(node_server, 2) == [("hello", False), ("hello", True)]


async def test_a_late_js_ack_means_the_js_server_got_it_twice(node_server, retrying_client):
    client = await retrying_client(node_server.url)
    await node_server.request("ack-plan", event=EVENT, late=1, late_ms=int(3000 * ACK_TIMEOUT))

    assert await client.call(EVENT, "hello") == "got hello"
    assert await receipts(node_server, 2) == [("hello", "late"), ("hello", True)]


async def test_a_packet_the_js_server_never_acks_is_reported(node_server, retrying_client):
    client = await retrying_client(node_server.url, retries=2)
    await node_server.request("ack-plan", event=EVENT, withhold=99)

    lost = await client.emit(EVENT, "lost")
    after = await client.emit("other", "after")
    with pytest.raises(chatlib.DeliveryError) as failure:
        await lost
    assert failure.value.tries == 3
    assert await after == "got after"
    assert await receipts(node_server, 3) == [("lost", False)] * 3
    assert await receipts(node_server, 1, "other") == [("after", True)]


async def test_emits_made_while_away_reach_the_js_server_in_order(node_server, retrying_client):
    client = await retrying_client(node_server.url)
    sid = client.get_sid()
    client.on("chat message", lambda text: None)
    # the JS server recovers only a client that has an offset (socket.io#5538)
    await node_server.request("emit", event="chat message", args=["before"])
    await eventually(lambda: client.last_offset is not None, WAIT, "an offset")
    await client.drop()
    await node_server.expect(type="disconnect", id=sid)

    outcomes = [await client.emit(EVENT, text) for text in ("x", "y", "z")]
    await client.reconnect()

    assert client.recovered and client.get_sid() == sid
    assert await asyncio.gather(*outcomes) == ["got x", "got y", "got z"]
    assert await receipts(node_server, 3) == [("x", True), ("y", True), ("z", True)]


async def test_js_client_retries_against_chatlib_server(launch, node_client):
    sio = chatlib.RecoveryServer(async_mode="asgi")
    received: list[str] = []
    never = asyncio.Event()

    @sio.on(EVENT)
    async def note(sid, text):
        received.append(text)
        if text == "lost" or received.count(text) == 1:
            await never.wait()  # no ack for this receipt
        return f"got {text}"

    running = await launch(sio)
    node = await node_client(running.url, transports=["websocket"], retries=2,
                             ackTimeout=int(1000 * ACK_TIMEOUT))
    await node.expect(type="connect")
    try:
        done = await node.request("emit-with-ack", event=EVENT, args=["hello"], timeout=WAIT)
        assert done["ack"] == "got hello"
        assert received == ["hello", "hello"]

        done = await node.request("emit-with-ack", event=EVENT, args=["lost"], timeout=WAIT)
        assert done["error"] == "operation has timed out"
        await eventually(lambda: received.count("lost") == 3, WAIT, "three tries of 'lost'")
    finally:
        never.set()
