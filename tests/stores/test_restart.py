"""Kill a recovery server with SIGKILL mid-broadcast and start it again on the same port."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import chatlib
from tests.helpers import eventually
from tests.services import free_port

SERVER = Path(__file__).with_name("restart_server.py")
ROOT = SERVER.parent.parent.parent


async def start_server(port, *options):
    args = [sys.executable, str(SERVER), "--port", str(port), *options]
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
    options = ["--db", str(tmp_path / "recovery.db")] if store == "sqlite" else []
    server = await start_server(port, *options)
    received = []
    client = chatlib.RecoveryClient(reconnection_delay=0.05, reconnection_delay_max=0.2,
                                    randomization_factor=0)
    client.on("n", lambda name, number: received.append(number))
    recoveries = []
    client.on("connect", lambda: recoveries.append(client.recovered))
    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        await eventually(lambda: len(received) >= 100, 10, "100 messages before the kill")
        await kill(server)
        killed_at = len(received)
        server = await start_server(port, *options)
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


async def test_killing_one_of_two_redis_servers_loses_nothing(redis_server, redis_prefix):
    ports = {"A": free_port(), "B": free_port()}
    servers = {name: await start_server(port, "--name", name, "--redis", redis_server.url,
                                        "--prefix", redis_prefix)
               for name, port in ports.items()}
    received = {}
    clients = {}
    for index in range(4):
        home = "A" if index < 2 else "B"
        client = chatlib.RecoveryClient(reconnection=False)
        client.on("n", lambda name, number, index=index: received[index].append((name, number)))
        received[index] = []
        clients[index] = (home, client)
    try:
        for home, client in clients.values():
            await client.connect(f"http://127.0.0.1:{ports[home]}", transports=["websocket"])
        await eventually(lambda: all(len(items) >= 100 for items in received.values()), 15,
                         "100 messages at every client")
        await kill(servers.pop("A"))
        for home, client in clients.values():
            if home == "A":
                await eventually(lambda client=client: client.eio.state == "disconnected", 10,
                                 "A's clients to notice")
                await client.reconnect(url=f"http://127.0.0.1:{ports['B']}")
                assert client.recovered
        count = {index: len(items) for index, items in received.items()}
        await eventually(lambda: all(len(received[i]) >= count[i] + 100 for i in received), 15,
                         "100 more messages at every client")
    finally:
        for _, client in clients.values():
            await client.shutdown()
        for server in servers.values():
            await kill(server)
    for index, items in received.items():
        duplicates = len(items) - len(set(items))
        gaps = 0
        for name in "AB":
            numbers = [number for who, number in items if who == name]
            gaps += len(range(numbers[0], numbers[-1] + 1)) - len(numbers)
            assert numbers == list(range(numbers[0], numbers[-1] + 1)), f"client {index}, {name}"
        print(f"client {index} (first on {clients[index][0]}): {len(items)} messages, "
              f"duplicates={duplicates}, gaps={gaps}")
        assert duplicates == 0
    last_from_a = {max(number for who, number in items if who == "A") for items in received.values()}
    assert len(last_from_a) == 1, f"every client has A's last stored message: {last_from_a}"
