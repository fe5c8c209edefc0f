"""The step-7 chat page (``python -m chatlib --step 7``) in Chromium, across a server restart.

Tab A clicks Disconnect (a network drop); the server restarts, so the recovery
state, in memory, is gone, while chat.db stays; tab B reconnects by itself and
sends a message; tab A clicks Connect: not recovered, and the server's catch-up,
from A's ``serverOffset``, brings the message A missed, once.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.services import free_port

from .support import Process, expect, python, screenshot

pytestmark = pytest.mark.browser

SERVER_START_TIMEOUT = 30


def start_server(port: int, db: str) -> Process:
    server = Process(python("-m", "chatlib", "--step", "7", "--port", str(port), "--db", db))
    server.wait_for_line(rf"server running at http://localhost:{port}$", SERVER_START_TIMEOUT)
    return server


def status(recovered: str, offset: int) -> re.Pattern:
    return re.compile(rf"^connected · recovered: {recovered} · id: \S+ · serverOffset: {offset}$")


def send(page, text):
    page.locator("#input").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_after_a_server_restart_the_catch_up_brings_the_missed_message(
        browser, socketio_client_file, tmp_path):
    port, db = free_port(), str(tmp_path / "chat.db")
    server = start_server(port, db)
    try:
        url = f"http://127.0.0.1:{port}/"
        a, b = browser.new_page(), browser.new_page()
        for page in (a, b):
            page.goto(url)
            expect(page.locator("#status")).to_have_text(status("no", 0))
        a_messages, b_messages = a.locator("#messages > li"), b.locator("#messages > li")

        send(b, "hello")
        expect(a_messages).to_have_text(["hello"])
        expect(a.locator("#status")).to_have_text(status("no", 1))
        a.get_by_role("button", name="Disconnect").click()
        expect(a.get_by_role("button", name="Connect", exact=True)).to_be_visible()

        server.stop()
        server = start_server(port, db)  # the same chat.db; the recovery state was in memory
        expect(b.locator("#status")).to_have_text(status("no", 1))  # B came back by itself
        send(b, "after the restart")
        expect(b_messages).to_have_text(["hello", "after the restart"])

        a.get_by_role("button", name="Connect", exact=True).click()
        expect(a.locator("#status")).to_have_text(status("no", 2))
        expect(a_messages).to_have_text(["hello", "after the restart"])
        screenshot(a, "step7-page-tab-a-caught-up-after-restart")
        assert a.evaluate("socket.recovered") is False
        assert browser.page_errors == []
        assert browser.blocked == []
    finally:
        server.stop()


def test_the_step_8_page_sends_a_client_offset_with_each_message(
        browser, socketio_client_file, tmp_path):
    port, db = free_port(), str(tmp_path / "chat.db")
    server = Process(python("-m", "chatlib", "--step", "8", "--port", str(port), "--db", db))
    server.wait_for_line(rf"server running at http://localhost:{port}$", SERVER_START_TIMEOUT)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.locator("#status")).to_have_text(status("no", 0))
        page.get_by_role("button", name="Disconnect").click()
        send(page, "typed while offline")  # waits in the client's retry queue
        expect(page.locator("#messages > li.pending")).to_have_count(1)
        page.get_by_role("button", name="Connect", exact=True).click()
        expect(page.locator("#messages > li")).to_have_text(["typed while offline"])
        send(page, "second")
        expect(page.locator("#messages > li")).to_have_text(["typed while offline", "second"])
        expect(page.locator("#status")).to_have_text(status("yes", 2))
        screenshot(page, "step8-page-after-reconnect")

        with sqlite3.connect(db) as connection:
            rows = connection.execute(
                "SELECT id, content, client_offset FROM messages ORDER BY id").fetchall()
        assert [row[:2] for row in rows] == [(1, "typed while offline"), (2, "second")]
        prefixes = {re.fullmatch(r"([0-9a-f]{16})-(\d+)", row[2]).groups() for row in rows}
        assert {counter for _, counter in prefixes} == {"0", "1"}
        assert len({prefix for prefix, _ in prefixes}) == 1
        assert browser.page_errors == []
    finally:
        server.stop()
