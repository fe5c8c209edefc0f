"""What the tests need from outside Python: the CI rule, Node with the official socket.io
packages, and a real redis-server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parent / "interop"
INTEROP_PACKAGES = ("socket.io", "socket.io-client", "socket.io-msgpack-parser")
NPM_CI_TIMEOUT = 100  # below pytest-timeout's 120 s for the test that triggers it


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(component: str, available: bool, how: str) -> None:
    """Fail in CI when a component the test needs is missing; skip with one line elsewhere.

    A CI run that silently skipped such a test would claim a check it never made.
    """
    if available:
        return
    if in_ci():
        pytest.fail(f"{component} is missing in CI: {how}", pytrace=False)
    pytest.skip(f"{component} not installed ({how})")


def _missing_interop_packages() -> list[str]:
    return [name for name in INTEROP_PACKAGES
            if not (INTEROP / "node_modules" / name / "package.json").is_file()]


def _npm_ci(folder: Path) -> str | None:
    """Install the locked packages of ``folder``; returns why it could not, or None."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    if not (folder / "package-lock.json").is_file():
        return f"{folder}/package-lock.json is missing"
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=folder, capture_output=True, text=True,
                              timeout=NPM_CI_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"npm ci took longer than {NPM_CI_TIMEOUT}s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"npm ci failed: {last}"
    return None


def node_with_interop_packages() -> str:
    """Node's path, with the locked socket.io packages in tests/interop/node_modules.

    Runs ``npm ci`` there when they are missing; fails in CI, skips elsewhere, when it cannot.
    """
    reason = None
    node = shutil.which("node")
    if node is None:
        reason = "node is not on PATH"
    elif _missing_interop_packages():
        reason = _npm_ci(INTEROP)
        if reason is None and _missing_interop_packages():
            reason = f"npm ci did not install {', '.join(_missing_interop_packages())}"
    require("Node with the socket.io packages", reason is None,
            f"{reason}; run `npm ci` in {INTEROP}")
    return node


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process on 127.0.0.1, stopped by ``stop()``.

    With no ``folder`` it keeps nothing on disk, so ``kill()`` and ``start()``
    give an empty Redis on the same port (a restart that lost the data); with a
    ``folder`` it writes an append-only file fsynced on every write, so a restart
    after ``kill()`` finds everything again.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.executable = shutil.which("redis-server")
        require("redis-server", self.executable is not None, "apt-get install redis-server")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        persistence = (["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)]
                       if self.folder is not None else ["--appendonly", "no"])
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *persistence, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: Redis goes away at once, as in a crash."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
