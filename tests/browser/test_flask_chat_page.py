"""The tutorial's page on the Flask-SocketIO chat (``python -m chatlib.chat.flask_app``), in Chromium.

The step-6 story of test_chat_page.py on the threaded server: tab A clicks Disconnect
(a network drop), tab B sends, A types while offline, A clicks Connect. A keeps its id,
``socket.recovered`` is true, the missed message is shown once, then its own.
"""

from __future__ import annotations

import re

import pytest

from tests.services import free_port

from .support import Process, expect, python, screenshot
from .test_chat_page import SERVER_START_TIMEOUT, send
from .test_chat_page import status_pattern as status

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flask_chat():
    port = free_port()
    server = Process(python("-m", "chatlib.chat.flask_app", "--port", str(port),
                            "--max-disconnection-duration", "60"))
    try:
        server.wait_for_line(rf"flask chat running at http://127.0.0.1:{port}$",
                             SERVER_START_TIMEOUT)
        yield port
    finally:
        server.stop()


def test_the_flask_chat_recovers_a_dropped_tab_with_the_missed_message(
        browser, flask_chat, socketio_client_file):
    url = f"http://127.0.0.1:{flask_chat}/"
    a, b = browser.new_page(), browser.new_page()
    for page in (a, b):
        page.goto(url)
        expect(page.locator("#status")).to_have_text(status("no"))
    sid = a.evaluate("socket.id")
    a_messages, b_messages = a.locator("#messages > li"), b.locator("#messages > li")

    send(b, "hello")
    expect(a_messages).to_have_text(["hello"])
    a.get_by_role("button", name="Disconnect").click()
    expect(a.locator("#status")).to_have_text(
        "disconnected (the server keeps the session for a while)")
    send(b, "while you were away")
    expect(b_messages).to_have_text(["hello", "while you were away"])
    send(a, "typed while offline")
    expect(a_messages).to_have_text(["hello", "typed while offline (waiting to be sent)"])
    screenshot(a, "flask-chat-tab-a-offline")

    a.get_by_role("button", name="Connect", exact=True).click()
    expect(a.locator("#status")).to_have_text(status("yes", re.escape(sid)))
    assert a.evaluate("[socket.connected, socket.recovered, socket.id]") == [True, True, sid]
    send(b, "after")
    everything = ["hello", "while you were away", "typed while offline", "after"]
    expect(b_messages).to_have_text(everything)
    expect(a_messages).to_have_text(everything)
    screenshot(a, "flask-chat-tab-a-recovered")
    assert browser.page_errors == []
    assert browser.blocked == []
