"""Flask-SocketIO's other async mode tested here: gevent (monkey-patched, gevent's WSGI server,
simple-websocket). The chat example recovers a dropped client there as under threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import chatlib.sync
from tests.services import require
from tests.sync.support import wait_until

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def gevent_chat():
    try:
        import gevent  # noqa: F401
        found = True
    except ImportError:
        found = False
    require("gevent", found, "pip install gevent")
    proc = subprocess.Popen([sys.executable, str(HERE / "gevent_chat.py")], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, "the gevent server did not start"
        yield f"http://127.0.0.1:{json.loads(line)['port']}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_client_dropped_from_the_gevent_server_gets_the_message_it_missed(gevent_chat):
    got: list = []
    away = chatlib.sync.RecoveryClient()
    away.on("chat message", got.append)
    sender = chatlib.sync.RecoveryClient()
    try:
        for client in (away, sender):
            client.connect(gevent_chat, transports=["websocket"])
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
