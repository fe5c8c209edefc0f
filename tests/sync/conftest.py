"""Fixtures of the threaded side: Flask apps served in threads, Node clients from tests/interop."""

from __future__ import annotations

import pytest

from tests.interop.conftest import node_client, node_executable, node_processes  # noqa: F401
from tests.sync.support import Served, quiet_werkzeug


@pytest.fixture
def serve_wsgi():
    """``serve_wsgi(app)`` serves a WSGI app (Flask, socketio.WSGIApp) until the test ends."""
    quiet_werkzeug()
    running: list[Served] = []

    def start(app):
        served = Served(app)
        running.append(served)
        return served

    yield start
    for served in running:
        served.stop()
