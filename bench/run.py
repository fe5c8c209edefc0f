"""Run chatlib's whole benchmark suite and write JSON, a Markdown table and a PNG chart.

    python3 bench/run.py            # everything, about 10-15 minutes on 2 cores
    python3 bench/run.py --quick    # the same measurements, smaller and once: about 2-3 minutes

Results go to bench/results/ (git-ignored): run-<UTC time>.json, and latest.json,
latest.md and latest.png for the newest run. ``--report FILE`` rebuilds the table and
chart from a saved JSON file without measuring.

Every comparison is measured in this one run, interleaved (A, B, C, D, A, B, C, D, ...), and
summarised by medians; the machine's load average is recorded with each trial.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PY = sys.executable
NODE = shutil.which("node") or "node"

THROUGHPUT_SERVERS = {
    # name: (label, command)
    "stock": ("python-socketio 5.18 (no CSR)", [PY, "servers/py_server.py", "stock"]),
    "off": ("chatlib, recovery=None", [PY, "servers/py_server.py", "off"]),
    "on": ("chatlib, recovery on", [PY, "servers/py_server.py", "on"]),
    "node": ("socket.io 4.8.4, CSR on", [NODE, "servers/node_server.js"]),
}
STORM_SERVERS = {
    "on": ("chatlib, recovery on", [PY, "servers/py_server.py", "on"]),
    "node": ("socket.io 4.8.4, CSR on", [NODE, "servers/node_server.js"]),
}

# The delivery paths (part 5): one server per store, and two servers on one Redis.
# name: (label, [(command, extra arguments)...]); "{redis}" and "{sqlite}" are filled in per run.
PATH_SETUPS = {
    "memory": ("chatlib, MemoryStore", [[PY, "servers/py_server.py", "on"]]),
    "sqlite": ("chatlib, SQLiteStore", [[PY, "servers/py_server.py", "on", "--sqlite", "{sqlite}"]]),
    "node": ("socket.io 4.8.4, CSR, in-memory adapter", [[NODE, "servers/node_server.js"]]),
    "redis": ("chatlib, 2 servers: RedisStore + AsyncRedisManager",
              [[PY, "servers/py_server.py", "on", "--redis", "{redis}/0"]] * 2),
    "node-redis": ("socket.io 4.8.4, 2 servers: CSR + @socket.io/redis-streams-adapter 0.3.1",
                   [[NODE, "servers/node_server.js", "--redis", "{redis}/1"]] * 2),
}

# --ha: the same two chatlib servers on a Sentinel group and on a Redis Cluster (on loopback,
# started by the run with the tests' helpers), beside the single Redis, in the same run
HA_SETUPS = {
    "redis-sentinel": ("chatlib, 2 servers on Sentinel (1 primary, 1 replica, 3 sentinels)",
                       [[PY, "servers/py_server.py", "on", "--redis", "{sentinel}"]] * 2),
    "redis-cluster": ("chatlib, 2 servers on Redis Cluster (3 primaries, 3 replicas)",
                      [[PY, "servers/py_server.py", "on", "--redis", "{cluster}", "--cluster"]] * 2),
}

FULL = dict(clients=[50, 200], messages=2000, reps=3, sizes=[1000, 10_000, 100_000, 1_000_000],
            restore_rounds=7, behind_max=100_000, memory_packets=100_000, memory_reps=3,
            storm_clients=500, storm_buffered=50_000, storm_reps=3,
            paths_clients=40, paths_messages=1000, paths_reps=3,
            crowd_clients=10_000, crowd_drop=3_000, crowd_reps=1)
QUICK = dict(clients=[50, 200], messages=500, reps=1, sizes=[1000, 10_000, 100_000, 1_000_000],
             restore_rounds=3, behind_max=100_000, memory_packets=100_000, memory_reps=1,
             storm_clients=500, storm_buffered=50_000, storm_reps=1,
             paths_clients=40, paths_messages=1000, paths_reps=1,
             crowd_clients=2_000, crowd_drop=600, crowd_reps=1)


failures: list[dict] = []  # trials that did not finish, kept in the results


def log(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_json(cmd: list[str], timeout: float) -> Any:
    out = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Server:
    """One server process; ``url`` once it prints its port."""

    def __init__(self, cmd: list[str], env: dict | None = None) -> None:
        self.proc = subprocess.Popen(cmd, cwd=BENCH, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{' '.join(cmd)} did not start")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def loadgen(args: list[str], timeout: float = 300) -> dict:
    return run_json([NODE, "loadgen.js", *args], timeout)


# -- measurements -----------------------------------------------------------

def add_variant(spec: str) -> None:
    """``NAME,MODE[,ROOT[,FLAG...]]``: one more Python server for the throughput comparison.

    MODE is stock, off or on; ROOT a tree to import chatlib from (a scratch copy
    with a change to measure), empty for this one; each FLAG is a py_server.py
    option: ``uvloop``, ``deflate``, ``ws=wsproto`` (a uvicorn ws protocol name or
    ``module:Class`` importable from ROOT), ``no-hiredis`` (redis-py's pure-Python
    parser). With MODE on, part 5 also runs two of them on Redis (``NAME-redis``).
    """
    name, mode, *rest = spec.split(",")
    root = rest[0] if rest else ""
    flags = rest[1:] if len(rest) > 1 else []
    cmd = [PY, "servers/py_server.py", mode]
    for flag in flags:  # "uvloop" -> --uvloop; "ws=websockets" -> --ws websockets
        key, _, value = flag.partition("=")
        cmd += ["--" + key] + ([value] if value else [])
    label = f"{name} ({mode}{', ' + root if root else ''}{', ' + ', '.join(flags) if flags else ''})"
    env = {"CHATLIB_ROOT": root} if root else {}
    THROUGHPUT_SERVERS[name] = (label, cmd, env)
    if mode == "on":
        # part 5 too: two such servers on Redis, on a database of their own (0 and 1 are taken)
        db = 2 + sum(1 for key in PATH_SETUPS if key.endswith("-redis") and key != "node-redis")
        PATH_SETUPS[f"{name}-redis"] = (f"{label}, 2 servers: RedisStore + AsyncRedisManager",
                                        [[*cmd, "--redis", f"{{redis}}/{db}"]] * 2, env)


def messages_for(cfg: dict, clients: int) -> int:
    """M for N clients: one M for all, or (``--messages 2000,2000,300``) one per client count."""
    messages = cfg["messages"]
    if isinstance(messages, list):
        return int(messages[cfg["clients"].index(clients)])
    return int(messages)


def throughput(cfg: dict) -> list[dict]:
    servers: dict[str, Server] = {}
    rows = []
    try:
        for name, spec in THROUGHPUT_SERVERS.items():
            servers[name] = Server(spec[1], spec[2] if len(spec) > 2 else None)
        for clients in cfg["clients"]:
            for rep in range(cfg["reps"]):
                for name, server in servers.items():
                    before = load()
                    try:
                        result = loadgen(["throughput", "--url", server.url,
                                          "--clients", str(clients),
                                          "--messages", str(messages_for(cfg, clients))])
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        failures.append({"part": "throughput", "server": name, "clients": clients,
                                         "rep": rep, "error": str(exc)[-500:]})
                        log(f"throughput N={clients} rep {rep} {name}: FAILED {str(exc)[-200:]}")
                        continue
                    result.update(server=name, rep=rep, load_before=before, load_after=load(),
                                  server_stats=result.pop("server"))
                    rows.append(result)
                    log(f"throughput N={clients} rep {rep} {name}: "
                        f"{result['deliveries_per_s']:.0f} deliveries/s")
    finally:
        for server in servers.values():
            server.stop()
    return rows


def restore(cfg: dict) -> list[dict]:
    """Offset at the head (the client missed the newest 10 of B) and, up to 100k, offset behind
    the buffer (B - 11 packets for another room after it, then the 10 it missed)."""
    rows = []
    cases = [(False, size) for size in cfg["sizes"]]
    cases += [(True, size) for size in cfg["sizes"] if size <= cfg["behind_max"]]
    for behind, size in cases:
        common = ["--sizes", str(size), "--missed", "10", "--rounds", str(cfg["restore_rounds"])]
        for impl, cmd in (("chatlib", [PY, "store_bench.py", "restore", *common]
                           + (["--behind"] if behind else [])),
                          ("js", [NODE, "adapter_bench.js", "restore", *common]
                           + (["--behind", "true"] if behind else []))):
            before = load()
            (result,) = run_json(cmd, timeout=600)
            result.update(impl=impl, nominal=size, behind=behind, load_before=before)
            rows.append(result)
            log(f"restore {size} buffered{' behind' if behind else ''} {impl}: "
                f"{result['restore_us']:.1f} us")
    return rows


def memory(cfg: dict) -> list[dict]:
    rows = []
    packets = str(cfg["memory_packets"])
    for rep in range(cfg["memory_reps"]):
        for impl, cmd in (("chatlib", [PY, "store_bench.py", "memory", "--packets", packets]),
                          ("js", [NODE, "--expose-gc", "adapter_bench.js", "memory",
                                  "--packets", packets])):
            result = run_json(cmd, timeout=600)
            result.update(impl=impl, rep=rep)
            rows.append(result)
            log(f"memory {impl}: {result['bytes_per_packet']:.0f} bytes/packet")
    return rows


def storm(cfg: dict) -> list[dict]:
    rows = []
    for behind in (False, True):
        for rep in range(cfg["storm_reps"]):
            for name, (_, cmd) in STORM_SERVERS.items():
                server = Server(cmd)  # a fresh process: the buffer holds just what the storm put there
                try:
                    before = load()
                    result = loadgen(["storm", "--url", server.url,
                                      "--clients", str(cfg["storm_clients"]),
                                      "--buffered", str(cfg["storm_buffered"]),
                                      "--missed", "10", "--behind", str(behind).lower()])
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    failures.append({"part": "storm", "server": name, "behind": behind,
                                     "rep": rep, "error": str(exc)[-500:]})
                    log(f"storm behind={behind} rep {rep} {name}: FAILED {str(exc)[-200:]}")
                    continue
                finally:
                    server.stop()
                result.update(server=name, rep=rep, load_before=before, load_after=load())
                rows.append(result)
                log(f"storm behind={behind} rep {rep} {name}: {result['seconds']} s, "
                    f"stall {result['server_max_stall_ms']:.0f} ms, recovered {result['recovered']}")
    return rows


def crowd(cfg: dict) -> list[dict]:
    """10,000 WebSocket connections on one server: memory per connection, then 30% dropped at once."""
    rows = []
    for rep in range(cfg["crowd_reps"]):
        for name, (_, cmd) in STORM_SERVERS.items():
            server = Server(cmd)
            try:
                before = load()
                result = loadgen(["crowd", "--url", server.url, "--clients", str(cfg["crowd_clients"]),
                                  "--drop", str(cfg["crowd_drop"]), "--missed", "10"], timeout=900)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failures.append({"part": "crowd", "server": name, "rep": rep, "error": str(exc)[-500:]})
                log(f"crowd rep {rep} {name}: FAILED {str(exc)[-200:]}")
                continue
            finally:
                server.stop()
            result.update(server=name, rep=rep, load_before=before, load_after=load())
            rows.append(result)
            log(f"crowd rep {rep} {name}: {result['bytes_per_connection']:.0f} B/connection, "
                f"{result['recovered']}/{result['dropped']} recovered in {result['seconds']} s, "
                f"stall {result['server_max_stall_ms']:.0f} ms")
    return rows


class RedisServer:
    """A redis-server without persistence on a free loopback port, for the Redis paths."""

    def __init__(self) -> None:
        import socket
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([executable, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def ping(self) -> bool:
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def paths(cfg: dict) -> list[dict]:
    """A broadcast of M emits through each store: event-loop stalls, first packet, two servers."""
    import tempfile
    redis = RedisServer()
    scratch = tempfile.TemporaryDirectory(prefix="chatlib-bench-")
    fill = {"redis": redis.url, "sqlite": os.path.join(scratch.name, "recovery.db")}
    setups: dict[str, list[Server]] = {}
    rows = []
    groups: list = []
    try:
        if cfg.get("ha"):
            sys.path.insert(0, str(ROOT))
            from tests.stores.ha import ClusterGroup, SentinelGroup
            groups = [SentinelGroup(pathlib.Path(scratch.name) / "sentinel"),
                      ClusterGroup(pathlib.Path(scratch.name) / "cluster")]
            fill.update(sentinel=groups[0].url, cluster=groups[1].url)
            PATH_SETUPS.update(HA_SETUPS)
        for name, (_, commands, *env) in PATH_SETUPS.items():
            setups[name] = [Server([part.format(**fill) for part in cmd], *env) for cmd in commands]
        for rep in range(cfg["paths_reps"]):
            for name, servers in setups.items():
                args = ["paths", "--url", servers[0].url, "--clients", str(cfg["paths_clients"]),
                        "--messages", str(cfg["paths_messages"])]
                if len(servers) > 1:
                    args += ["--url2", servers[1].url]
                before = load()
                try:
                    result = loadgen(args, timeout=240)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    failures.append({"part": "paths", "server": name, "rep": rep,
                                     "error": str(exc)[-500:]})
                    log(f"paths rep {rep} {name}: FAILED {str(exc)[-200:]}")
                    continue
                result.update(setup=name, rep=rep, load_before=before, load_after=load())
                rows.append(result)
                own = result["per_server"][0]
                log(f"paths rep {rep} {name}: {result['deliveries_per_s']:.0f} deliveries/s, "
                    f"stall {max(p['max_stall_ms'] for p in result['per_server']):.0f} ms, "
                    f"first packet {own['first_packet_ms']:.1f} ms"
                    + (f", recovered {result['cross_server_recovery']['recovered']}"
                       if "cross_server_recovery" in result else ""))
    finally:
        for servers in setups.values():
            for server in servers:
                server.stop()
        redis.stop()
        for group in groups:
            group.stop()
        scratch.cleanup()
    return rows


def environment() -> dict:
    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    import engineio
    import socketio
    import uvicorn
    return {
        "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "node": version([NODE, "--version"]),
        "python_socketio": socketio.__version__ if hasattr(socketio, "__version__")
        else version([PY, "-m", "pip", "show", "python-socketio"]).split("\n")[1],
        "python_engineio": getattr(engineio, "__version__", "?"),
        "uvicorn": uvicorn.__version__,
        "chatlib_commit": version(["git", "rev-parse", "--short", "HEAD"]),
        "chatlib_uncommitted_changes": bool(version(["git", "status", "--porcelain", "chatlib"])),
        "uptime": version(["uptime"]),
    }


# -- report -----------------------------------------------------------------

def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(data: dict) -> dict:
    summary: dict = {"throughput": {}, "restore": {}, "memory": {}, "storm": {}, "paths": {},
                     "targets": []}
    summarise_paths(data.get("paths", []), summary)
    tp = data["throughput"]
    for clients in sorted({r["clients"] for r in tp}):
        per = {}
        for name in dict.fromkeys(r["server"] for r in tp):
            rows = [r for r in tp if r["clients"] == clients and r["server"] == name]
            if rows:
                per[name] = {
                    "median_deliveries_per_s": median([r["deliveries_per_s"] for r in rows]),
                    "runs": [round(r["deliveries_per_s"]) for r in rows],
                    "median_server_cpu_share": median([r.get("server_cpu_share") for r in rows]),
                    # CPU the server spent per delivery: steadier than wall time on a shared machine
                    "median_server_cpu_us_per_delivery": median(
                        [r["server_cpu_share"] * r["seconds"] / r["deliveries"] * 1e6 for r in rows]),
                    "median_generator_cpu_share": median([r["generator_cpu_share"] for r in rows]),
                    "median_server_max_stall_ms": median([r["server_max_stall_ms"] for r in rows]),
                }

        def paired(a: str, b: str, clients: int = clients) -> float | None:
            reps = sorted({r["rep"] for r in tp if r["clients"] == clients})
            ratios = []
            for rep in reps:
                x = [r for r in tp if r["clients"] == clients and r["rep"] == rep and r["server"] == a]
                y = [r for r in tp if r["clients"] == clients and r["rep"] == rep and r["server"] == b]
                if x and y:
                    ratios.append(x[0]["deliveries_per_s"] / y[0]["deliveries_per_s"])
            return median(ratios)
        ratios = {f"{a}/{b}": paired(a, b) for a, b in (("on", "off"), ("on", "stock"),
                                                        ("on", "node"), ("off", "stock"))
                  if a in per and b in per}

        def cpu_ratio(a: str, b: str, per: dict = per) -> float | None:
            """How many times fewer server CPU seconds a spends per delivery than b."""
            if a in per and b in per:
                return (per[b]["median_server_cpu_us_per_delivery"]
                        / per[a]["median_server_cpu_us_per_delivery"])
            return None
        cpu_ratios = {f"{a}/{b}": cpu_ratio(a, b) for a, b in (("on", "off"), ("on", "stock"),
                                                              ("on", "node"), ("off", "stock"))}
        for name in per:
            if name not in ("stock", "off", "on", "node"):
                ratios[f"{name}/on"] = paired(name, "on")
        for name in per:
            if name not in ("stock", "off", "on", "node"):
                cpu_ratios[f"{name}/on"] = cpu_ratio(name, "on")
        summary["throughput"][clients] = {"servers": per, "ratios": ratios, "cpu_ratios": cpu_ratios}
        for key, text, bound in (("on/off", "recovery on >= 0.95x recovery off", 0.95),
                                 ("on/stock", "chatlib (on) >= 1.5x stock python-socketio", 1.5),
                                 ("on/node", "chatlib (on) >= 1.3x Node with CSR", 1.3)):
            if ratios.get(key) is not None:
                summary["targets"].append((f"N={clients}: {text}", ratios[key], ratios[key] >= bound))
        if cpu_ratios.get("on/node") is not None:
            share = 1 / cpu_ratios["on/node"]
            summary["targets"].append((f"N={clients}: chatlib (on) server CPU per delivery <= 0.75x "
                                       "Node's (ratio)", share, share <= 0.75))
    for impl in ("chatlib", "js"):
        summary["restore"][impl] = {r["nominal"]: r["restore_us"] for r in data["restore"]
                                    if r["impl"] == impl and not r.get("behind")}
        summary["restore"][impl + " behind"] = {r["nominal"]: r["restore_us"] for r in data["restore"]
                                                if r["impl"] == impl and r.get("behind")}
    py = summary["restore"].get("chatlib", {})
    if 1_000_000 in py and 1000 in py:
        summary["targets"] += [
            ("restore, 1M buffered <= 100 us (chatlib)", py[1_000_000], py[1_000_000] <= 100),
            ("restore, 1M <= 3x 1k (chatlib)", py[1_000_000] / py[1000], py[1_000_000] <= 3 * py[1000]),
        ]
    for impl in ("chatlib", "js"):
        rows = [r["bytes_per_packet"] for r in data["memory"] if r["impl"] == impl]
        summary["memory"][impl] = median(rows)
    if summary["memory"].get("chatlib") and summary["memory"].get("js"):
        ratio = summary["memory"]["chatlib"] / summary["memory"]["js"]
        summary["targets"].append(("memory per buffered packet <= the JS adapter's (ratio)", ratio,
                                   ratio <= 1))
    for behind in (False, True):
        key = "offset behind the buffer" if behind else "offset at the head"
        summary["storm"][key] = {}
        for name in STORM_SERVERS:
            rows = [r for r in data["storm"] if r["server"] == name and r["offset_behind_buffer"] == behind]
            if rows:
                summary["storm"][key][name] = {
                    "median_seconds": median([r["seconds"] for r in rows]),
                    "median_max_stall_ms": median([r["server_max_stall_ms"] for r in rows]),
                    "recovered": [r["recovered"] for r in rows],
                    "all_missed_delivered": all(r["all_missed_delivered"] for r in rows),
                }
    return summary


def summarise_paths(rows: list[dict], summary: dict) -> None:
    per = summary["paths"]
    for name in dict.fromkeys(r["setup"] for r in rows):
        mine = [r for r in rows if r["setup"] == name]
        servers = len(mine[0]["per_server"])
        per[name] = {
            "median_deliveries_per_s": median([r["deliveries_per_s"] for r in mine]),
            "median_server_cpu_us_per_delivery": median([r["server_cpu_us_per_delivery"] for r in mine]),
            "bad_packets": sum(r["broadcast_bad_packets"] for r in mine),
            "load": [r["load_before"][0] for r in mine],
            "servers": [{
                "median_max_stall_ms": median([r["per_server"][k]["max_stall_ms"] for r in mine]),
                "median_max_stall_cpu_ms": median([r["per_server"][k]["max_stall_cpu_ms"] for r in mine]),
                "median_first_packet_ms": median([r["per_server"][k]["first_packet_ms"] for r in mine]),
                "median_all_done_ms": median([r["per_server"][k]["all_done_ms"] for r in mine]),
            } for k in range(servers)],
        }
        recovery = [r["cross_server_recovery"] for r in mine if "cross_server_recovery" in r]
        if recovery:
            per[name]["recovery"] = {key: [x[key] for x in recovery]
                                     for key in ("clients", "recovered", "lost", "duplicated_or_reordered")}

    def paired(a: str, b: str) -> float | None:
        ratios = []
        for rep in sorted({r["rep"] for r in rows}):
            x = [r for r in rows if r["rep"] == rep and r["setup"] == a]
            y = [r for r in rows if r["rep"] == rep and r["setup"] == b]
            if x and y:
                ratios.append(x[0]["deliveries_per_s"] / y[0]["deliveries_per_s"])
        return median(ratios)
    targets = summary["targets"]
    if "redis" in per and "node-redis" in per:
        ratio = paired("redis", "node-redis")
        targets.append(("two servers on Redis: chatlib >= 1.2x Node + redis-streams adapter", ratio,
                        ratio is not None and ratio >= 1.2))
        rec = per["redis"].get("recovery")
        if rec:
            ok = (all(x == c for x, c in zip(rec["recovered"], rec["clients"], strict=True))
                  and not any(rec["lost"]) and not any(rec["duplicated_or_reordered"]))
            targets.append(("two servers on Redis: all recovered across servers, 0 lost, 0 duplicated "
                            "(recovered count, median)", median(rec["recovered"]), ok))
    for name in ("memory", "sqlite", "redis"):
        if name in per:
            stall = max(s["median_max_stall_ms"] for s in per[name]["servers"])
            first = per[name]["servers"][0]["median_first_packet_ms"]
            targets.append((f"{name}: longest event-loop stall during the broadcast <= 50 ms",
                            stall, stall <= 50))
            targets.append((f"{name}: first packet to the emitting server's clients <= 20 ms (probe)",
                            first, first <= 20))


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown(data: dict, summary: dict) -> str:
    cfg, env = data["config"], data["environment"]
    out = [f"# chatlib benchmark results ({env['utc']})", "",
           f"{env['cpus']} cores; Python {env['python']}, python-socketio {env['python_socketio']}, "
           f"uvicorn {env['uvicorn']}, Node {env['node']}; chatlib {env['chatlib_commit']}; "
           f"{'--quick' if data['quick'] else 'full run'}.",
           f"Load at start: `{env['uptime']}`; at end: `{data['uptime_end']}`.", "",
           f"## 1. Broadcast throughput (M = {cfg['messages']} messages, {cfg['reps']} interleaved "
           "runs each)", "",
           "| N | server | median deliveries/s | runs | server CPU | server CPU us/delivery "
           "| generator CPU | longest stall ms |",
           "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for clients, block in summary["throughput"].items():
        for name, row in block["servers"].items():
            out.append(f"| {clients} | {data['labels'].get(name, name)} "
                       f"| {fmt(row['median_deliveries_per_s'])} "
                       f"| {', '.join(f'{x:,}' for x in row['runs'])} "
                       f"| {fmt(100 * row['median_server_cpu_share'])}% "
                       f"| {fmt(row['median_server_cpu_us_per_delivery'], 1)} "
                       f"| {fmt(100 * row['median_generator_cpu_share'])}% "
                       f"| {fmt(row['median_server_max_stall_ms'])} |")
    out += ["", "Ratios: deliveries/s (median of the per-run paired ratios) and, steadier on a "
            "shared machine, server CPU per delivery (b's us/delivery over a's):", "",
            "| N | measure | on/off | on/stock | on/node | off/stock |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for clients, block in summary["throughput"].items():
        for label, r in (("deliveries/s", block["ratios"]), ("CPU per delivery", block["cpu_ratios"])):
            out.append(f"| {clients} | {label} | {fmt(r.get('on/off'), 2)} | {fmt(r.get('on/stock'), 2)} "
                       f"| {fmt(r.get('on/node'), 2)} | {fmt(r.get('off/stock'), 2)} |")
    extra = [(clients, key, block["ratios"][key], block["cpu_ratios"].get(key))
             for clients, block in summary["throughput"].items()
             for key in block["ratios"] if key.endswith("/on") and key != "on/on"]
    if extra:
        out += ["", "Variants against chatlib recovery on:", "",
                "| N | variant / on | deliveries/s ratio | CPU-per-delivery ratio |",
                "| --- | --- | ---: | ---: |"]
        out += [f"| {clients} | {key} | {fmt(value, 2)} | {fmt(cpu, 2)} |"
                for clients, key, value, cpu in extra]
    if data["restore"]:
        out += ["", "## 2. Restore cost, 10 packets missed (median us per restore)", "",
                "Offset at the head: the client missed the newest 10 of the packets buffered. Offset "
                "behind the buffer: its last packet is the oldest; after it come packets for a room "
                "it is not in, then the 10 it missed.", "",
                "| case | buffered | chatlib MemoryStore.restore | JS SessionAwareAdapter.restoreSession "
                "| JS / chatlib |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for suffix, case in (("", "offset at the head"), (" behind", "offset behind the buffer")):
            for size in cfg["sizes"]:
                py = summary["restore"].get("chatlib" + suffix, {}).get(size)
                js = summary["restore"].get("js" + suffix, {}).get(size)
                if py is None and js is None:
                    continue
                out.append(f"| {case} | {size:,} | {fmt(py, 1)} | {fmt(js, 1)} "
                           f"| {fmt(js / py if py and js else None, 1)} |")
    mem = summary["memory"]
    if data["memory"]:
        out += ["", f"## 3. Memory per buffered packet at {cfg['memory_packets']:,} packets", "",
                "| store | bytes/packet (median) | how |", "| --- | ---: | --- |",
                f"| chatlib MemoryStore | {fmt(mem.get('chatlib'))} "
                "| tracemalloc, traced-bytes delta after gc.collect() |",
                f"| JS SessionAwareAdapter | {fmt(mem.get('js'))} "
                "| process.memoryUsage().heapUsed delta after gc() (--expose-gc) |"]
    if data["storm"]:
        out += ["", f"## 4. Reconnect storm ({cfg['storm_clients']} clients, {cfg['storm_buffered']:,} "
                f"packets buffered, 10 missed; Node load generator; {cfg['storm_reps']} runs)", "",
                "| case | server | median s until all recovered | median longest stall ms | recovered "
                "| all 10 missed delivered |",
                "| --- | --- | ---: | ---: | --- | --- |"]
        for case, block in summary["storm"].items():
            for name, row in block.items():
                out.append(f"| {case} | {STORM_SERVERS[name][0]} | {fmt(row['median_seconds'], 2)} "
                           f"| {fmt(row['median_max_stall_ms'])} | {row['recovered']} "
                           f"| {row['all_missed_delivered']} |")
    if summary["paths"]:
        out += ["", f"## 5. Delivery paths: one broadcast of M = {cfg['paths_messages']} emits, "
                f"N = {cfg['paths_clients']} clients ({cfg['paths_reps']} interleaved runs, medians)", "",
                "Two-server setups: the clients split half and half, server 1 emits; then server 1's "
                "clients drop, server 2 broadcasts 10 packets, and they reconnect to server 2. First "
                "packet: ms from the `go` emit until a probe client (its own process, connected last "
                "to each server) has its first packet; all done: until every client of that server "
                "has all M. Longest stall: how late a 10 ms tick in the server woke, in wall ms "
                "(and in the server's CPU ms: the stall on a core of its own, which other "
                "processes' load does not inflate).", "",
                "| setup | deliveries/s | server CPU us/delivery | server | longest stall ms (CPU ms) "
                "| first packet ms | all done ms | bad packets | recovered on server 2 (lost, dup) | load |",
                "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"]
        for name, row in summary["paths"].items():
            rec = row.get("recovery")
            rec_text = (f"{rec['recovered']} of {rec['clients']} "
                        f"({rec['lost']}, {rec['duplicated_or_reordered']})" if rec else "-")
            for k, srv in enumerate(row["servers"]):
                head = (f"| {PATH_SETUPS.get(name, (name,))[0]} | {fmt(row['median_deliveries_per_s'])} "
                        f"| {fmt(row['median_server_cpu_us_per_delivery'], 1)}" if k == 0 else "| | |")
                out.append(f"{head} | {k + 1} | {fmt(srv['median_max_stall_ms'])} "
                           f"({fmt(srv['median_max_stall_cpu_ms'])}) "
                           f"| {fmt(srv['median_first_packet_ms'], 1)} | {fmt(srv['median_all_done_ms'])} "
                           f"| {row['bad_packets'] if k == 0 else ''} | {rec_text if k == 0 else ''} "
                           f"| {', '.join(map(str, row['load'])) if k == 0 else ''} |")
    if data.get("crowd"):
        out += ["", f"## 6. {cfg['crowd_clients']:,} WebSocket connections on one server, "
                f"{cfg['crowd_drop']:,} dropped at once ({cfg['crowd_reps']} runs, medians)", "",
                "Memory: the server's resident memory (`/proc`: VmRSS; Node: `process.memoryUsage().rss`) "
                "after every client connected and got one packet, less before the first connected, per "
                "connection. Then that many clients lose their transports at once (`engine.close()`), the "
                "server broadcasts 10 packets, and they all reconnect at once; the others stay connected.",
                "", "| server | bytes per connection | s to connect all | recovered | s until the last "
                "has its 10 | longest stall ms | all 10 delivered once |",
                "| --- | ---: | ---: | --- | ---: | ---: | --- |"]
        for name in STORM_SERVERS:
            rows = [r for r in data["crowd"] if r["server"] == name]
            if rows:
                per_connection = median([r["bytes_per_connection"] for r in rows])
                out.append(f"| {STORM_SERVERS[name][0]} | {fmt(per_connection)} "
                           f"| {fmt(median([r['connect_all_s'] for r in rows]), 1)} "
                           f"| {[r['recovered'] for r in rows]} of {rows[0]['dropped']} "
                           f"| {fmt(median([r['seconds'] for r in rows]), 2)} "
                           f"| {fmt(median([r['server_max_stall_ms'] for r in rows]))} "
                           f"| {all(r['all_missed_delivered'] for r in rows)} |")
    if data.get("failures"):
        out += ["", f"**{len(data['failures'])} trial(s) did not finish** (see `failures` in the JSON):", ""]
        out += [f"- {f['part']} {f['server']} rep {f['rep']}: {f['error'].strip().splitlines()[-1]}"
                for f in data["failures"]]
    out += ["", "## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
    for name, value, met in summary["targets"]:
        out.append(f"| {name} | {fmt(value, 2)} | {'yes' if met else '**no**'} |")
    return "\n".join(out) + "\n"


def chart(data: dict, summary: dict, path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0][0]
    names = list(dict.fromkeys(r["server"] for r in data["throughput"])) or ["-"]
    groups = list(summary["throughput"])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [summary["throughput"][g]["servers"].get(name, {}).get("median_deliveries_per_s", 0)
                  for g in groups]
        ax.bar([g + i * width for g in range(len(groups))], values, width,
               label=data["labels"].get(name, name))
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
    ax.set_xticklabels([f"N = {g}" for g in groups])
    ax.set_ylabel("deliveries / s (median)")
    ax.set_title(f"1. Broadcast throughput, M = {data['config']['messages']}")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # room for the legend above the bars
    ax.legend(fontsize=8)

    ax = axes[0][1]
    for impl, label, style in (("chatlib", "chatlib MemoryStore.restore", "C2-o"),
                               ("js", "JS restoreSession", "C3-o"),
                               ("chatlib behind", "chatlib, offset behind the buffer", "C2:s"),
                               ("js behind", "JS, offset behind the buffer", "C3:s")):
        points = sorted(summary["restore"].get(impl, {}).items())
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=label)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1, label="target 100 us")
    if data["restore"]:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("packets buffered")
    ax.set_ylabel("us per restore (10 missed)")
    ax.set_title("2. Restore cost")
    ax.legend(fontsize=8)

    ax = axes[1][0]
    mem = summary["memory"]
    ax.bar(["chatlib MemoryStore\n(tracemalloc)", "JS adapter\n(heapUsed)"],
           [mem.get("chatlib") or 0, mem.get("js") or 0], color=["C2", "C3"])
    ax.set_ylabel("bytes per buffered packet")
    ax.set_title(f"3. Memory at {data['config']['memory_packets']:,} packets")

    ax = axes[1][1]
    cases = list(summary["storm"])
    for i, name in enumerate(STORM_SERVERS):
        secs = [summary["storm"][c].get(name, {}).get("median_seconds") or 0 for c in cases]
        stalls = [(summary["storm"][c].get(name, {}).get("median_max_stall_ms") or 0) / 1000 for c in cases]
        xs = [c * 2 + i * 0.4 for c in range(len(cases))]
        ax.bar(xs, secs, 0.4, label=f"{STORM_SERVERS[name][0]}: time to recover all",
               color=f"C{2 if name == 'on' else 3}")
        ax.bar([x + 0.9 for x in xs], stalls, 0.4, hatch="//", alpha=0.6,
               label=f"{STORM_SERVERS[name][0]}: longest stall", color=f"C{2 if name == 'on' else 3}")
    ax.set_xticks([c * 2 + 0.65 for c in range(len(cases))])
    ax.set_xticklabels(cases)
    ax.set_ylabel("seconds")
    ax.set_title(f"4. Reconnect storm, {data['config']['storm_clients']} clients")
    ax.legend(fontsize=7)
    started_load = data['environment']['uptime'].split('load average:')[-1].strip()
    fig.suptitle(f"chatlib benchmarks, {data['environment']['utc']} "
                 f"({'quick' if data['quick'] else 'full'}; load {started_load})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(data: dict, stem: pathlib.Path) -> str:
    summary = summarise(data)
    text = markdown(data, summary)
    stem.with_suffix(".md").write_text(text)
    chart(data, summary, stem.with_suffix(".png"))
    return text


README_START = "<!-- run.py --readme: tables from here -->"
README_END = "<!-- run.py --readme: to here -->"


def into_readme(tables: str, command: str) -> None:
    """Replace what lies between README.md's two markers by this run's tables (headings one level down)."""
    readme = BENCH / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme} has no results markers")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = "\n".join("#" + line if line.startswith("#") else line for line in tables.splitlines())
    readme.write_text(f"{head}{README_START}\n\n    {command}\n\n{body}\n\n{README_END}{tail}")


def ensure_node_modules() -> None:
    if not all((BENCH / "node_modules" / name).is_dir()
               for name in ("socket.io", "socket.io-client", "@socket.io/redis-streams-adapter", "redis")):
        log("installing the pinned Node packages (npm ci)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller and once: a smoke run")
    parser.add_argument("--only", default="throughput,restore,memory,storm,paths,crowd",
                        help="comma-separated subset of: throughput,restore,memory,storm,paths")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME,MODE[,ROOT[,FLAG...]]",
                        help="add a Python server to the throughput comparison (see add_variant)")
    parser.add_argument("--servers", help="throughput: only these of stock,off,on,node (variants still run)")
    parser.add_argument("--messages", help="override M, the messages per broadcast round (or one per "
                        "--clients count: 2000,2000,300)")
    parser.add_argument("--reps", type=int, help="override the number of interleaved runs")
    parser.add_argument("--clients", help="override the client counts, e.g. 200")
    parser.add_argument("--report", metavar="FILE", help="rebuild table and chart from a JSON file")
    parser.add_argument("--ha", action="store_true",
                        help="part 5: also two chatlib servers on Sentinel and on Redis Cluster")
    parser.add_argument("--readme", action="store_true",
                        help="also put the tables into bench/README.md, between its results markers")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.report:
        data = json.loads(pathlib.Path(args.report).read_text())
        print(report(data, RESULTS / "latest"))
        return
    ensure_node_modules()
    cfg = dict(QUICK if args.quick else FULL)
    if args.reps:
        cfg["reps"] = cfg["storm_reps"] = cfg["memory_reps"] = cfg["paths_reps"] = args.reps
    if args.clients:
        cfg["clients"] = [int(n) for n in args.clients.split(",")]
    if args.messages:
        cfg["messages"] = ([int(m) for m in args.messages.split(",")] if "," in args.messages
                           else int(args.messages))
    if args.servers:
        for name in set(THROUGHPUT_SERVERS) - set(args.servers.split(",")):
            del THROUGHPUT_SERVERS[name]
    for spec in args.variant:
        add_variant(spec)
    cfg["variants"] = args.variant
    cfg["ha"] = args.ha
    wanted = set(args.only.split(","))
    data: dict = {"quick": args.quick, "config": cfg, "environment": environment(),
                  "labels": {name: spec[0] for name, spec in THROUGHPUT_SERVERS.items()},
                  "throughput": [], "restore": [], "memory": [], "storm": [], "paths": [], "crowd": []}
    started = time.monotonic()
    for part, measure in (("throughput", throughput), ("restore", restore),
                          ("memory", memory), ("storm", storm), ("paths", paths),
                          ("crowd", crowd)):
        if part in wanted:
            log(f"--- {part}")
            data[part] = measure(cfg)
    data["failures"] = failures
    data["seconds"] = round(time.monotonic() - started)
    data["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(data, indent=1)
    (RESULTS / f"run-{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    text = report(data, RESULTS / "latest")
    print(text)
    if args.readme:
        into_readme(text, f"python3 bench/run.py {' '.join(sys.argv[1:])}")
    log(f"done in {data['seconds']} s: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
