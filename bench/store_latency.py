"""How long one store call holds the event loop: append, keep and restore, per store.

    python3 bench/store_latency.py [--packets 20000] [--redis-url redis://127.0.0.1:6379/0]

Every store call runs on the event loop thread, so its duration is a stall of the
loop. This prints p50 / p99 / max microseconds per call for MemoryStore,
SQLiteStore (WAL, synchronous=NORMAL, on this disk) and, when --redis-url is given
or redis-server is on PATH (then started on a free port), RedisStore. For
RedisStore it also measures the path a server's emits take (``redis_batched``):
``prepare_append`` per packet, on the loop, and ``append_prepared`` per batch of
500, awaited (the loop is free while Redis runs the script).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from chatlib import MemoryStore, Recovery, SQLiteStore


def payload(offset: str) -> str:
    return '2["chat message","a message of about forty bytes....",' + json.dumps(offset) + "]"


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_us": round(statistics.median(ordered) * 1e6, 1),
            "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
            "max_us": round(ordered[-1] * 1e6, 1)}


def measure(store, packets: int) -> dict:
    timer = time.perf_counter
    appends, restores = [], []
    for sid in range(100):
        store.open_session("/", f"sid{sid}", f"pid{sid}")
    for n in range(packets):
        started = timer()
        store.append("/", None if n % 2 else ["room"], None, payload)
        appends.append(timer() - started)
    for sid in range(100):
        store.keep("/", f"sid{sid}", {"n": sid})
        for _ in range(10):
            store.append("/", None, None, payload)
        started = timer()
        store.restore("/", f"pid{sid}", None)
        restores.append(timer() - started)
    return {"append": percentiles(appends), "restore_10_missed": percentiles(restores)}


def measure_batched(store, packets: int, batch: int = 500) -> dict:
    """A server's emits on a shared store: each is encoded on the loop, then stored in batches."""
    timer = time.perf_counter

    async def run() -> tuple[list[float], list[float]]:
        prepares, batches = [], []
        for start in range(0, packets, batch):
            prepared = []
            for n in range(start, min(packets, start + batch)):
                started = timer()
                prepared.append(store.prepare_append("/", None if n % 2 else ["room"], None, payload))
                prepares.append(timer() - started)
            started = timer()
            await store.append_prepared(prepared)
            batches.append(timer() - started)
        await store.aclose()
        return prepares, batches

    prepares, batches = asyncio.run(run())
    return {"prepare_append": percentiles(prepares),
            f"append_prepared_{batch}": percentiles(batches),
            "stored_per_s": round(packets / sum(batches))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--redis-url")
    options = parser.parse_args()
    recovery = Recovery(max_buffered_packets=options.packets // 2)
    results = {"memory": measure(MemoryStore(recovery), options.packets)}
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(os.path.join(folder, "bench.db"), recovery)
        results["sqlite"] = measure(store, options.packets)
        store.close()
    redis_url, redis_process = options.redis_url, None
    if redis_url is None:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        try:
            from tests.services import RedisServer
            redis_process = RedisServer()
            redis_url = redis_process.url
        except Exception as error:  # no redis-server here: say so and go on
            print(f"RedisStore skipped: {error}", file=sys.stderr)
    if redis_url:
        from chatlib.stores.redis import RedisStore
        store = RedisStore(redis_url, recovery, prefix=f"bench{os.getpid()}:")
        results["redis"] = measure(store, options.packets)
        results["redis_batched"] = measure_batched(store, options.packets)
        store.close()
    if redis_process is not None:
        redis_process.stop()
    print(json.dumps({"packets": options.packets, "load": os.getloadavg(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
