"""Threaded servers for the sync tests: a WSGI app on Werkzeug's server, on a free local port."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from werkzeug.serving import make_server


class Served:
    """A WSGI app served by Werkzeug's threaded server on 127.0.0.1 (port 0) in a thread."""

    def __init__(self, app: Any) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="werkzeug")
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self._thread.join(5)
        self.httpd.server_close()


def quiet_werkzeug() -> None:
    """Werkzeug logs every request (and, after a WebSocket closes, a 400 for its leftovers)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Wait, polling every 10 ms, until ``predicate()`` is truthy; at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)
