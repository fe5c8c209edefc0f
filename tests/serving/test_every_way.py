"""The recovery server is fast however it is run, and says so once when it cannot be.

"Fast" here is what a user's clients get without any keyword of chatlib's:
stored broadcasts written straight onto each WebSocket as one shared frame,
not through python-engineio's per-connection queues (the bench measures what
that is worth). Each way of running it from the docs runs the same app
(``burst_app.py``) in its own process; permessage-deflate, which uvicorn offers
unless told not to, cannot be turned off from inside the app, so a server
that negotiates it logs one WARNING naming the fix.
"""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

import chatlib
from tests.helpers import Inbox
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 3
COUNT = 200
APP = "tests.serving.burst_app:app"


def command(way: str, port: int) -> list[str]:
    py = sys.executable
    return {
        "uvicorn.run (the docstring's)": [py, "-c", (
            "import uvicorn; from tests.serving.burst_app import app; "
            f"uvicorn.run(app, host='127.0.0.1', port={port}, ws_per_message_deflate=False)")],
        "uvicorn command, deflate off": [py, "-m", "uvicorn", APP, "--host", "127.0.0.1",
                                         "--port", str(port), "--ws-per-message-deflate", "false"],
        "uvicorn command, defaults": [py, "-m", "uvicorn", APP, "--host", "127.0.0.1",
                                      "--port", str(port)],
        "gunicorn, chatlib's worker": [py, "-m", "gunicorn", "-k", "chatlib.serving.worker.UvicornWorker",
                                       "-b", f"127.0.0.1:{port}", APP],
        "gunicorn, uvicorn-worker": [py, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
                                     "-b", f"127.0.0.1:{port}", APP],
        "chatlib.serving.serve": [py, "-c", (
            "import asyncio; from chatlib.serving import serve; from tests.serving.burst_app import app\n"
            "async def main():\n"
            f"    await serve(app, port={port})\n"
            "    await asyncio.Event().wait()\n"
            "asyncio.run(main())")],
    }[way]


async def started(process: subprocess.Popen, port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        assert process.poll() is None, "the server exited while starting"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return url
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"no server on {url} after 15 s")


async def run_server(way: str):
    port = free_port()
    process = subprocess.Popen(command(way, port), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        return process, await started(process, port)
    except BaseException:
        process.kill()
        raise


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


async def burst_to_recovery_clients(url: str) -> int:
    inboxes = [Inbox() for _ in range(CLIENTS)]
    clients = [chatlib.RecoveryClient(reconnection=False) for _ in range(CLIENTS)]
    try:
        for client, inbox in zip(clients, inboxes, strict=True):
            client.on("m", inbox)
            await client.connect(url, transports=["websocket"])
        queued = await clients[0].call("burst", COUNT, timeout=20)
        for inbox in inboxes:
            assert await inbox.wait_for(COUNT, timeout=20) == list(range(COUNT))
        return queued
    finally:
        for client in clients:
            await client.shutdown()


async def burst_to_a_deflate_client(url: str) -> None:
    """A plain WebSocket client that offers permessage-deflate, as the JS client does."""
    ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:  # offers permessage-deflate by default
        assert (await ws.recv()).startswith("0")
        await ws.send("40")
        while not (await ws.recv()).startswith("40"):
            pass
        await ws.send('42["burst",3]')
        got = []
        while len(got) < 3:
            message = await ws.recv()
            if message.startswith("42"):
                got.append(message)


FAST = ["uvicorn.run (the docstring's)", "uvicorn command, deflate off", "gunicorn, chatlib's worker",
        "chatlib.serving.serve"]


@pytest.mark.parametrize("way", FAST)
async def test_a_broadcast_goes_straight_onto_every_websocket_however_the_server_is_run(way):
    process, url = await run_server(way)
    try:
        queued = await burst_to_recovery_clients(url)
        await burst_to_a_deflate_client(url)
    finally:
        log = stop(process)
    # a delivery may take the queue while a connection's writer is busy; most must not
    assert queued <= CLIENTS * COUNT // 10, f"{way}: {queued} of {CLIENTS * COUNT} deliveries queued"
    assert "permessage-deflate" not in log, log


@pytest.mark.parametrize("way", ["uvicorn command, defaults", "gunicorn, uvicorn-worker"])
async def test_a_server_that_negotiates_deflate_says_once_how_to_turn_it_off(way):
    process, url = await run_server(way)
    try:
        for _ in range(3):
            await burst_to_a_deflate_client(url)
        await burst_to_recovery_clients(url)  # they offer no deflate: still delivered
    finally:
        log = stop(process)
    warnings = [line for line in log.splitlines() if "permessage-deflate" in line]
    assert len(warnings) == 1, log
    # (logging's last-resort handler, which prints it here, shows WARNING and above only)
    assert "--ws-per-message-deflate false" in warnings[0]
    assert "ws_per_message_deflate=False" in warnings[0]
