"""Chaos on the stores made for production, with the servers in processes of their own.

- SQLiteStore: one server broadcasting numbered messages, SIGKILLed mid-chaos and started
  again on the same file and port.
- RedisStore: two servers sharing a Redis, each broadcasting its own numbered messages;
  Python and Node clients move from one server to the other at every reconnection; server A is
  SIGKILLed and started again; redis-server itself is killed and started again (empty) once.
- RedisStore on Sentinel (a primary, a replica, three sentinels) and on a Redis Cluster (three
  primaries, three replicas): the same, but instead of the Redis restart the primary (the one
  serving the store's slot, on the cluster) is SIGKILLed and its replica promoted, after its
  replication was cut so that the new primary lacks the last packets.

Meanwhile a seeded schedule drops RecoveryClients and Node socket.io-client 4.8 clients:
transport aborts, ping timeouts (a client that stops answering pings), and aborts and ping
timeouts in the middle of a replay (after a drop and a backlog, the client reconnects and,
after a few of its replayed messages, drops again or goes silent).

What must hold, for every client and every broadcasting server: no number twice, numbers in
order, none missing except right after a reconnection that said ``recovered`` false (the
client was told); every message up to the last one stored reached every client; with SQLite
every reconnection is a recovery; no offset is given to two different messages; no store call
holds a server's event loop for 100 ms or more (fast profile).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import socketio

from chatlib.core.store import UNSTORED
from tests.helpers import eventually
from tests.reliability.support import MutableRecoveryClient
from tests.reliability.test_chaos import NodeParticipant
from tests.services import RedisServer, free_port
from tests.stores.ha import ClusterGroup, SentinelGroup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STEP = 1_000_000_000  # chaos_server.py numbers: server index * STEP + n
PYTHON_CLIENTS = 6
NODE_CLIENTS = 2
FAULTS_PER_SECOND = 3.0
SEED = 20261201
KINDS = ("abort", "ping_timeout", "mid_replay", "ping_timeout_mid_replay")
STALL_LIMIT_MS = 100.0


class ServerProcess:
    """chaos_server.py in a process of its own, on a fixed port (kept across restarts)."""

    def __init__(self, index: int, stats: Path, *options: str) -> None:
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats = stats
        self.options = options
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.longest_store_call_ms = 0.0
        self.longest_call = ""
        self.longest_store_call_cpu_ms = 0.0
        self.store_calls_over_100ms = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "chaos_server.py"), "--port", str(self.port),
            "--index", str(self.index), "--stats", str(self.stats), *self.options,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert line.strip() == b"ready", line

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def _read_stats(self) -> None:
        try:
            stats = json.loads(self.stats.read_text())
        except (OSError, ValueError):
            return
        self.longest_store_call_cpu_ms = max(self.longest_store_call_cpu_ms,
                                             stats["longest_store_call_cpu_ms"])
        self.store_calls_over_100ms += stats["store_calls_over_100ms"]
        if stats["longest_store_call_ms"] > self.longest_store_call_ms:
            self.longest_store_call_ms = stats["longest_store_call_ms"]
            self.longest_call = stats["longest_call"]

    async def kill(self) -> None:
        self._read_stats()
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def restart(self) -> None:
        await self.kill()
        self.restarts += 1
        await self.start()

    async def stop_broadcast(self) -> int:
        """Stop broadcasting; returns the last number sent (as its n, without the index)."""
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 10)
        assert line.startswith(b"stopped "), line
        return int(line.split()[1])

    async def stop(self) -> None:
        if self.alive:
            await self.kill()
        else:
            self._read_stats()


class PythonClient:
    """A MutableRecoveryClient and a supervisor that reconnects it whenever it is down,
    to the next live server in turn (so with two servers it moves at every reconnection)."""

    kind = "python"

    def __init__(self, index: int, servers: list[ServerProcess]) -> None:
        self.index = index
        self.servers = servers
        self.turn = index
        self.client = MutableRecoveryClient(reconnection=False)
        self.events: list[tuple] = []   # ("c", recovered) and ("m", number), in arrival order
        self.offsets: dict[str, set[int]] = {}  # offset -> the numbers that came with it
        self.countdown: int | None = None
        self.mute_at_zero = False
        self.hold_until = 0.0
        self.running = True
        self.reconnects = 0
        self.busy = False
        self.client.on("connect", lambda: self.events.append(("c", self.client.recovered)))
        self.client.on("m", self._on_message)
        self._supervisor: asyncio.Task | None = None

    def _on_message(self, number: int) -> None:
        self.events.append(("m", number))
        self.offsets.setdefault(self.client.last_offset, set()).add(number)
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown <= 0:
                self.countdown = None
                if self.mute_at_zero:
                    self.client.eio.mute = True  # silent from here: a ping timeout mid-replay
                else:
                    asyncio.get_running_loop().create_task(self.client.drop())

    @property
    def connected(self) -> bool:
        return self.client.connected and self.client.eio.state == "connected"

    def _next_url(self) -> str:
        live = [server for server in self.servers if server.alive] or self.servers
        self.turn += 1
        return live[self.turn % len(live)].url

    async def start(self) -> None:
        await self.client.connect(self._next_url(), transports=["websocket"], wait_timeout=10)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        while self.running:
            await asyncio.sleep(0.05)
            if (self.connected or self.client.eio.state != "disconnected"
                    or time.monotonic() < self.hold_until):
                continue
            try:
                await self.client.reconnect(url=self._next_url(), wait_timeout=5)
                self.reconnects += 1
            except (socketio.exceptions.ConnectionError, ValueError):
                await asyncio.sleep(0.1)

    async def fault(self, kind: str, rng: random.Random) -> None:
        if kind == "abort":
            await self.client.drop()
        elif kind == "ping_timeout":
            self.client.eio.mute = True
        elif kind in ("mid_replay", "ping_timeout_mid_replay"):
            self.hold_until = time.monotonic() + 0.5   # let a backlog pile up
            self.countdown = rng.randrange(1, 20)       # then drop again within the replay
            self.mute_at_zero = kind == "ping_timeout_mid_replay"
            await self.client.drop()
        connects = sum(1 for event in self.events if event[0] == "c")
        await eventually(lambda: self.connected and sum(
            1 for event in self.events if event[0] == "c") > connects, 60,
            f"python client {self.index} to come back after {kind}")

    def numbers(self) -> list[int]:
        return [event[1] for event in self.events if event[0] == "m"]

    async def stop(self) -> None:
        self.running = False
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self.client.shutdown()
        if self.client.eio.state != "disconnected":
            await self.client.eio.disconnect(abort=True)


async def node_fault(client: NodeParticipant, kind: str, rng: random.Random) -> None:
    await eventually(lambda: client.connected, 60, f"node client {client.index} connected")
    before = len(client.connects)
    if kind == "abort":
        await client.request("drop")
    elif kind == "ping_timeout":
        await client.request("mute")
    elif kind in ("mid_replay", "ping_timeout_mid_replay"):
        await client.request("arm", after=rng.randrange(1, 6),
                             mute=kind == "ping_timeout_mid_replay")
        await client.request("drop")
        await eventually(lambda: len(client.connects) > before, 60, "node reconnect")
        before += 1
    await eventually(lambda: len(client.connects) > before, 60,
                     f"node client {client.index} to come back after {kind}")


def check_python(events: list[tuple], finals: dict[int, int]) -> Counter:
    """Duplicates, order, losses of one client's interleaved log; a jump is only allowed as
    the first message from a server after a reconnection that was not recovered."""
    counts: Counter = Counter()
    last: dict[int, int] = {}
    told: set[int] = set()
    since = "the start"  # the last connection, for the report of a loss
    for event in events:
        if event[0] == "c":
            since = f"connect #{counts['recovered'] + counts['not_recovered'] + 1} " \
                    f"(recovered={event[1]})"
            if not event[1]:
                told = set(finals)
                counts["not_recovered"] += 1
            else:
                counts["recovered"] += 1
            continue
        server, n = divmod(event[1], STEP)
        if server in last:
            if n <= last[server]:
                counts["duplicates_or_out_of_order"] += 1
                continue
            if n > last[server] + 1:
                if server in told:
                    counts["told_gaps"] += n - last[server] - 1
                else:
                    counts["losses"] += n - last[server] - 1
                    counts[f"lost {server}:{last[server] + 1}..{n - 1} after {since}"] += 1
        told.discard(server)
        last[server] = n
    for server, final in finals.items():
        if last.get(server, -1) < final:
            # told since its last message from that server (cut off after the broadcasts
            # ended: a feed that fell behind on a busy machine, a gap written late)
            key = "told_gaps" if server in told else "tail_losses"
            counts[key] += final - last.get(server, -1)
    return counts


def told_since_last_message(events: list[tuple], server: int) -> bool:
    """Whether a reconnection said ``recovered`` false after the client's last message from
    ``server``: it was told it may miss what came after."""
    for event in reversed(events):
        if event[0] == "c" and not event[1]:
            return True
        if event[0] == "m" and event[1] // STEP == server:
            return False
    return False


def check_node(client: NodeParticipant, finals: dict[int, int]) -> Counter:
    """A Node client reports its numbers and its connects separately: jumps are allowed at
    most once per server per reconnection that was not recovered."""
    counts: Counter = Counter()
    numbers = list(dict.fromkeys(client.numbers))
    counts["js_client_repeats"] = len(client.numbers) - len(numbers)
    unrecovered = sum(1 for connect in client.connects[1:] if not connect["recovered"])
    counts["not_recovered"] = unrecovered
    counts["recovered"] = len(client.connects) - 1 - unrecovered
    jumps: Counter = Counter()
    last: dict[int, int] = {}
    for number in numbers:
        server, n = divmod(number, STEP)
        if server in last:
            if n <= last[server]:
                counts["duplicates_or_out_of_order"] += 1
                continue
            if n > last[server] + 1:
                jumps[server] += 1
                counts["told_gaps"] += n - last[server] - 1
        last[server] = n
    counts["losses"] = sum(max(0, jumps[server] - unrecovered) for server in jumps)
    for server, final in finals.items():
        if last.get(server, -1) < final:
            # told since its last message from that server, as check_python allows
            at = max((i for i, number in enumerate(client.numbers) if number // STEP == server),
                     default=-1)
            told = any(not connect["recovered"] and connect.get("count", -1) > at
                       for connect in client.connects[1:])
            counts["told_gaps" if told else "tail_losses"] += final - last.get(server, -1)
    return counts


async def run_chaos(profile, servers: list[ServerProcess], node: str, events: dict) -> dict:
    """Clients, a fault schedule and timed events (fraction of the run -> coroutine function)."""
    rng = random.Random(SEED)
    for server in servers:
        await server.start()
    python = [PythonClient(i, servers) for i in range(PYTHON_CLIENTS)]
    # Node clients move too: at every reconnection attempt to the next server (chaos_client.js)
    nodes = [NodeParticipant(PYTHON_CLIENTS + i, ",".join(
                 server.url for server in servers[i % len(servers):] + servers[:i % len(servers)]),
                 node)
             for i in range(NODE_CLIENTS)]
    faults: Counter = Counter()
    started = time.monotonic()
    try:
        for client in python:
            await client.start()
        for client in nodes:
            await client.start()
        # the schedule starts once every client is in: on a busy machine their connects
        # alone could take the whole duration, and every event would come at its end
        scheduled = time.monotonic()
        duration = profile.store_chaos_seconds
        pending = sorted(events.items())
        tasks: list[asyncio.Task] = []
        busy: set[int] = set()

        async def run_fault(index: int, kind: str, seed: int) -> None:
            busy.add(index)
            try:
                everyone = python + nodes
                target = everyone[index]
                if target.kind == "python":
                    await target.fault(kind, random.Random(seed))
                else:
                    await node_fault(target, kind, random.Random(seed))
                faults[(target.kind, kind)] += 1
            finally:
                busy.discard(index)

        # every kind on both kinds of client first, then random ones
        planned = [(kind, rng.randrange(PYTHON_CLIENTS)) for kind in KINDS]
        planned += [(kind, PYTHON_CLIENTS + rng.randrange(NODE_CLIENTS)) for kind in KINDS]
        rng.shuffle(planned)
        next_fault = 0.0
        while (elapsed := time.monotonic() - scheduled) < duration:
            while pending and pending[0][0] * duration <= elapsed:
                _, action = pending.pop(0)
                await action()
            if elapsed >= next_fault and elapsed < duration * 0.85:
                kind, index = (planned.pop(0) if planned else
                               (rng.choice(KINDS), rng.randrange(len(python) + len(nodes))))
                if index in busy:
                    planned.append((kind, index))  # its turn comes again
                else:
                    tasks.append(asyncio.get_running_loop().create_task(
                        run_fault(index, kind, rng.randrange(1 << 30))))
                next_fault = elapsed + rng.expovariate(FAULTS_PER_SECOND)
            await asyncio.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        for _, action in pending:
            await action()
        finals = {server.index: await server.stop_broadcast() for server in servers}

        def behind() -> list[str]:
            return [f"python {client.index} (connected: {client.connected}, last events: "
                    f"{client.events[-3:]})" for client in python
                    if not (client.connected and all(
                        any(e[0] == "m" and e[1] == server * STEP + n for e in client.events[-50:])
                        or told_since_last_message(client.events, server)
                        for server, n in finals.items()))]

        try:
            await eventually(lambda: not behind(), 60, "every Python client to have the last message")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last sent {finals}; behind: {behind()}") from None
        for client in nodes:
            await eventually(lambda client=client: client.connected, 30,
                             f"node client {client.index} connected: {client.connects[-2:]} "
                             f"{client.disconnect_reasons[-2:]} {client.errors[-2:]}")
        await asyncio.sleep(0.5)
        for client in nodes:
            await client.collect()
        node_servers = {client.index: len({connect["uri"] for connect in client.connects})
                        for client in nodes}
    finally:
        await asyncio.gather(*(client.stop() for client in python + nodes), return_exceptions=True)
        for server in servers:
            await server.stop()
    totals: Counter = Counter()
    per_client = {}
    for client in python:
        counts = check_python(client.events, finals)
        per_client[f"python {client.index}"] = counts
        totals.update(counts)
    for client in nodes:
        counts = check_node(client, finals)
        per_client[f"node {client.index}"] = counts
        totals.update(counts)
    deliveries = sum(len(c.numbers()) for c in python) + sum(len(c.numbers) for c in nodes)
    offsets: dict[str, set[int]] = {}
    for client in python:
        for offset, numbers in client.offsets.items():
            offsets.setdefault(offset, set()).update(numbers)
    # packets a server could not store all say UNSTORED: that offset is never sent back
    totals["offsets_reused"] = sum(1 for offset, numbers in offsets.items()
                                   if len(numbers) > 1 and offset != UNSTORED)
    return {"seconds": round(time.monotonic() - started, 1), "deliveries": deliveries,
            "faults": dict(faults), "totals": totals, "per_client": per_client,
            "sent": {server.index: finals[server.index] + 1 for server in servers},
            "longest_store_call_ms": max(server.longest_store_call_ms for server in servers),
            "longest_call": max(servers, key=lambda s: s.longest_store_call_ms).longest_call,
            "longest_store_call_cpu_ms": max(s.longest_store_call_cpu_ms for s in servers),
            "store_calls_over_100ms": sum(s.store_calls_over_100ms for s in servers),
            "node_clients_servers": node_servers}


def assert_invariants(result: dict, profile, every_drop_recovered: bool) -> None:
    totals = result["totals"]
    bad = {name: {k: v for k, v in counts.items()
                  if (k in ("duplicates_or_out_of_order", "losses", "tail_losses")
                      or k.startswith("lost ")) and v}
           for name, counts in result["per_client"].items()}
    bad = {name: counts for name, counts in bad.items() if counts}
    assert not bad, f"lost, repeated or out of order: {bad}"
    assert totals["offsets_reused"] == 0, f"offsets given to two messages: {totals}"
    if every_drop_recovered:
        assert totals["not_recovered"] == len(result["per_client"]) - NODE_CLIENTS, \
            f"only the first connection of each Python client may be unrecovered: {totals}"
        assert totals["told_gaps"] == 0, totals
    # every Node client reconnected at least once (the schedule, the kill, the Redis restart)
    # and so, with two servers, was on both
    servers = len(result["sent"])
    assert all(count == servers for count in result["node_clients_servers"].values()), \
        f"servers each Node client was on: {result['node_clients_servers']}"
    fired = {(kind, fault) for kind, fault in result["faults"]}
    assert fired == {(kind, fault) for kind in ("python", "node") for fault in KINDS}, fired
    if profile.name == "fast":
        # CPU time, not wall clock: on a machine shared by other jobs the wall clock of a call
        # also counts the time other processes ran (the figures report both)
        assert result["longest_store_call_cpu_ms"] < STALL_LIMIT_MS, result


def figures_of(result: dict) -> dict:
    totals = result["totals"]
    return {"seconds": result["seconds"], "deliveries": result["deliveries"],
            "sent": result["sent"], "faults": sum(result["faults"].values()),
            "fault_kinds": {f"{kind}/{fault}": n for (kind, fault), n in result["faults"].items()},
            "reconnects_recovered": totals["recovered"],
            "reconnects_not_recovered": totals["not_recovered"] - PYTHON_CLIENTS,
            "told_gaps": totals["told_gaps"], "losses": totals["losses"] + totals["tail_losses"],
            "duplicates": totals["duplicates_or_out_of_order"],
            "offsets_reused": totals["offsets_reused"],
            "js_client_repeats": totals["js_client_repeats"],
            "longest_store_call_ms": result["longest_store_call_ms"],
            "longest_call": result["longest_call"],
            "longest_store_call_cpu_ms": result["longest_store_call_cpu_ms"],
            "store_calls_over_100ms": result["store_calls_over_100ms"],
            "node_clients_servers": result["node_clients_servers"]}


async def test_sqlite_store_chaos_with_the_server_killed_and_restarted(
        tmp_path, node_executable, profile, figures):
    server = ServerProcess(0, tmp_path / "stats0.json", "--db", str(tmp_path / "chaos.db"))
    result = await run_chaos(profile, [server], node_executable, {0.4: server.restart})
    figures(**figures_of(result), server_restarts=server.restarts)
    assert server.restarts == 1
    assert_invariants(result, profile, every_drop_recovered=True)


async def test_redis_store_chaos_with_two_servers_a_kill_and_a_redis_restart(
        tmp_path, node_executable, profile, figures):
    redis_server = RedisServer()
    try:
        servers = [ServerProcess(i, tmp_path / f"stats{i}.json", "--redis", redis_server.url,
                                 "--prefix", "chaos:", "--rate", "50") for i in range(2)]
        a = servers[0]

        async def kill_a() -> None:
            await a.kill()

        async def start_a() -> None:
            a.restarts += 1
            await a.start()

        async def restart_redis() -> None:
            redis_server.kill()
            await asyncio.sleep(0.3)
            redis_server.start()

        result = await run_chaos(profile, servers, node_executable,
                                 {0.3: kill_a, 0.4: start_a, 0.65: restart_redis})
    finally:
        redis_server.stop()
    figures(**figures_of(result), server_restarts=a.restarts, redis_restarts=1)
    assert_invariants(result, profile, every_drop_recovered=False)
    # the Redis restart emptied it: clients were told rather than silently left with a gap
    assert result["totals"]["not_recovered"] > PYTHON_CLIENTS


@pytest.mark.xfail(strict=False, reason=(
    "open (issue 23): about one run in three, one message at the failover is missing at a "
    "server's own clients with no recovered=false (docs/reliability.md, 'Open'); kept running "
    "so that every run shows whether it still happens"))
async def test_redis_store_chaos_on_sentinel_with_a_server_killed_and_the_primary_killed(
        tmp_path, node_executable, profile, figures):
    """The primary's link to its replica is cut a moment before it is killed (once the servers
    stored a few packets more), so the promoted replica lacks them: asynchronous
    replication's loss, made certain. Fails before RedisStore took Sentinel URLs (the servers
    do not start), and without the failover detection (resync.lua's jump and gap) with reused offsets and
    messages lost silently."""
    group = SentinelGroup(tmp_path / "sentinel")
    failover: list[asyncio.Future] = []
    try:
        servers = [ServerProcess(i, tmp_path / f"stats{i}.json", "--redis", group.url,
                                 "--prefix", "chaos:", "--rate", "50") for i in range(2)]
        a = servers[0]

        async def kill_a() -> None:
            await a.kill()

        async def start_a() -> None:
            a.restarts += 1
            await a.start()

        async def fail_over() -> None:
            # in a thread: the sentinels take seconds to agree, and the chaos goes on meanwhile
            failover.append(asyncio.get_running_loop().run_in_executor(
                None, group.lose_writes_then_fail_over, "chaos:seq"))

        result = await run_chaos(profile, servers, node_executable,
                                 {0.3: kill_a, 0.4: start_a, 0.5: fail_over})
        lost = (await asyncio.gather(*failover))[0]
    finally:
        await asyncio.gather(*failover, return_exceptions=True)
        group.stop()
    figures(**figures_of(result), server_restarts=a.restarts, failovers=group.failovers,
            packets_the_new_primary_lacked=lost)
    assert group.failovers == 1 and lost > 0
    assert_invariants(result, profile, every_drop_recovered=False)


async def test_redis_store_chaos_on_a_cluster_with_a_server_killed_and_a_primary_killed(
        tmp_path, node_executable, profile, figures):
    """As on Sentinel, with the store's slot on a cluster (``--cluster``), the managers on
    another primary. Fails before RedisStore took ``cluster=True`` (the servers do not start),
    and without the failover detection as the Sentinel run does."""
    cluster = ClusterGroup(tmp_path / "cluster")
    failover: list[asyncio.Future] = []
    try:
        manager = f"redis://127.0.0.1:{cluster.other_primary('{chaos}:seq').port}/0"
        servers = [ServerProcess(i, tmp_path / f"stats{i}.json", "--redis", cluster.url,
                                 "--cluster", "--manager", manager,
                                 "--prefix", "chaos:", "--rate", "50") for i in range(2)]
        a = servers[0]

        async def kill_a() -> None:
            await a.kill()

        async def start_a() -> None:
            a.restarts += 1
            await a.start()

        async def fail_over() -> None:
            failover.append(asyncio.get_running_loop().run_in_executor(
                None, cluster.lose_writes_then_fail_over, "{chaos}:seq"))

        result = await run_chaos(profile, servers, node_executable,
                                 {0.3: kill_a, 0.4: start_a, 0.5: fail_over})
        lost = (await asyncio.gather(*failover))[0]
    finally:
        await asyncio.gather(*failover, return_exceptions=True)
        cluster.stop()
    figures(**figures_of(result), server_restarts=a.restarts, failovers=cluster.failovers,
            packets_the_new_primary_lacked=lost)
    assert cluster.failovers == 1 and lost > 0
    assert_invariants(result, profile, every_drop_recovered=False)
