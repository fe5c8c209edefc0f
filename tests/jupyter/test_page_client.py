"""The page's Disconnect/Connect, with the official JS client, against the chat server.

Needs Node and socket.io-client from tests/interop/node_modules (``.ci/run`` installs
them); skipped without them, except under CI.
"""

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

import chatlib

HERE = Path(__file__).resolve().parent
CLIENT_PACKAGE = HERE.parent / "interop" / "node_modules" / "socket.io-client"

pytestmark = pytest.mark.interop


@pytest.fixture
def node():
    node = shutil.which("node")
    if node is None or not (CLIENT_PACKAGE / "package.json").is_file():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("node and tests/interop/node_modules are required under CI")
        pytest.skip("needs node and socket.io-client in tests/interop/node_modules")
    return node


class PageClient:
    """The page's client in a Node process: send it commands, read what it reports."""

    def __init__(self, process):
        self.process = process

    async def command(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def until(self, key, timeout=10.0):
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise EOFError(await self.process.stderr.read())
                report = json.loads(line)
                if key in report:
                    return report


@pytest.fixture
async def page_client(node):
    processes = []

    async def start(url, path):
        process = await asyncio.create_subprocess_exec(
            node, str(HERE / "page_client.js"), url, path,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "SOCKET_IO_CLIENT": str(CLIENT_PACKAGE)})
        processes.append(process)
        return PageClient(process)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
        await process.wait()


@pytest.mark.parametrize("path", ["/socket.io", "/proxy/3000/socket.io"])
async def test_the_pages_disconnect_is_a_drop_that_recovers(server, page_client, path):
    alice = await page_client(server.url, path)
    connected = await alice.until("connected")
    assert connected["recovered"] is False
    bob = chatlib.ChatWidget(server, "Bob")
    await bob.send("before")
    await alice.until("message")

    await alice.command("drop")
    await alice.until("disconnected")
    await server.wait_until(lambda: server.session(connected["connected"]) is not None
                            and not server.session(connected["connected"])["connected"])
    await bob.send("realtime")
    await alice.command("connect")
    reconnected = await alice.until("connected")
    assert reconnected == {"connected": connected["connected"], "recovered": True}
    await bob.send("sentinel")
    while (report := await alice.until("message"))["message"] != "sentinel":
        pass
    assert report["messages"] == ["before", "realtime", "sentinel"]
