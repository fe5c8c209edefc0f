"""The Python servers for the load generator, one per process.

    python3 servers/py_server.py stock     # python-socketio AsyncServer, no CSR
    python3 servers/py_server.py off       # chatlib.RecoveryServer(recovery=None)
    python3 servers/py_server.py on        # chatlib.RecoveryServer(), recovery on (MemoryStore)
    python3 servers/py_server.py on --sqlite /tmp/x.db          # recovery on, SQLiteStore
    python3 servers/py_server.py on --redis redis://127.0.0.1:P/0  # RedisStore + AsyncRedisManager
    python3 servers/py_server.py on --redis URL --no-hiredis       # ... without redis-py's C parser

Each runs on uvicorn (chatlib.serving.serve) on a default asyncio loop (``--uvloop`` for uvloop),
without permessage-deflate like the JS server (``--deflate`` for uvicorn's default, on), bound
to 127.0.0.1 on a free port, and prints ``{"port": P}`` once it accepts. The events it
answers are described in loadgen.js.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import sys
import time

# CHATLIB_ROOT: import chatlib from another tree (a scratch copy with an optimisation to measure)
sys.path.insert(0, os.environ.get("CHATLIB_ROOT") or str(pathlib.Path(__file__).resolve().parents[2]))

if "--no-hiredis" in sys.argv:  # redis-py's pure-Python reply parser, as without hiredis installed
    sys.modules["hiredis"] = None  # type: ignore[assignment]

import socketio

import chatlib
from chatlib.serving import serve

EVENT = "chat message"
TICK_S = 0.010


class StallTicker:
    """Longest event-loop stall: a 10 ms sleep that notes how late it wakes up.

    Also the stall it would have been on a core of its own: the CPU time the
    process spent between two ticks, less the tick (on a shared machine a
    stall in wall time includes the time other processes had the core).
    """

    def __init__(self) -> None:
        self.max = 0.0
        self.max_cpu = 0.0

    async def run(self) -> None:
        while True:
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.sleep(TICK_S)
            self.max = max(self.max, time.perf_counter() - start - TICK_S)
            self.max_cpu = max(self.max_cpu, time.process_time() - cpu - TICK_S)

    def take(self) -> dict:
        taken = {"max_ms": self.max * 1000, "max_cpu_ms": self.max_cpu * 1000}
        self.max = self.max_cpu = 0.0
        return taken


def load_class(path: str):
    module, _, name = path.partition(":")
    return getattr(__import__(module, fromlist=[name]), name)


def make_server(mode: str, max_buffered: int, store_class: str = "", sqlite: str = "",
                redis: str = "", cluster: bool = False) -> socketio.AsyncServer:
    options: dict = dict(async_mode="asgi", transports=["websocket"])
    if redis:
        # rooms, acks and disconnects cross servers through python-socketio's pub/sub manager
        options["client_manager"] = socketio.AsyncRedisManager(redis)
    if mode == "stock":
        return socketio.AsyncServer(**options)
    if mode == "off":
        return chatlib.RecoveryServer(recovery=None, **options)
    if mode == "on":
        recovery = chatlib.Recovery(max_buffered_packets=max_buffered)
        if redis:
            store = chatlib.RedisStore(redis, recovery, cluster=cluster)
        elif sqlite:
            store = chatlib.SQLiteStore(sqlite, recovery)
        else:
            store = load_class(store_class)(recovery) if store_class else None
        return chatlib.RecoveryServer(recovery=recovery, store=store, **options)
    raise SystemExit(f"unknown mode {mode!r}")


def rss_bytes() -> int:
    """This process's resident memory, from /proc (what the kernel holds for it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def stats(sio: socketio.AsyncServer) -> dict:
    result = {"packets": 0, "kept_sessions": 0, "clients": len(sio.eio.sockets),
              "cpu_s": time.process_time(), "rss_bytes": rss_bytes()}
    store = getattr(sio, "store", None)
    if store is not None:
        counts = store.stats()
        result.update(packets=counts["packets"], kept_sessions=counts["kept_sessions"])
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stock", "off", "on"])
    parser.add_argument("--max-buffered", type=int, default=100_000)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--store", default="", help="mode on: a store class, module:Class")
    parser.add_argument("--sqlite", default="", help="mode on: a SQLiteStore in this file")
    parser.add_argument("--redis", default="",
                        help="a Redis URL: AsyncRedisManager, and with mode on a RedisStore")
    parser.add_argument("--cluster", action="store_true",
                        help="--redis names a node of a Redis Cluster (the manager talks to that node)")
    parser.add_argument("--ws", default="",
                        help="uvicorn's ws protocol, a name or module:Class (default: serve()'s)")
    parser.add_argument("--no-hiredis", action="store_true",
                        help="redis-py's pure-Python reply parser (read before the imports)")
    parser.add_argument("--deflate", action="store_true",
                        help="let uvicorn negotiate permessage-deflate (its default; the JS server's is off)")
    args = parser.parse_args()

    sio = make_server(args.mode, args.max_buffered, args.store, args.sqlite, args.redis, args.cluster)
    ticker = StallTicker()

    @sio.on("go")
    async def go(sid, m):
        for i in range(int(m)):
            await sio.emit(EVENT, f"message {i}")

    @sio.on("miss")
    async def miss(sid, m):
        for i in range(int(m)):
            await sio.emit(EVENT, f"missed {i}")

    @sio.on("fill")
    async def fill(sid, m):
        for i in range(int(m)):
            await sio.emit(EVENT, f"stored {i}", to="nobody")

    @sio.on("stall")
    async def stall(sid, _):
        return ticker.take()

    @sio.on("stats")
    async def stats_event(sid, _):
        return stats(sio)

    tick_task = asyncio.get_running_loop().create_task(ticker.run())
    ws = {"ws": load_class(args.ws) if ":" in args.ws else args.ws} if args.ws else {}
    running = await serve(socketio.ASGIApp(sio), host="127.0.0.1", port=0,
                          ws_per_message_deflate=args.deflate, **ws)
    print(json.dumps({"port": running.port}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        tick_task.cancel()
        await running.stop()


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.run(main())
    else:
        asyncio.run(main())
