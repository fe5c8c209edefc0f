"""socket.io-client 4.8.4 with the tutorial's step-8 options against chatlib's step-7 server.

The Node client is configured as the tutorial's step 8 page is (``auth: {serverOffset}``,
``ackTimeout``, ``retries``) and keeps ``serverOffset`` up to date as the page does. A
user sees: each message arrives with its id; after a server restart (recovery state in
memory) the client is not recovered and the catch-up brings exactly what it missed;
a message sent twice with one client offset is acknowledged twice and stored once.
"""

from __future__ import annotations

import pytest

import chatlib
from tests.chat.test_step7 import ChatServer
from tests.helpers import eventually

pytestmark = pytest.mark.interop

WAIT = 10.0
STEP8_OPTIONS = {"transports": ["websocket"], "auth": {"serverOffset": 0},
                 "ackTimeout": 2000, "retries": 3}


def chat_messages(node) -> list[tuple]:
    """(message, id) of every 'chat message' the Node client got, without the recovery offset."""
    return [tuple(m["args"][:2]) for m in node.find(type="event", event="chat message")]


async def track_server_offset(node, count: int) -> None:
    """Wait for ``count`` messages, then do what the page's handler does: keep the last id."""
    await eventually(lambda: len(chat_messages(node)) >= count, WAIT, f"{count} chat messages")
    await node.request("set-auth", auth={"serverOffset": chat_messages(node)[-1][1]})


@pytest.fixture
async def step7_server(tmp_path):
    server = ChatServer(str(tmp_path / "chat.db"), max_disconnection_duration=30)
    await server.start()
    yield server
    if server.running.running:
        await server.stop()


async def post(url: str, text: str) -> None:
    sender = chatlib.RecoveryClient(reconnection=False)
    await sender.connect(url, transports=["websocket"])
    await sender.call("chat message", text)
    await sender.disconnect()


async def test_js_client_is_caught_up_after_a_restart(step7_server, node_client):
    node = await node_client(step7_server.url, **STEP8_OPTIONS)
    await node.expect(type="connect")
    await post(step7_server.url, "hello")
    await track_server_offset(node, 1)
    assert chat_messages(node) == [("hello", 1)]

    await node.request("drop")
    await step7_server.restart()
    await post(step7_server.url, "while away")
    back = await node.request("reconnect", timeout=WAIT)

    assert back["recovered"] is False
    await eventually(lambda: len(chat_messages(node)) >= 2, WAIT, "the catch-up")
    assert chat_messages(node) == [("hello", 1), ("while away", 2)]
    assert [(offset, ids) for _, offset, ids in step7_server.io.catch_ups][-1] == (1, [2])


async def test_js_client_offset_twice_is_acked_twice_and_stored_once(step7_server, node_client):
    node = await node_client(step7_server.url, **STEP8_OPTIONS)
    await node.expect(type="connect")

    for _ in range(2):
        done = await node.request("emit-with-ack", event="chat message", args=["hi", "js-0"],
                                  timeout=WAIT)
        assert "error" not in done
    await node.request("emit-with-ack", event="chat message", args=["next", "js-1"], timeout=WAIT)

    assert await step7_server.history.since(0) == [(1, "hi"), (2, "next")]
    await eventually(lambda: len(chat_messages(node)) >= 2, WAIT, "two broadcasts")
    assert chat_messages(node) == [("hi", 1), ("next", 2)]
