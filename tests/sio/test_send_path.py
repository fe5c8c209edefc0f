"""The send path under a burst: every transport gets the same packets, once, in order.

Stored packets reach a client either straight onto its WebSocket
(``chatlib.sio.direct``, on ``CoalescingWebSocketProtocol``) or through
python-engineio's queue (an upgraded connection, uvicorn's own protocol,
engineio still holding packets). A handler that emits in a loop
gives the event loop turns between packets; none of that may show to a client.
"""

import asyncio

import socketio
from socketio import packet as sio_packet

import chatlib
from chatlib.serving import serve
from tests.helpers import Inbox, eventually

BURST = 400
# one of each size class of a WebSocket frame header (7-bit, 16-bit, 64-bit length), and not ASCII
TEXTS = ["café", "x" * 2000, "ñ" * 70_000]


def burst_server():
    sio = chatlib.RecoveryServer(async_mode="asgi")
    sio.streaming = False

    @sio.on("burst")
    async def burst(sid, count):
        for i in range(count):
            await sio.emit("m", i)
        for text in TEXTS:
            await sio.emit("m", text)

    @sio.on("stream")
    async def stream(sid):
        """Emit 0, 1, 2, ... until told to stop (it relies on emit giving the loop turns)."""
        sio.streaming, count = True, 0
        while sio.streaming:
            await sio.emit("m", count)
            count += 1
        sio.streamed = count
        for text in TEXTS:
            await sio.emit("m", text)

    return sio


async def client_with(clients, url, inbox, **options):
    client = clients(chatlib.RecoveryClient(reconnection=False))
    client.on("m", inbox)
    await client.connect(url, **options)
    return client


async def test_websocket_and_upgraded_clients_get_the_same_burst_in_order(launch, clients):
    # (a long-polling-only python-engineio 4.15 client aborts on such a burst with any
    # server, stock python-socketio included: "Unexpected packet from server")
    running = await launch(burst_server())
    inboxes = {name: Inbox() for name in ("websocket", "upgraded")}
    first = await client_with(clients, running.url, inboxes["websocket"], transports=["websocket"])
    await client_with(clients, running.url, inboxes["upgraded"])

    await first.emit("burst", BURST)

    expected = list(range(BURST)) + TEXTS
    for name, inbox in inboxes.items():
        assert await inbox.wait_for(len(expected), timeout=20) == expected, name


async def test_a_client_that_connects_during_a_burst_gets_a_gapless_run_from_then_on(launch, clients):
    sio = burst_server()
    running = await launch(sio)
    early_inbox, late_inbox = Inbox(), Inbox()
    early = await client_with(clients, running.url, early_inbox, transports=["websocket"])
    await early.emit("stream")
    await early_inbox.wait_for(100, timeout=10)

    await client_with(clients, running.url, late_inbox, transports=["websocket"])
    await late_inbox.wait_for(100, timeout=10)
    sio.streaming = False
    await eventually(lambda: all(inbox.items[-1:] == TEXTS[-1:] for inbox in (early_inbox, late_inbox)),
                     timeout=30, what="the stream's end at both clients")

    numbers = late_inbox.items[:-len(TEXTS)]
    assert numbers == list(range(numbers[0], sio.streamed)), "packets lost, doubled or reordered"
    assert late_inbox.items[-len(TEXTS):] == TEXTS
    assert early_inbox.items[:-len(TEXTS)] == list(range(sio.streamed))


async def test_uvicorns_own_websocket_protocol_gets_the_same_burst(clients):
    sio = burst_server()
    server = await serve(socketio.ASGIApp(sio), ws="auto")
    try:
        inbox = Inbox()
        client = await client_with(clients, server.url, inbox, transports=["websocket"])
        await client.emit("burst", BURST)
        assert await inbox.wait_for(BURST + len(TEXTS), timeout=20) == list(range(BURST)) + TEXTS
        await client.disconnect()
        await eventually(lambda: not sio.eio.sockets, what="the connection to close")
    finally:
        await sio.shutdown()
        await server.stop()


async def test_a_stored_packet_never_overtakes_one_engineio_is_still_writing(launch, clients):
    sio = chatlib.RecoveryServer(async_mode="asgi")
    running = await launch(sio)
    inbox = Inbox()
    client = clients(socketio.AsyncClient(reconnection=False))
    client.on("m", inbox)
    await client.connect(running.url, transports=["websocket"])
    (eio_sid,) = sio.eio.sockets

    order = []
    for turns in range(4):
        # a packet through engineio's queue, then a stored one after 0-3 loop turns, while
        # engineio's writer has the first one queued, taken, or written
        queued = sio_packet.Packet(sio_packet.EVENT, data=["m", f"queued {turns}"]).encode()
        await sio.eio.send(eio_sid, queued)
        for _ in range(turns):
            await asyncio.sleep(0)
        await sio.emit("m", f"stored {turns}")
        order += [f"queued {turns}", f"stored {turns}"]

    received = await inbox.wait_for(len(order))
    assert [item if isinstance(item, str) else item[0] for item in received] == order
