import itertools
import subprocess
import sys

import pytest

from tests.helpers import start
from tests.services import RedisServer

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_server():
    """One real redis-server for the whole run (fails in CI, skips elsewhere, when absent)."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own, so tests never see each other's keys."""
    return f"test{next(_prefixes)}:"


@pytest.fixture
async def launch():
    """Start servers (each a python-socketio server on uvicorn); all stop at the end."""
    running = []

    async def _launch(sio):
        instance = await start(sio)
        running.append(instance)
        return instance

    yield _launch
    for instance in running:
        await instance.sio.shutdown()
        await instance.server.stop()


@pytest.fixture
async def clients():
    """Make RecoveryClients (or other clients) that are shut down at the end."""
    made = []

    def _make(client):
        made.append(client)
        return client

    yield _make
    for client in made:
        await client.shutdown()
        if client.eio.state != "disconnected":
            await client.eio.disconnect(abort=True)


@pytest.fixture
def chat_process():
    """Start ``python -m chatlib ARGS`` processes (stdout and stderr piped); all end with the test."""
    processes = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "chatlib", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
