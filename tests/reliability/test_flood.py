"""A flood of clients that connect and vanish (no DISCONNECT): kept sessions stay within
``max_kept_sessions``, the server's memory stays flat, and the newest legitimate drop is
still recovered."""

import asyncio
import gc
import tracemalloc

import chatlib
from tests.helpers import eventually, server_saw_drop
from tests.reliability.support import RawConnection

BOUND = 100
PING_INTERVAL = 1  # python-engineio's ping task holds a closed socket until its sleep ends


async def connect_and_vanish(url: str) -> None:
    connection = await RawConnection.open_to(url)
    await connection.connect_namespace()
    await connection.abort()


async def flood(sio, url: str, count: int) -> int:
    """``count`` vanishing clients; returns the traced memory once the server let go of them."""
    for _ in range(count):
        await connect_and_vanish(url)
    await eventually(lambda: not sio.eio.sockets, 10, "the flood's sockets to close")
    await asyncio.sleep(PING_INTERVAL + 0.5)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_a_flood_of_vanishing_clients_keeps_memory_flat_and_the_newest_drop_recoverable(
        launch, clients, profile, figures):
    sio = chatlib.RecoveryServer(async_mode="asgi", ping_interval=PING_INTERVAL,
                                 recovery=chatlib.Recovery(max_kept_sessions=BOUND))
    running = await launch(sio)
    half = profile.flood_clients // 2
    tracemalloc.start()
    try:
        await flood(sio, running.url, BOUND)             # warm-up: the bound is reached
        first = await flood(sio, running.url, half)
        second = await flood(sio, running.url, half)
        kept = sio.store.stats()["kept_sessions"]

        alice = clients(chatlib.RecoveryClient(reconnection=False))
        received = []
        alice.on("m", received.append)
        await alice.connect(running.url, transports=["websocket"])
        sid = alice.get_sid()
        await alice.drop()
        await server_saw_drop(sio, sid)
        await flood(sio, running.url, BOUND // 2)      # fewer than the bound after her
        await sio.emit("m", "missed")
        await alice.reconnect()
    finally:
        tracemalloc.stop()
    per_client = (second - first) / half
    figures(clients=BOUND + 2 * half + BOUND // 2, max_kept_sessions=BOUND, kept_sessions=kept,
            traced_growth_bytes_per_client_past_the_bound=round(per_client, 1))
    assert kept == BOUND
    # flat: past the bound a vanished client leaves nothing behind (a kept session is ~1 KB)
    assert per_client < 100, per_client
    assert alice.recovered and alice.get_sid() == sid
    await eventually(lambda: received == ["missed"], 5, "the missed message")
