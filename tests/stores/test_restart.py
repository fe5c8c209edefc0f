"""Kill a recovery server with SIGKILL mid-broadcast and start it again on the same port."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import chatlib
from tests.helpers import eventually

SERVER = Path(__file__).with_name("restart_server.py")
ROOT = SERVER.parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_server(port, db):
    args = [sys.executable, str(SERVER), "--port", str(port)] + (["--db", db] if db else [])
    process = await asyncio.create_subprocess_exec(
        *args, stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert line.strip() == b"ready", line
    return process


async def kill(process):
    process.send_signal(signal.SIGKILL)
    await process.wait()


@pytest.mark.parametrize("store", ["sqlite", "memory"])
async def test_a_restarted_server_recovers_its_clients_only_with_a_durable_store(tmp_path, store):
    port = free_port()
    db = str(tmp_path / "recovery.db") if store == "sqlite" else None
    server = await start_server(port, db)
    received = []
    client = chatlib.RecoveryClient(reconnection_delay=0.05, reconnection_delay_max=0.2,
                                    randomization_factor=0)
    client.on("n", received.append)
    recoveries = []
    client.on("connect", lambda: recoveries.append(client.recovered))
    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        await eventually(lambda: len(received) >= 100, 10, "100 messages before the kill")
        await kill(server)
        killed_at = len(received)
        server = await start_server(port, db)
        await eventually(lambda: len(recoveries) >= 2, 20, "the client to reconnect")
        await eventually(lambda: len(received) >= killed_at + 100, 10, "100 messages after the restart")
    finally:
        await client.shutdown()
        await kill(server)
    first = received[0]
    duplicates = len(received) - len(set(received))
    expected = list(range(first, first + len(received)))
    print(f"{store}: {len(received)} messages, killed after {killed_at}, "
          f"recovered={recoveries[1]}, duplicates={duplicates}, "
          f"in order without gaps={received == expected}")
    if store == "sqlite":
        assert recoveries == [False, True]
        assert received == expected  # none lost, none twice, in order
    else:
        assert recoveries == [False, False]  # the memory store died with the process
