"""Broadcast throughput of Flask-SocketIO with chatlib's recovery, against stock Flask-SocketIO
and the JS server with recovery, measured in one run, interleaved.

    python3 bench/flask_bench.py                 # N = 50 clients, M = 500 messages, 5 reps
    python3 bench/flask_bench.py --clients 20 --messages 300 --reps 3

Each trial: the load generator (loadgen.js, socket.io-client 4.8.4, WebSocket) connects N
clients and asks the server to broadcast M messages to all of them; it reports deliveries per
second and the server's CPU share. CPU per delivery is the server's CPU time over N * M. The
servers run at once, and the trials go A, B, C, A, B, C, ...; medians are printed as a
Markdown table and the rows written to bench/results/flask-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys

from run import NODE, PY, RESULTS, Server, load, loadgen, log

SERVERS = {
    "flask-on": ("Flask-SocketIO 5.7 + chatlib.flask (recovery on), threading",
                 [PY, "servers/flask_server.py", "on"]),
    "flask-stock": ("Flask-SocketIO 5.7 (no recovery), threading",
                    [PY, "servers/flask_server.py", "stock"]),
    "node": ("socket.io 4.8.4, CSR on", [NODE, "servers/node_server.js"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    servers = {name: Server(command) for name, (_, command) in SERVERS.items()}
    rows = []
    try:
        for rep in range(args.reps):
            for name, server in servers.items():
                before = load()
                try:
                    result = loadgen(["throughput", "--url", server.url,
                                      "--clients", str(args.clients),
                                      "--messages", str(args.messages)], timeout=600)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    log(f"rep {rep} {name}: FAILED {str(exc)[-300:]}")
                    continue
                cpu_us = result["server_cpu_share"] * result["seconds"] / result["deliveries"] * 1e6
                result.update(server=name, rep=rep, load_before=before, load_after=load(),
                              server_cpu_us_per_delivery=cpu_us)
                rows.append(result)
                log(f"rep {rep} {name}: {result['deliveries_per_s']:.0f} deliveries/s, "
                    f"{cpu_us:.1f} us CPU per delivery")
    finally:
        for server in servers.values():
            server.stop()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"flask-{stamp}.json"
    path.write_text(json.dumps({"clients": args.clients, "messages": args.messages,
                                "reps": args.reps, "rows": rows}, indent=1))
    print(f"N = {args.clients} clients, M = {args.messages} messages, {args.reps} interleaved "
          f"reps, medians ({path.name})\n")
    print("| server | deliveries/s | server CPU share | server CPU per delivery (us) |")
    print("| --- | ---: | ---: | ---: |")
    medians = {}
    for name, (label, _) in SERVERS.items():
        mine = [row for row in rows if row["server"] == name]
        if not mine:
            print(f"| {label} | failed | | |")
            continue
        rate = statistics.median(row["deliveries_per_s"] for row in mine)
        share = statistics.median(row["server_cpu_share"] for row in mine)
        cpu = statistics.median(row["server_cpu_us_per_delivery"] for row in mine)
        medians[name] = (rate, cpu)
        print(f"| {label} | {rate:,.0f} | {share:.2f} | {cpu:.1f} |")
    if "flask-on" in medians and "flask-stock" in medians:
        on, stock = medians["flask-on"], medians["flask-stock"]
        print(f"\nrecovery on / stock Flask-SocketIO: throughput x{on[0] / stock[0]:.2f}, "
              f"CPU per delivery x{on[1] / stock[1]:.2f}")
    if "flask-on" in medians and "node" in medians:
        print(f"recovery on / Node with CSR: throughput x{medians['flask-on'][0] / medians['node'][0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
