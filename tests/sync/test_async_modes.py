"""Flask-SocketIO's other async mode tested here: gevent (monkey-patched, gevent's WSGI server,
simple-websocket). The chat example recovers a dropped client there as under threads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.sync.support import ServerProcess, drop_and_recover, require_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def gevent_chat():
    require_module("gevent")
    server = ServerProcess([sys.executable, str(HERE / "gevent_chat.py")], ROOT,
                           dict(os.environ, PYTHONPATH=str(ROOT)))
    yield server.url
    server.stop()


def test_a_client_dropped_from_the_gevent_server_gets_the_message_it_missed(gevent_chat):
    drop_and_recover(gevent_chat)
