"""A recovery server that broadcasts numbered messages, for the kill-and-restart tests.

    python tests/stores/restart_server.py --port 5000 --name A [--db recovery.db]
    python tests/stores/restart_server.py --port 5000 --name A --redis URL --prefix P

With neither --db nor --redis it uses the memory store. It prints "ready" once it
accepts connections, then broadcasts ("A", 0), ("A", 1), ... every 5 ms, going on
from the last number of its name that its store holds.
"""

import argparse
import asyncio

import socketio

import chatlib
from chatlib.serving import serve


def make_server(options) -> chatlib.RecoveryServer:
    recovery = chatlib.Recovery(max_disconnection_duration=30, sweep_interval=0.1)
    if options.redis:
        store = chatlib.RedisStore(options.redis, prefix=options.prefix, dead_after=0.5)
        manager = socketio.AsyncRedisManager(options.redis, channel=options.prefix + "sio")
        return chatlib.RecoveryServer(async_mode="asgi", recovery=recovery, store=store,
                                      client_manager=manager)
    store = chatlib.SQLiteStore(options.db) if options.db else None
    return chatlib.RecoveryServer(async_mode="asgi", recovery=recovery, store=store)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="A")
    parser.add_argument("--db")
    parser.add_argument("--redis")
    parser.add_argument("--prefix", default="chatlib:")
    options = parser.parse_args()
    sio = make_server(options)
    mine = [row["args"][1] for row in sio.store.packets() if row["args"][0] == options.name]
    number = mine[-1] + 1 if mine else 0
    await serve(socketio.ASGIApp(sio), port=options.port)
    print("ready", flush=True)
    while True:
        await sio.emit("n", (options.name, number))
        number += 1
        await asyncio.sleep(0.005)


if __name__ == "__main__":
    asyncio.run(main())
