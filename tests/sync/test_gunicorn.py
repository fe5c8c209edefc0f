"""The Flask-SocketIO chat example under gunicorn (gthread worker): a dropped client recovers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.sync.support import ServerProcess, drop_and_recover, require_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gunicorn_chat():
    require_module("gunicorn")
    server = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "20", "-b", "127.0.0.1:0",
         "--graceful-timeout", "2", "--no-control-socket",
         "chatlib.chat.flask_app:create_flask_app()"],
        ROOT, dict(os.environ, PYTHONPATH=str(ROOT)),
        url_pattern=r"Listening at: (http://127\.0\.0\.1:\d+)")
    yield server.url
    server.stop()


def test_a_client_dropped_from_gunicorn_gets_the_message_it_missed(gunicorn_chat):
    drop_and_recover(gunicorn_chat)
