"""Redis made highly available, on loopback, for the tests: a Sentinel group (a primary, a
replica, three sentinels) and a Redis Cluster (three primaries, three replicas), all real
``redis-server`` processes (Debian's, with ``--sentinel`` and ``--cluster-enabled yes``)
started and stopped by the tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.services import free_port, require

SERVICE = "chat"
DOWN_AFTER_MS = 1000  # how long the sentinels wait before they call a silent primary down


def _redis_server() -> str:
    executable = shutil.which("redis-server")
    require("redis-server", executable is not None, "apt-get install redis-server")
    return executable


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` (errors count as "not yet") every 50 ms, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (redis.exceptions.RedisError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Node:
    """One redis-server process on 127.0.0.1 (no persistence), with its arguments."""

    def __init__(self, folder: Path, *arguments: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.arguments = arguments
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [_redis_server(), *self.arguments, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.client().ping(), 10, f"redis-server on {self.port}")

    def client(self, **options) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1.0, socket_connect_timeout=0.5,
                           **options)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: gone at once, with whatever it did not send its replica."""
        if self.alive:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.alive:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class SentinelGroup:
    """A primary, one replica and three sentinels watching them (quorum 2).

    ``url`` is the ``redis+sentinel://`` URL both ``RedisStore`` and python-socketio's
    ``AsyncRedisManager`` take.
    """

    def __init__(self, folder: Path) -> None:
        self.sentinels: list[Node] = []
        self.primary = Node(folder / "primary")
        try:
            self._start(folder)
        except BaseException:
            self.stop()
            raise

    def _start(self, folder: Path) -> None:
        self.replica = Node(folder / "replica", "--replicaof", "127.0.0.1", str(self.primary.port))
        wait_until(lambda: self.replica.client().info("replication")["master_link_status"] == "up",
                   10, "the replica to sync")
        for i in range(3):
            where = folder / f"sentinel{i}"
            where.mkdir(parents=True)
            config = where / "sentinel.conf"  # a sentinel rewrites its file: one each
            config.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n")
            self.sentinels.append(Node(where, str(config), "--sentinel"))
        wait_until(lambda: all(self._sentinel_knows_everyone(s) for s in self.sentinels), 20,
                   "the sentinels to find the replica and each other")
        self.url = "redis+sentinel://" + ",".join(
            f"127.0.0.1:{s.port}" for s in self.sentinels) + f"/0/{SERVICE}"
        self.failovers = 0

    @staticmethod
    def _sentinel_knows_everyone(sentinel: Node) -> bool:
        master = sentinel.client(decode_responses=True).sentinel_master(SERVICE)
        return master["num-slaves"] >= 1 and master["num-other-sentinels"] >= 2

    def primary_port(self) -> int:
        return self._named_port(self.sentinels[0])

    @staticmethod
    def _named_port(sentinel: Node) -> int:
        return int(sentinel.client().sentinel_get_master_addr_by_name(SERVICE)[1])

    def kill_primary(self, timeout: float = 30) -> None:
        """SIGKILL the primary and wait until every sentinel names the replica instead."""
        old = self.primary
        old.kill()
        self.replica.resume()  # after cut_replication
        wait_until(lambda: all(self._named_port(s) == self.replica.port for s in self.sentinels),
                   timeout, "the sentinels to promote the replica")
        wait_until(lambda: self.replica.client().info("replication")["role"] == "master", 10,
                   "the replica to take the primary's role")
        self.primary, self.replica = self.replica, old
        self.failovers += 1

    def cut_replication(self) -> None:
        """From now on, the primary's writes do not reach the replica (it is paused and its
        link closed), as asynchronous replication allows; ``kill_primary`` then loses them."""
        self.replica.pause()
        self.primary.client().execute_command("CLIENT", "KILL", "TYPE", "replica")

    def lose_writes_then_fail_over(self, key: str, writes: int = 5, patience: float = 0.8) -> int:
        """Cut the replication, wait until ``key`` (an integer) grew by ``writes`` on the
        primary (at most ``patience`` seconds: the sentinels must not call the paused replica
        down), then ``kill_primary``. Returns by how much it grew: what the new primary lacks."""
        grown = _lose_writes(lambda: self.primary, lambda: self.replica, key, writes, patience)
        self.kill_primary()
        return grown

    def stop(self) -> None:
        for node in [*self.sentinels, self.primary, getattr(self, "replica", None)]:
            if node is not None:
                node.stop()


NODE_TIMEOUT_MS = 1000  # how long cluster nodes wait before they call a silent primary down


class ClusterGroup:
    """A Redis Cluster on loopback: three primaries and three replicas, created with
    ``redis-cli --cluster create`` (one replica per primary).

    ``url`` names one node; RedisStore(url, cluster=True) finds the others from it.
    """

    def __init__(self, folder: Path) -> None:
        cli = shutil.which("redis-cli")
        require("redis-cli", cli is not None, "apt-get install redis-tools")
        self.nodes: list[Node] = []
        try:
            for i in range(6):
                # the bus port is named: port + 10000, its default, may be past 65535
                self.nodes.append(Node(folder / f"node{i}", "--cluster-enabled", "yes",
                                       "--cluster-port", str(free_port()),
                                       "--cluster-config-file", "nodes.conf",
                                       "--cluster-node-timeout", str(NODE_TIMEOUT_MS)))
            done = subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes),
                 "--cluster-replicas", "1", "--cluster-yes"],
                capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            wait_until(lambda: all(node.client().cluster("info")["cluster_state"] == "ok"
                                   and len(self._replicas(node)) == 3 for node in self.nodes),
                       30, "every node to see the cluster whole")
            # a replica that never synced will not take over (its data is "too old")
            wait_until(lambda: all(self._synced(node) for node in self.nodes), 30,
                       "every replica to sync with its primary")
        except BaseException:
            self.stop()
            raise
        self.url = f"redis://127.0.0.1:{self.nodes[0].port}/0"
        self.failovers = 0

    @staticmethod
    def _replicas(node: Node) -> list[str]:
        flags = [line.split()[2].split(",") for line in
                 node.client().execute_command("CLUSTER", "NODES").decode().splitlines()]
        return [flag for flag in flags if "slave" in flag and "fail" not in flag]

    @staticmethod
    def _synced(node: Node) -> bool:
        replication = node.client().info("replication")
        return replication["role"] == "master" or replication.get("master_link_status") == "up"

    def owner(self, key: str) -> Node | None:
        """The live primary that serves ``key``'s slot, as that primary itself says."""
        for node in self.nodes:
            if not node.alive or node.client().info("replication")["role"] != "master":
                continue
            slot = node.client().cluster("keyslot", key)
            for start, end, primary, *_ in node.client().execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end and int(primary[1]) == node.port:
                    return node
        return None

    def kill_primary_of(self, key: str, timeout: float = 30) -> Node:
        """SIGKILL the primary serving ``key`` and wait until its replica took the slot over."""
        old = self.owner(key)
        assert old is not None, f"no live primary serves {key!r}"
        old.kill()
        for node in self.nodes:
            if node.alive:
                node.resume()  # after cut_replication_of
        wait_until(lambda: self.owner(key) not in (None, old) and all(
            node.client().cluster("info")["cluster_state"] == "ok"
            for node in self.nodes if node.alive), timeout, f"a replica to take {key!r} over")
        self.failovers += 1
        new = self.owner(key)
        assert new is not None
        return new

    def replica_of(self, primary: Node) -> Node:
        for node in self.nodes:
            replication = node.client().info("replication")
            if replication["role"] == "slave" and replication["master_port"] == primary.port:
                return node
        raise AssertionError(f"no replica of {primary.port}")

    def cut_replication_of(self, key: str) -> None:
        """From now on, writes to ``key``'s primary do not reach its replica (paused, its link
        closed); ``kill_primary_of`` then loses them."""
        primary = self.owner(key)
        assert primary is not None
        self.replica_of(primary).pause()
        primary.client().execute_command("CLIENT", "KILL", "TYPE", "replica")

    def lose_writes_then_fail_over(self, key: str, writes: int = 5, patience: float = 0.8) -> int:
        """As ``SentinelGroup.lose_writes_then_fail_over``, for the primary serving ``key``."""
        primary = self.owner(key)
        assert primary is not None
        grown = _lose_writes(lambda: primary, lambda: self.replica_of(primary), key, writes, patience)
        self.kill_primary_of(key)
        return grown

    def other_primary(self, key: str) -> Node:
        """A live primary that does not serve ``key``."""
        owner = self.owner(key)
        for node in self.nodes:
            if node.alive and node is not owner and \
                    node.client().info("replication")["role"] == "master":
                return node
        raise AssertionError("no other primary")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _lose_writes(primary: Callable[[], Node], replica: Callable[[], Node], key: str, writes: int,
                 patience: float, attempts: int = 5) -> int:
    """Pause the replica and close its link, and wait until ``key`` grew on the primary; if it
    did not grow in ``patience`` seconds (nobody wrote: a busy machine), let the replica catch
    up and try again. Returns the growth the replica missed (0 if it never grew)."""
    grown = 0
    for _ in range(attempts):
        before = int(primary().client().get(key) or 0)
        paused = replica()
        paused.pause()
        primary().client().execute_command("CLIENT", "KILL", "TYPE", "replica")
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline and grown < writes:
            time.sleep(0.02)
            grown = int(primary().client().get(key) or 0) - before
        if grown:
            return grown
        paused.resume()
        wait_until(lambda node=paused: node.client().info("replication")["master_link_status"] == "up",
                   10,
                   "the replica to catch up again")
    return grown
