"""Profile a Python server under broadcast load with py-spy, and say where its time goes.

    pip install py-spy
    python3 bench/profile_server.py on --clients 200 --messages 2000 --rounds 3
    python3 bench/profile_server.py on --redis --clients 40 --messages 2000   # two servers on Redis

Starts ``servers/py_server.py MODE``, attaches ``py-spy record`` (sampling, so the server runs
at full speed), drives it with the same load generator as run.py, then prints the share of
samples per layer and the top functions, self and inclusive. The raw folded stacks are kept
in bench/results/profile-MODE.txt. With ``--redis`` it starts a redis-server and two servers
on it (RedisStore + AsyncRedisManager), drives them as part 5 of run.py does (``loadgen.js
paths``: half the clients on each, server 1 emits) and profiles both
(profile-MODE-redis-1.txt and -2.txt).
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import shutil
import subprocess
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
RESULTS = BENCH / "results"

# the first matching file decides the layer of a sample's innermost frame
LAYERS = (
    ("chatlib (manager, store)", ("chatlib/",)),
    ("python-socketio", ("socketio/",)),
    ("python-engineio (queue, writer task, ASGI driver)", ("engineio/",)),
    ("uvicorn + websockets (framing)", ("uvicorn/", "websockets/")),
    ("asyncio transport write (send syscall)", ("selector_events.py",)),
    ("asyncio queues, tasks, event loop", ("asyncio/",)),
    ("selector (epoll wait)", ("selectors.py",)),
)


def parse(path: pathlib.Path):
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = []
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            frames.append((name, where.split(":")[0]))
        yield frames, int(count)


def layer_of(frames) -> str:
    _name, where = frames[-1]
    for layer, markers in LAYERS:
        if any(marker in where for marker in markers):
            return layer
    return "other (logging, encoding, ...)"


def summarise(path: pathlib.Path, top: int = 15) -> str:
    total = 0
    layers: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    for frames, count in parse(path):
        total += count
        layers[layer_of(frames)] += count
        own[f"{frames[-1][0]} ({frames[-1][1]})"] += count
        for key in {f"{name} ({where})" for name, where in frames}:
            inclusive[key] += count
    lines = [f"{total} samples", "", "| layer (innermost frame) | share |", "| --- | ---: |"]
    lines += [f"| {layer} | {100 * n / total:.1f}% |" for layer, n in layers.most_common()]
    lines += ["", "| function, self time | share |", "| --- | ---: |"]
    lines += [f"| {key} | {100 * n / total:.1f}% |" for key, n in own.most_common(top)]
    lines += ["", "| function, inclusive | share |", "| --- | ---: |"]
    skip = ("asyncio/runners.py", "asyncio/base_events.py", "asyncio/events.py", "py_server.py>")
    rows = [(k, n) for k, n in inclusive.most_common() if not any(s in k for s in skip)]
    lines += [f"| {key} | {100 * n / total:.1f}% |" for key, n in rows[:top]]
    return "\n".join(lines)


def record(pid: int, out: pathlib.Path, rate: int) -> subprocess.Popen:
    return subprocess.Popen(["py-spy", "record", "-p", str(pid), "-r", str(rate),
                             "-f", "raw", "-o", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start(mode: str, *options: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "servers/py_server.py", mode, *options], cwd=BENCH,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return server, f"http://127.0.0.1:{json.loads(server.stdout.readline())['port']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stock", "off", "on"])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--ws", default="", help="uvicorn's ws protocol for the server (default: serve()'s)")
    parser.add_argument("--redis", action="store_true",
                        help="two servers on one redis-server (mode on), as run.py's part 5")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    RESULTS.mkdir(exist_ok=True)
    redis = None
    servers: list[subprocess.Popen] = []
    try:
        if args.redis:
            from run import RedisServer  # bench/run.py: redis-server on a free loopback port
            redis = RedisServer()
            outs = [RESULTS / f"profile-{args.mode}-redis-{k}.txt" for k in (1, 2)]
            started = [start(args.mode, "--redis", f"{redis.url}/0") for _ in outs]
            command = ["paths", "--url", started[0][1], "--url2", started[1][1]]
        else:
            outs = [RESULTS / f"profile-{args.mode}{'-' + args.ws if args.ws else ''}-{args.clients}.txt"]
            started = [start(args.mode, *(["--ws", args.ws] if args.ws else []))]
            command = ["throughput", "--url", started[0][1]]
        servers = [server for server, _ in started]
        spies = [record(server.pid, out, args.rate) for server, out in zip(servers, outs, strict=True)]
        time.sleep(1)
        for _ in range(args.rounds):
            result = subprocess.run(["node", "loadgen.js", *command, "--clients", str(args.clients),
                                     "--messages", str(args.messages)],
                                    cwd=BENCH, capture_output=True, text=True, check=True)
            rate = json.loads(result.stdout)["deliveries_per_s"]
            print(f"round: {rate:,.0f} deliveries/s", file=sys.stderr)
        for spy in spies:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
            spy.wait(timeout=60)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        if redis is not None:
            redis.stop()
    for k, out in enumerate(outs, start=1):
        if len(outs) > 1:
            print(f"\n## server {k}{' (emits)' if k == 1 else ''}\n")
        print(summarise(out))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summarise":
        print(summarise(pathlib.Path(sys.argv[2])))
    else:
        main()
