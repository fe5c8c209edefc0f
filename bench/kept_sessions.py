"""Memory per kept session, traced (tracemalloc), in the store alone and in a whole server.

    PYTHONPATH=. python3 bench/kept_sessions.py [--sessions 20000] [--clients 1000]

"store": MemoryStore.open_session + keep for N sessions, as the server makes them (22-character
sids and pids, an empty session dict). "server": N raw Engine.IO clients that connect to a
RecoveryServer on uvicorn and vanish (no DISCONNECT), measured once python-engineio has let go
of their sockets (its ping task holds a closed socket until its ping_interval sleep ends, so
the server runs with ping_interval=1 and the measure waits past it).
"""

import argparse
import asyncio
import gc
import secrets
import tracemalloc

import chatlib
from tests.helpers import eventually, start
from tests.reliability.support import RawConnection


def per_session_in_store(count: int) -> float:
    store = chatlib.MemoryStore(chatlib.Recovery(max_kept_sessions=count))
    names = [(secrets.token_urlsafe(15), secrets.token_urlsafe(16)) for _ in range(count)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for sid, pid in names:
        store.open_session("/", sid, pid)
        store.keep("/", sid, {})
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


async def per_session_in_server(count: int) -> float:
    sio = chatlib.RecoveryServer(async_mode="asgi", ping_interval=1,
                                 recovery=chatlib.Recovery(max_kept_sessions=count + 100))
    running = await start(sio)

    async def vanish() -> None:
        connection = await RawConnection.open_to(running.url)
        await connection.connect_namespace()
        await connection.abort()

    async def settled() -> int:
        await eventually(lambda: not sio.eio.sockets, 30, "the sockets to close")
        await asyncio.sleep(1.5)
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    try:
        for _ in range(50):  # warm-up: imports, caches, first allocations
            await vanish()
        tracemalloc.start()
        before = await settled()
        for _ in range(count):
            await vanish()
        after = await settled()
        tracemalloc.stop()
    finally:
        await sio.shutdown()
        await running.server.stop()
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=1000)
    options = parser.parse_args()
    print(f"store:  {per_session_in_store(options.sessions):.0f} bytes per kept session "
          f"({options.sessions} sessions)")
    print(f"server: {asyncio.run(per_session_in_server(options.clients)):.0f} bytes per kept "
          f"session ({options.clients} clients that connected and vanished)")


if __name__ == "__main__":
    main()
