"""Fixtures for the interop tests: Node, the official socket.io packages, and processes to drive.

The Node helpers (``client.js``, ``server.js``) print one JSON object per line
and take JSON commands on stdin; :class:`NodeProcess` reads the first and
writes the second. Without Node or the packages the tests are skipped, except
under CI (``CI`` set), where they fail: a CI run that silently skipped them
would claim an interop it never checked.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.services import node_with_interop_packages

HERE = Path(__file__).resolve().parent
WAIT_TIMEOUT = 10.0


@pytest.fixture(scope="session")
def node_executable() -> str:
    """Node's path, with the locked socket.io packages installed in tests/interop/node_modules."""
    return node_with_interop_packages()


class NodeProcessError(AssertionError):
    pass


class NodeProcess:
    """A Node helper: its JSON lines as ``messages``, commands written to its stdin."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.url: str | None = None  # where a server helper listens
        self.messages: list[dict] = []
        self.stderr = bytearray()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._eof = False
        self._readers = [asyncio.create_task(self._read_stdout()),
                         asyncio.create_task(self._read_stderr())]

    async def _read_stdout(self) -> None:
        while True:
            line = await self.proc.stdout.readline()
            async with self._changed:
                if not line:
                    self._eof = True
                    self._changed.notify_all()
                    return
                try:
                    message = json.loads(line)
                except ValueError:
                    message = {"type": "unparsed", "line": line.decode(errors="replace")}
                self.messages.append(message)
                self._changed.notify_all()

    async def _read_stderr(self) -> None:
        while chunk := await self.proc.stderr.read(4096):
            self.stderr += chunk

    def _describe(self) -> str:
        tail = "\n".join(json.dumps(m) for m in self.messages[-20:])
        return (f"{self.name}: last messages:\n{tail}\n"
                f"stderr:\n{self.stderr.decode(errors='replace')[-3000:]}")

    def mark(self) -> int:
        """A position in ``messages``: pass it as ``since`` to look only at what came after."""
        return len(self.messages)

    def find(self, since: int = 0, **fields: Any) -> list[dict]:
        return [m for m in self.messages[since:]
                if all(m.get(key) == value for key, value in fields.items())]

    async def expect(self, since: int = 0, timeout: float = WAIT_TIMEOUT,
                     **fields: Any) -> dict:
        """The first message after ``since`` with these fields; waits for it, bounded."""
        def found() -> dict | None:
            matches = self.find(since, **fields)
            if matches:
                return matches[0]
            errors = self.find(since, type="error")
            if errors:
                raise NodeProcessError(f"{self.name} reported an error: {errors[0]}")
            if self._eof:
                raise NodeProcessError(f"{self.name} exited (code {self.proc.returncode}) "
                                       f"before sending {fields}\n{self._describe()}")
            return None

        async with self._changed:
            try:
                return await asyncio.wait_for(self._changed.wait_for(found), timeout)
            except TimeoutError:
                raise NodeProcessError(f"{self.name}: no message {fields} within {timeout}s\n"
                                       f"{self._describe()}") from None

    async def send(self, cmd: str, **fields: Any) -> int:
        """Write a command; returns its sequence number."""
        command_id = next(self._ids)
        line = json.dumps({"cmd": cmd, "seq": command_id, **fields}) + "\n"
        self.proc.stdin.write(line.encode())
        await self.proc.stdin.drain()
        return command_id

    async def request(self, cmd: str, timeout: float = WAIT_TIMEOUT, **fields: Any) -> dict:
        """Send a command and wait until the helper says it took effect."""
        since = self.mark()
        command_id = await self.send(cmd, **fields)
        return await self.expect(since, timeout=timeout, type="done", seq=command_id)

    async def close(self) -> None:
        """Close stdin (the helper exits on it); terminate it if it does not."""
        if self.proc.returncode is None:
            try:
                self.proc.stdin.close()
                await asyncio.wait_for(self.proc.wait(), 5)
            except (TimeoutError, ConnectionError):
                self.proc.terminate()
                try:
                    await asyncio.wait_for(self.proc.wait(), 5)
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)


@pytest.fixture
async def node_processes(node_executable: str):
    """A factory: ``await start(name, script, *args)`` runs a Node helper; all are stopped after."""
    started: list[NodeProcess] = []

    async def start(name: str, script: str, *args: str) -> NodeProcess:
        proc = await asyncio.create_subprocess_exec(
            node_executable, str(HERE / script), *args, cwd=HERE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        process = NodeProcess(name, proc)
        started.append(process)
        return process

    yield start
    await asyncio.gather(*(process.close() for process in started))


@pytest.fixture
async def node_server(node_processes):
    """A socket.io 4.8 server with ``connectionStateRecovery: {}`` on a free local port."""
    server = await node_processes("node server", "server.js", "0")
    listening = await server.expect(type="listening")
    server.url = f"http://127.0.0.1:{listening['port']}"
    return server


@pytest.fixture
def node_client(node_processes):
    """A factory: ``await node_client(url, name, **io_options)`` starts a socket.io-client 4.8."""
    async def start(url: str, name: str = "node client", **options: Any) -> NodeProcess:
        args = [url, json.dumps(options)] if options else [url]
        return await node_processes(name, "client.js", *args)

    return start

