"""The Flask-SocketIO chat example under gunicorn (gthread worker): a dropped client recovers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import chatlib.sync
from tests.services import require
from tests.sync.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gunicorn_chat():
    try:
        import gunicorn  # noqa: F401
        found = True
    except ImportError:
        found = False
    require("gunicorn", found, "pip install gunicorn")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "20", "-b", "127.0.0.1:0",
         "--graceful-timeout", "2", "--no-control-socket",
         "chatlib.chat.flask_app:create_flask_app()"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    url: list[str] = []
    listening = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
            if found:
                url.append(found.group(1))
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert listening.wait(20), "gunicorn did not start listening"
        yield url[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_client_dropped_from_gunicorn_gets_the_message_it_missed(gunicorn_chat):
    got: list = []
    away = chatlib.sync.RecoveryClient()
    away.on("chat message", got.append)
    sender = chatlib.sync.RecoveryClient()
    try:
        for client in (away, sender):
            client.connect(gunicorn_chat, transports=["websocket"])
        sid = away.get_sid()
        sender.emit("chat message", "one")
        wait_until(lambda: got == ["one"], 10, "the first message")
        away.drop()
        sender.emit("chat message", "two")
        away.reconnect()
        wait_until(lambda: len(got) >= 2, 10, "the missed message")
        assert got == ["one", "two"] and away.recovered and away.get_sid() == sid
    finally:
        away.disconnect()
        sender.disconnect()
