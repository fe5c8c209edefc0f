"""A recovery server process for the store chaos test (test_store_chaos.py).

    python tests/reliability/chaos_server.py --port P --index I --db FILE --stats FILE
    python tests/reliability/chaos_server.py --port P --index I --redis URL --prefix X --stats FILE

It prints "ready" once it accepts connections, then broadcasts "m" with the number
``I * 1_000_000_000 + n`` for n = 0, 1, ... at ``--rate`` per second, going on after a
restart from the last n its store holds (so a number is never sent twice: it is stored
before it is sent). Every half second it writes to ``--stats`` (JSON) the longest time one
store call held the event loop (wall clock, and this thread's CPU time, which leaves out the
time other processes of a busy machine took), and how many calls there were. A line "stop" on stdin stops
the broadcast (the server goes on serving) and is answered by "stopped <last n sent>".
"""

import argparse
import asyncio
import json
import os
import sys
import time

import socketio

import chatlib
from chatlib.serving import serve

STEP = 1_000_000_000
_TIMED = ("append", "open_session", "join", "leave", "keep", "save_data", "forget", "restore",
          "expire", "head")


class StoreTimer:
    """Wraps a store's calls (on the instance) to measure how long each holds the loop."""

    def __init__(self, store) -> None:
        self.longest = 0.0
        self.longest_call = ""
        self.longest_cpu = 0.0  # the same, counting only this thread's CPU time (not preemption)
        self.over_100ms = 0
        self.calls = 0
        for name in _TIMED:
            if hasattr(store, name):
                setattr(store, name, self._timed(name, getattr(store, name)))

    def _timed(self, name, method):
        def timed(*args, **kwargs):
            began, began_cpu = time.perf_counter(), time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.perf_counter() - began
                self.longest_cpu = max(self.longest_cpu, time.thread_time() - began_cpu)
                self.calls += 1
                self.over_100ms += spent >= 0.1
                if spent > self.longest:
                    self.longest, self.longest_call = spent, name
        return timed


def make_server(options):
    recovery = chatlib.Recovery(max_disconnection_duration=60, sweep_interval=0.1)
    ping = {"ping_interval": options.ping_interval, "ping_timeout": options.ping_timeout}
    if options.redis:
        store = chatlib.RedisStore(options.redis, prefix=options.prefix, dead_after=0.5,
                                   cluster=options.cluster)
        manager = socketio.AsyncRedisManager(options.manager or options.redis,
                                             channel=options.prefix + "sio")
        return chatlib.RecoveryServer(async_mode="asgi", recovery=recovery, store=store,
                                      client_manager=manager, **ping)
    return chatlib.RecoveryServer(async_mode="asgi", recovery=recovery,
                                  store=chatlib.SQLiteStore(options.db), **ping)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--db")
    parser.add_argument("--redis")
    parser.add_argument("--prefix", default="chaos:")
    parser.add_argument("--cluster", action="store_true", help="--redis names a Redis Cluster node")
    parser.add_argument("--manager", help="AsyncRedisManager's URL, if not --redis")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--ping-interval", type=float, default=1.0)
    parser.add_argument("--ping-timeout", type=float, default=1.0)
    parser.add_argument("--stats", required=True)
    options = parser.parse_args()
    sio = make_server(options)
    base = options.index * STEP
    mine = [row["args"][0] - base for row in sio.store.packets()
            if base <= row["args"][0] < base + STEP]
    number = max(mine) + 1 if mine else 0
    timer = StoreTimer(sio.store)
    await serve(socketio.ASGIApp(sio), port=options.port)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, sys.stdin.readline)
    began, sent, last_stats = loop.time(), 0, 0.0
    while not stop.done():
        await sio.emit("m", base + number)
        number += 1
        sent += 1
        now = loop.time()
        if now - last_stats > 0.5:
            last_stats = now
            with open(options.stats + ".tmp", "w") as out:
                json.dump({"longest_store_call_ms": round(timer.longest * 1000, 2),
                           "longest_call": timer.longest_call,
                           "longest_store_call_cpu_ms": round(timer.longest_cpu * 1000, 2),
                           "store_calls_over_100ms": timer.over_100ms, "store_calls": timer.calls,
                           "sent": sent}, out)
            os.replace(options.stats + ".tmp", options.stats)
        await asyncio.sleep(max(0.0, began + sent / options.rate - now))
    print(f"stopped {number - 1}", flush=True)
    await asyncio.Event().wait()  # serve on until killed


if __name__ == "__main__":
    asyncio.run(main())
