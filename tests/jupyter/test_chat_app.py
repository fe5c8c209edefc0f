"""The tutorial's chat app over HTTP and Socket.IO, at the root and behind a proxy prefix."""

import asyncio
import base64
import hashlib
import re

import aiohttp
import pytest

import chatlib
from chatlib.chat import CLIENT_INTEGRITY, CLIENT_PATH, CLIENT_URL, create_app
from chatlib.serving import serve

PINNED = re.compile(r"const CLIENT_INTEGRITY = '(?P<sri>[^']+)';\s*"
                    r"const CLIENT_CDN = '(?P<cdn>[^']+)';")


@pytest.fixture
async def running():
    app = create_app()
    running = await serve(app)
    yield running
    await running.stop()
    await app.io.shutdown()


async def get(url, body=lambda response: response.text()):
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("content-type", ""), await body(response)


PATHS = ["/", "/index.html", "/proxy/3000/", "/proxy/absolute/3000/", "/user/someone/proxy/3000/"]


@pytest.mark.parametrize("path", PATHS)
async def test_page_loads_the_pinned_official_client_with_its_integrity_hash(running, path):
    status, content_type, page = await get(running.url + path)
    assert status == 200 and content_type.startswith("text/html")
    pinned = PINNED.search(page)
    assert pinned, "the page must load the Socket.IO client with an integrity hash"
    assert re.fullmatch(r"https://cdn\.socket\.io/4\.8\.\d+/socket\.io\.min\.js", pinned["cdn"])
    assert (pinned["cdn"], pinned["sri"]) == (CLIENT_URL, CLIENT_INTEGRITY)
    assert re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", pinned["sri"])
    # this server's copy first, found beside the page as Socket.IO is
    assert f"besidePage(location.pathname, '{CLIENT_PATH.lstrip('/')}')" in page


@pytest.mark.parametrize("path", PATHS)
async def test_the_server_serves_the_client_the_page_pins(running, path):
    """Offline too: the client the page's hash pins comes from this server."""
    beside = path.removesuffix("index.html").rstrip("/")
    status, content_type, script = await get(running.url + beside + CLIENT_PATH,
                                             lambda response: response.read())
    assert status == 200 and content_type.startswith("text/javascript")
    digest = base64.b64encode(hashlib.sha384(script).digest()).decode()
    assert f"sha384-{digest}" == CLIENT_INTEGRITY


async def test_page_has_the_tutorial_controls(running):
    _, _, page = await get(running.url + "/")
    for element in ('id="messages"', 'id="input"', ">Send</button>", 'id="toggle-btn"',
                    ">Disconnect</button>"):
        assert element in page
    # a network drop that stays offline until Connect, not a clean disconnect
    assert "socket.io.engine.close()" in page and "socket.io.reconnection(false)" in page
    # the Socket.IO path is relative to the page, so a proxy prefix works
    assert "location.pathname" in page


async def test_unknown_paths_are_not_found(running):
    status, _, _ = await get(running.url + "/secret.txt")
    assert status == 404
    status, _, _ = await get(running.url + "/proxy/3000/nope")
    assert status == 404


@pytest.mark.parametrize("prefix", ["", "/proxy/3000", "/user/someone/proxy/absolute/3000"])
async def test_socketio_handshake_answers_with_and_without_prefix(running, prefix):
    status, _, body = await get(running.url + prefix + "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and '"sid"' in body


async def test_chat_message_is_broadcast_to_everyone_including_the_sender(running):
    alice, bob = chatlib.RecoveryClient(), chatlib.RecoveryClient()
    received = {"alice": [], "bob": []}
    arrived = asyncio.Event()

    def on(name):
        async def handler(msg):
            received[name].append(msg)
            if all(received.values()):
                arrived.set()
        return handler

    alice.on("chat message", on("alice"))
    bob.on("chat message", on("bob"))
    await alice.connect(running.url, transports=["websocket"])
    await bob.connect(running.url, transports=["websocket"])
    try:
        await alice.emit("chat message", "hello")
        async with asyncio.timeout(5):
            await arrived.wait()
        assert received == {"alice": ["hello"], "bob": ["hello"]}
    finally:
        await alice.disconnect()
        await bob.disconnect()



async def test_extra_arguments_from_later_tutorial_steps_are_ignored(running):
    alice = chatlib.RecoveryClient()
    arrived = asyncio.Queue()
    alice.on("chat message", arrived.put)
    await alice.connect(running.url, transports=["websocket"])
    try:
        await alice.emit("chat message", ("hello", "client-offset-1"))
        async with asyncio.timeout(5):
            assert await arrived.get() == "hello"
    finally:
        await alice.disconnect()


async def test_only_get_and_head_fetch_the_page(running):
    async with aiohttp.ClientSession() as http:
        async with http.head(running.url + "/") as response:
            assert response.status == 200 and await response.read() == b""
        async with http.post(running.url + "/") as response:
            assert response.status == 405
