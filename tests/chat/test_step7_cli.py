"""``python -m chatlib --step 7``: the step-7 page and server; its messages outlive the process."""

from __future__ import annotations

import asyncio
import subprocess
import urllib.request

import pytest

import chatlib
from chatlib.chat.step7 import ServerOffset
from tests.helpers import eventually
from tests.services import free_port


@pytest.fixture
def running_chat(chat_process):
    async def start(*args: str) -> tuple[str, subprocess.Popen]:
        """Start ``python -m chatlib ARGS``; its URL, once it accepts connections, and it."""
        process = chat_process(*args)
        line = await asyncio.to_thread(process.stdout.readline)
        assert line.startswith("server running at "), process.stderr.read()
        return line.split()[-1], process

    return start


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    assert process.wait(timeout=10) == 0


async def receive_all(url: str) -> list[str]:
    """What a new client (serverOffset 0, a page opened afresh) gets on connect."""
    offset = ServerOffset()
    received: list[str] = []
    client = chatlib.RecoveryClient(reconnection=False)
    client.on("chat message", offset.handler(received.append))
    await client.connect(url, auth=offset.auth, transports=["websocket"])
    try:
        await eventually(lambda: received, 5, "the catch-up")
        return received
    finally:
        await client.disconnect()


@pytest.mark.parametrize("step", ["7", "8"])
async def test_step_7_keeps_messages_in_sqlite_across_restarts(running_chat, tmp_path, step):
    port = str(free_port())
    db = str(tmp_path / "chat.db")
    url, process = await running_chat("--step", step, "--port", port, "--db", db)
    with urllib.request.urlopen(url + "/", timeout=5) as response:
        assert f'<body data-step="{step}">'.encode() in response.read()

    sender = chatlib.RecoveryClient(reconnection=False, retries=3, ack_timeout=5)
    await sender.connect(url, transports=["websocket"])
    await sender.call("chat message", ("hello", "sender-0"))
    await sender.disconnect()
    assert await receive_all(url) == ["hello"]
    stop(process)

    url, _ = await running_chat("--step", step, "--port", port, "--db", db)
    assert await receive_all(url) == ["hello"]  # from chat.db: the new process had no memory of it
