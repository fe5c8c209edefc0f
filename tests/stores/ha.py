"""Redis made highly available, on loopback, for the tests: a Sentinel group (a primary, a
replica, three sentinels) and a Redis Cluster (three primaries, three replicas), all real
``redis-server`` processes (Debian's, with ``--sentinel`` and ``--cluster-enabled yes``)
started and stopped by the tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

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

    def __init__(self, folder: Path, *arguments: str, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.arguments = arguments
        self.process: Optional[subprocess.Popen] = None
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

    def stop(self) -> None:
        for node in [*self.sentinels, self.primary, getattr(self, "replica", None)]:
            if node is not None:
                node.stop()
