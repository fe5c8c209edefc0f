import pytest

import chatlib


@pytest.fixture
async def server():
    server = await chatlib.start_chat_server(
        recovery=chatlib.Recovery(max_disconnection_duration=30))
    yield server
    await server.stop()
