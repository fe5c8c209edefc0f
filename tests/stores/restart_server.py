"""A recovery server that broadcasts numbered messages, for the kill-and-restart tests.

    python tests/stores/restart_server.py --port 5000 [--db recovery.db]

Without --db it uses the memory store. It prints "ready" once it accepts connections
and goes on numbering from the last number its store holds.
"""

import argparse
import asyncio

import socketio

import chatlib
from chatlib.serving import serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db")
    options = parser.parse_args()
    recovery = chatlib.Recovery(max_disconnection_duration=30, sweep_interval=0.1)
    store = chatlib.SQLiteStore(options.db) if options.db else None
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=recovery, store=store)
    stored = sio.store.packets()
    number = stored[-1]["args"][0] + 1 if stored else 0
    await serve(socketio.ASGIApp(sio), port=options.port)
    print("ready", flush=True)
    while True:
        await sio.emit("n", number)
        number += 1
        await asyncio.sleep(0.005)


if __name__ == "__main__":
    asyncio.run(main())
