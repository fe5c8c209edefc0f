"""Frames per ``send()``: a broadcast server under load, with its coalesced writes counted.

    python3 bench/count_flushes.py --clients 1000 --messages 300   # [--root TREE] another chatlib

Starts ``servers/py_server.py on`` with ``CoalescingTransport.write`` and ``flush`` counted
(``serve()``'s protocol; ``--ws auto`` for uvicorn's own, which gets the same transport), drives one round of
``loadgen.js throughput`` and prints the server's CPU per delivery and how many frames each
``send()`` carried.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import runpy
import signal
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parent


def serve_counted(root: str, ws: str) -> None:
    sys.path.insert(0, root)
    from chatlib.serving import websocket

    counts = {"frames": 0, "sends": 0}
    write, flush = websocket.CoalescingTransport.write, websocket.CoalescingTransport.flush

    def counted_write(self, data):  # type: ignore[no-untyped-def]
        counts["frames"] += 1
        write(self, data)

    def counted_flush(self):  # type: ignore[no-untyped-def]
        counts["sends"] += bool(self._pending)
        flush(self)

    websocket.CoalescingTransport.write = counted_write  # type: ignore[method-assign]
    websocket.CoalescingTransport.flush = counted_flush  # type: ignore[method-assign]

    def report(*_: object) -> None:
        print(json.dumps(counts), file=sys.stderr, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    sys.argv = ["py_server.py", "on", *(["--ws", ws] if ws else [])]
    runpy.run_path(str(BENCH / "servers" / "py_server.py"), run_name="__main__")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--root", default=str(BENCH.parent), help="the tree to import chatlib from")
    parser.add_argument("--ws", default="", help="uvicorn's ws protocol (default: serve()'s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_counted(args.root, args.ws)
        return
    command = [sys.executable, __file__, "--serve", "--root", args.root, "--ws", args.ws]
    server = subprocess.Popen(command, cwd=BENCH,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = json.loads(server.stdout.readline())["port"]
        result = json.loads(subprocess.run(
            ["node", "loadgen.js", "throughput", "--url", f"http://127.0.0.1:{port}",
             "--clients", str(args.clients), "--messages", str(args.messages), "--warmup", "10"],
            cwd=BENCH, capture_output=True, text=True, check=True).stdout)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    counts = json.loads(err.strip().splitlines()[-1])
    cpu_us = result["server_cpu_share"] * result["seconds"] / result["deliveries"] * 1e6
    print(f"N = {args.clients}: {result['deliveries_per_s']:,.0f} deliveries/s, server CPU "
          f"{cpu_us:.1f} us per delivery, {counts['frames']:,} frames in {counts['sends']:,} sends "
          f"({counts['frames'] / max(1, counts['sends']):.2f} per send)")


if __name__ == "__main__":
    main()
