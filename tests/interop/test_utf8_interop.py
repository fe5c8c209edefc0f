"""Accented text on the wire: UTF-8, as the official Socket.IO JS server and client write it.

A reader of the wire (a person, or the lesson's wire view) sees ``"¿qué más?"``,
not ``"\\u00bfqu\\u00e9 m\\u00e1s?"``, and the frame is smaller. Both JS and
chatlib still decode what the other writes, over every transport.
"""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect as websocket_connect

import chatlib
from tests.helpers import eventually
from tests.interop.test_interop import TRANSPORTS, texts

pytestmark = pytest.mark.interop

WAIT = 10.0
EVENT = "chat message"
ACCENTED = "¿qué más? conexión, después, niño 😀"


async def first_event_frame(url: str, emit) -> str:
    """Connect a bare WebSocket to ``url``, have the server ``emit()``, return the EVENT frame."""
    address = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    # websockets' asyncio client (13.0+; its legacy client, the default before 14, has no decode=)
    async with websocket_connect(address, open_timeout=WAIT) as ws:
        assert (await ws.recv()).startswith("0")         # Engine.IO OPEN
        await ws.send("40")                              # Socket.IO CONNECT to "/"
        assert (await ws.recv()).startswith("40")        # the CONNECT reply
        await emit()
        while True:
            frame = await ws.recv(decode=True)
            if frame == "2":                             # a ping before the event
                await ws.send("3")
            elif frame.startswith("42"):
                return frame


def escaped(frame: str) -> str:
    """The same EVENT frame with python-socketio's default JSON: non-ASCII as \\u escapes."""
    return "42" + json.dumps(json.loads(frame[2:]), separators=(",", ":"))


@pytest.fixture
async def recovery_client(clients):
    """A factory: ``await recovery_client(url)`` is a connected RecoveryClient and what it got."""
    async def connect(url: str) -> tuple[chatlib.RecoveryClient, list]:
        client = clients(chatlib.RecoveryClient())
        got: list = []
        client.on(EVENT, lambda *args: got.append(args[0]))
        await client.connect(url)
        return client, got

    return connect


@pytest.fixture
async def chatlib_server(launch):
    sio = chatlib.RecoveryServer(async_mode="asgi")
    received: list = []
    seen: list = []
    sio.add_packet_observer(lambda packet: seen.append(packet))

    @sio.on(EVENT)
    async def on_message(sid, *args):
        received.append(args)

    running = await launch(sio)
    return sio, running.url, received, seen


async def test_chatlib_server_writes_accents_as_the_js_server_does(chatlib_server, node_server):
    sio, url, _, _ = chatlib_server
    ours = await first_event_frame(url, lambda: sio.emit(EVENT, ACCENTED))
    theirs = await first_event_frame(
        node_server.url, lambda: node_server.request("emit", event=EVENT, args=[ACCENTED]))

    for frame in (theirs, ours):
        assert frame.startswith(f'42["{EVENT}","{ACCENTED}",'), frame
    assert "\\u" not in ours
    assert len(ours.encode()) < len(escaped(ours).encode())


async def test_chatlib_server_keeps_a_lone_surrogate_escaped(chatlib_server, recovery_client):
    sio, url, _, _ = chatlib_server
    broken = "half \ud83d of an emoji"
    frame = await first_event_frame(url, lambda: sio.emit(EVENT, broken))
    assert "\\ud83d" in frame
    frame.encode()  # a frame UTF-8 can carry

    _, got = await recovery_client(url)
    await sio.emit(EVENT, broken)
    await eventually(lambda: broken in got, WAIT, "the client to receive it")


@pytest.mark.parametrize("io_options", TRANSPORTS)
async def test_js_client_and_chatlib_server_exchange_accents(chatlib_server, node_client,
                                                             io_options):
    sio, url, received, seen = chatlib_server
    node = await node_client(url, "js client", **io_options)
    await node.expect(type="connect")

    await sio.emit(EVENT, ACCENTED)
    await eventually(lambda: ACCENTED in texts(node.find(type="event")), WAIT,
                     f"the JS client to receive {ACCENTED!r}")

    await node.request("emit", event=EVENT, args=[ACCENTED])
    await eventually(lambda: (ACCENTED,) in received, WAIT, "the server to receive it")
    outgoing = [p.text for p in seen if p.direction == "out" and p.type == "EVENT"]
    assert outgoing and ACCENTED in outgoing[0]


async def test_recovery_client_and_js_server_exchange_accents(node_server, recovery_client):
    client, got = await recovery_client(node_server.url)
    await node_server.request("emit", event=EVENT, args=[ACCENTED])
    await eventually(lambda: ACCENTED in got, WAIT, "the client to receive it")

    await client.emit(EVENT, ACCENTED)
    await node_server.expect(type="event", event=EVENT, args=[ACCENTED])


async def test_recovery_client_writes_accents_as_utf8(chatlib_server, recovery_client):
    _sio, url, received, seen = chatlib_server
    client, _ = await recovery_client(url)
    await client.emit(EVENT, ACCENTED)
    await eventually(lambda: (ACCENTED,) in received, WAIT, "the server to receive it")

    incoming = [p.text for p in seen if p.direction == "in" and p.type == "EVENT"]
    assert incoming == [f'42["{EVENT}","{ACCENTED}"]']
