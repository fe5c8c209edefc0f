import pytest

from tests.helpers import start


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
