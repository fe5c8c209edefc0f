"""The chat page in Chromium, with the official socket.io-client 4.8.1 it pins by SRI hash.

Two tabs on ``python -m chatlib``: tab A clicks Disconnect (a network drop), tab B sends,
tab A clicks Connect. A gets the message once, keeps its id, and ``socket.recovered`` is
true; what A typed while offline is shown as waiting, then sent once. The same behind a
jupyter-server-proxy prefix. The browser reaches nothing but 127.0.0.1, as offline: the
chat server serves the client itself (npm's file, checked byte for byte and by the page's
SRI hash); the CDN is only a fallback.
"""

from __future__ import annotations

import json
import re

import pytest

import chatlib.chat
from tests.services import free_port

from .support import CDN_CLIENT_URL, CLIENT_PACKAGE, Process, expect, python, screenshot

pytestmark = pytest.mark.browser

SERVER_START_TIMEOUT = 30
CONNECTED = r"^connected · recovered: {recovered} · id: {id}$"


@pytest.fixture(scope="module")
def chat_server():
    """``python -m chatlib`` on a free port: yields its port."""
    port = free_port()
    server = Process(python("-m", "chatlib", "--port", str(port),
                            "--max-disconnection-duration", "60"))
    try:
        server.wait_for_line(rf"server running at http://localhost:{port}$",
                             SERVER_START_TIMEOUT)
        yield port
    finally:
        server.stop()


def status_pattern(recovered: str, sid: str = r"\S+") -> re.Pattern:
    return re.compile(CONNECTED.format(recovered=recovered, id=sid))


def open_tab(browser, url):
    page = browser.new_page()
    page.goto(url)
    expect(page.locator("#status")).to_have_text(status_pattern("no"))
    return page


def local_client(url: str) -> bool:
    """Whether ``url`` is the chat server's own copy of the client (at the root or a prefix)."""
    return url.startswith("http://127.0.0.1:") and url.endswith(chatlib.chat.CLIENT_PATH)


def send(page, text):
    page.locator("#input").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


@pytest.mark.parametrize("prefix", ["/", "/proxy/{port}/"], ids=["root", "proxy-prefix"])
def test_disconnect_then_connect_recovers_the_missed_message_once(
        browser, chat_server, socketio_client_file, prefix, request):
    url = f"http://127.0.0.1:{chat_server}{prefix.format(port=chat_server)}"
    a = open_tab(browser, url)
    b = open_tab(browser, url)
    a_messages, b_messages = a.locator("#messages > li"), b.locator("#messages > li")
    sid = a.evaluate("socket.id")
    expect(a.locator("#status")).to_have_text(status_pattern("no", re.escape(sid)))

    send(b, "hello")                    # both tabs get it: A now holds an offset
    expect(a_messages).to_have_text(["hello"])
    expect(b_messages).to_have_text(["hello"])

    a.get_by_role("button", name="Disconnect").click()
    expect(a.get_by_role("button", name="Connect", exact=True)).to_be_visible()
    expect(a.locator("#status")).to_have_text(
        "disconnected (the server keeps the session for a while)")
    assert a.evaluate("socket.connected") is False

    send(b, "realtime")                 # missed live by A
    expect(b_messages).to_have_text(["hello", "realtime"])
    send(a, "typed while offline")      # buffered by the client, shown as waiting
    expect(a_messages).to_have_text(["hello", "typed while offline (waiting to be sent)"])
    expect(a.locator("#messages > li.pending")).to_have_count(1)

    a.get_by_role("button", name="Connect", exact=True).click()
    expect(a.locator("#status")).to_have_text(status_pattern("yes", re.escape(sid)))
    expect(a.get_by_role("button", name="Disconnect")).to_be_visible()
    assert a.evaluate("[socket.connected, socket.recovered, socket.id]") == [True, True, sid]

    # the missed message first, then the buffered one's echo; anything delivered twice
    # would arrive before the later message
    send(b, "after")
    everything = ["hello", "realtime", "typed while offline", "after"]
    expect(b_messages).to_have_text(everything)
    expect(a_messages).to_have_text(everything)
    expect(a.locator("#messages > li.pending")).to_have_count(0)
    expect(a.locator("#status")).not_to_have_class("offline")
    screenshot(a, f"chat-page-{request.node.callspec.id}-tab-a-recovered")

    assert browser.page_errors == []
    assert browser.blocked == []    # offline: nothing came from the CDN


@pytest.mark.parametrize("prefix", ["/", "/proxy/{port}/"], ids=["root", "proxy-prefix"])
def test_the_server_serves_the_npm_packages_client_file(
        browser, chat_server, socketio_client_file, prefix):
    """The page's client comes from its own server: npm's file, the version the page pins."""
    package = json.loads((CLIENT_PACKAGE / "package.json").read_text())
    assert package["version"] == chatlib.chat.CLIENT_VERSION
    assert chatlib.chat.CLIENT_URL == CDN_CLIENT_URL

    page = browser.new_page()
    loaded = []
    page.on("response", lambda response: loaded.append((response.url, response.status)))
    page.goto(f"http://127.0.0.1:{chat_server}{prefix.format(port=chat_server)}")
    expect(page.locator("#status")).to_have_text(status_pattern("no"))
    scripts = [(url, status) for url, status in loaded if url.endswith("socket.io.min.js")]
    assert len(scripts) == 1 and local_client(scripts[0][0]) and scripts[0][1] == 200, scripts
    served = page.request.get(scripts[0][0])
    assert served.body() == socketio_client_file.read_bytes()
    assert served.headers["content-type"].startswith("text/javascript")
    assert browser.blocked == []


def test_the_cdn_is_the_fallback_when_the_server_has_no_client(
        browser, chat_server, socketio_client_file):
    page = browser.new_page()
    page.route(local_client, lambda route: route.fulfill(status=404, body="Not Found"))
    # the CDN answered with npm's file (this machine is offline): CORS, as the CDN does
    page.route(CDN_CLIENT_URL, lambda route: route.fulfill(
        path=socketio_client_file, content_type="text/javascript",
        headers={"Access-Control-Allow-Origin": "*"}))
    page.goto(f"http://127.0.0.1:{chat_server}/")
    expect(page.locator("#status")).to_have_text(status_pattern("no"))
    assert browser.page_errors == []


def test_a_client_file_that_does_not_match_the_pinned_hash_is_refused(
        browser, chat_server, socketio_client_file):
    """The SRI pin is enforced on both copies: a changed socket.io.min.js never runs."""
    page = browser.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    tampered = socketio_client_file.read_bytes() + b"\n// changed\n"
    for where in (local_client, CDN_CLIENT_URL):
        page.route(where, lambda route: route.fulfill(
            body=tampered, content_type="text/javascript",
            headers={"Access-Control-Allow-Origin": "*"}))
    page.goto(f"http://127.0.0.1:{chat_server}/")
    page.wait_for_function("typeof io === 'undefined' && document.readyState === 'complete'")
    expect(page.locator("#status")).to_contain_text("could not be loaded")
    assert sum("integrity" in text for text in console) == 2, console


def test_the_page_says_so_when_the_socketio_client_cannot_load(browser, chat_server):
    """Neither copy reachable: the page says why it cannot connect, not "connecting…" forever."""
    page = browser.new_page()
    page.route(local_client, lambda route: route.abort())   # the CDN is unreachable anyway
    page.goto(f"http://127.0.0.1:{chat_server}/")
    status = page.locator("#status")
    expect(status).to_contain_text("could not be loaded, neither from this server nor from "
                                   "cdn.socket.io")
    expect(status).to_have_class("offline")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    screenshot(page, "chat-page-client-missing")


def test_a_room_in_the_address_keeps_messages_in_the_room_and_survives_a_drop(
        browser, chat_server, socketio_client_file):
    base = f"http://127.0.0.1:{chat_server}/"
    kitchen = browser.new_page()
    kitchen.goto(base + "?room=kitchen")
    expect(kitchen.locator("#status")).to_have_text(re.compile(r"· room: kitchen$"))
    other = open_tab(browser, base)     # in no room: sends to everyone
    cook = browser.new_page()
    cook.goto(base + "?room=kitchen")
    expect(cook.locator("#status")).to_have_text(re.compile(r"· room: kitchen$"))

    send(cook, "soup is ready")         # to the kitchen only
    expect(kitchen.locator("#messages > li")).to_have_text(["soup is ready"])
    kitchen.get_by_role("button", name="Disconnect").click()
    expect(kitchen.get_by_role("button", name="Connect", exact=True)).to_be_visible()
    send(cook, "second helping")        # missed live by the kitchen tab
    send(other, "to everyone")
    expect(cook.locator("#messages > li")).to_have_text(
        ["soup is ready", "second helping", "to everyone"])
    kitchen.get_by_role("button", name="Connect", exact=True).click()
    expect(kitchen.locator("#status")).to_have_text(re.compile(r"recovered: yes .* room: kitchen$"))
    send(cook, "still in the kitchen")  # she is back in the room without joining again
    expect(kitchen.locator("#messages > li")).to_have_text(
        ["soup is ready", "second helping", "to everyone", "still in the kitchen"])
    expect(other.locator("#messages > li")).to_have_text(["to everyone"])
    screenshot(kitchen, "chat-page-room-recovered")
    assert browser.page_errors == []
