"""chatlib's MemoryStore without I/O: restore cost against buffer size, and memory per packet.

    python3 store_bench.py restore --sizes 1000,10000,100000,1000000 --missed 10 --restores 200
    python3 store_bench.py restore --behind ...   # offset behind the buffer (see restore_behind)
    python3 store_bench.py memory --packets 100000

Prints one JSON line. The packets are what RecoveryServer stores for
``emit("chat message", "m<i>")``: the encoded Socket.IO packet with its offset.
"""

from __future__ import annotations

import argparse
import gc
import json
import pathlib
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from socketio import packet as sio_packet

from chatlib import MemoryStore, Recovery, Restored

NAMESPACE = "/"


def encoder(i: int):
    def encode(offset: str) -> str:
        return sio_packet.Packet(sio_packet.EVENT, namespace=NAMESPACE,
                                 data=["chat message", f"m{i}", offset]).encode()
    return encode


def fill(store: MemoryStore, count: int, start: int = 0, rooms=None) -> None:
    for i in range(start, start + count):
        store.append(NAMESPACE, rooms, None, encoder(i))


def restore_behind(buffered: int, missed: int, restores: int, rounds: int) -> dict:
    """The client's offset is the oldest packet; after it come ``buffered - missed - 1``
    packets for a room it is not in, then the ``missed`` broadcasts it did miss."""
    count = min(restores, max(3, round(5e6 / buffered)))
    store = MemoryStore(Recovery(max_buffered_packets=buffered + 1))
    pids = [[f"p{r}-{k}" for k in range(count)] for r in range(rounds)]
    for batch in pids:
        for pid in batch:
            store.open_session(NAMESPACE, "s" + pid, pid)
    offset, _ = store.append(NAMESPACE, None, None, encoder(0))
    fill(store, buffered - missed - 1, start=1, rooms=["elsewhere"])
    fill(store, missed, start=buffered - missed)
    for batch in pids:
        for pid in batch:
            store.keep(NAMESPACE, "s" + pid, {})
    per_round = []
    for batch in pids:
        t0 = time.perf_counter_ns()
        for pid in batch:
            result = store.restore(NAMESPACE, pid, offset)
        per_round.append((time.perf_counter_ns() - t0) / count / 1000)
        assert isinstance(result, Restored) and len(result.missed) == missed, result
    return {"buffered": store.stats()["packets"], "missed": missed, "restores_per_round": count,
            "restore_us": statistics.median(per_round), "rounds_us": per_round}


def restore_cost(buffered: int, missed: int, restores: int, rounds: int) -> dict:
    """Median microseconds per restore of a session that missed ``missed`` of ``buffered`` packets.

    Each round opens ``restores`` sessions, appends the packets they miss,
    drops them all and restores each once (a pid is restored once per drop).
    """
    store = MemoryStore(Recovery(max_buffered_packets=buffered + rounds * missed + 1))
    fill(store, buffered - missed)
    per_round = []
    seen = 0
    for r in range(rounds):
        last = str(store.stats()["last_offset"])
        sids = [f"s{r}-{k}" for k in range(restores)]
        for k, sid in enumerate(sids):
            store.open_session(NAMESPACE, sid, f"p{r}-{k}")
        fill(store, missed, start=buffered + r * missed)
        for sid in sids:
            store.keep(NAMESPACE, sid, {})
        pids = [f"p{r}-{k}" for k in range(restores)]
        restore = store.restore
        t0 = time.perf_counter_ns()
        for pid in pids:
            result = restore(NAMESPACE, pid, last)
        elapsed = time.perf_counter_ns() - t0
        assert isinstance(result, Restored) and len(result.missed) == missed, result
        seen = store.stats()["packets"]
        per_round.append(elapsed / restores / 1000)
        for sid in sids:
            store.forget(NAMESPACE, sid)
    return {"buffered": seen, "missed": missed, "restore_us": statistics.median(per_round),
            "rounds_us": per_round}


def memory(packets: int) -> dict:
    """tracemalloc: bytes allocated by the store per buffered packet (payload string included)."""
    store = MemoryStore(Recovery(max_buffered_packets=packets + 1))
    store.open_session(NAMESPACE, "s", "p")
    payloads = [encoder(i)(str(i + 1)) for i in range(packets)]
    payload_bytes = sum(sys.getsizeof(p) for p in payloads)
    del payloads
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fill(store, packets)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert store.stats()["packets"] == packets
    return {"packets": packets, "method": "tracemalloc (Python heap allocations, after gc)",
            "bytes_per_packet": (after - before) / packets,
            "payload_str_bytes_per_packet": payload_bytes / packets}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["restore", "memory"])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--missed", type=int, default=10)
    parser.add_argument("--restores", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--behind", action="store_true",
                        help="the offset is the oldest packet; the rest are for another room")
    args = parser.parse_args()
    if args.what == "restore":
        measure = restore_behind if args.behind else restore_cost
        rows = [measure(int(size), args.missed, args.restores, args.rounds)
                for size in args.sizes.split(",")]
        print(json.dumps(rows))
    else:
        print(json.dumps(memory(args.packets)))


if __name__ == "__main__":
    main()
