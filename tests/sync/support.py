"""Threaded servers for the sync tests: a WSGI app on Werkzeug's server, on a free local port."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

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


def require_module(name: str) -> None:
    """Fail in CI, skip elsewhere, when an optional package a test serves with is missing."""
    import importlib.util

    from tests.services import require

    require(name, importlib.util.find_spec(name) is not None, f"pip install {name}")


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


class ServerProcess:
    """A server in a child process that prints ``{"port": P}`` (or a line with its URL) when ready."""

    def __init__(self, args: list[str], cwd: Any, env: dict, url_pattern: str = "") -> None:
        import json
        import re
        import subprocess

        self._subprocess = subprocess
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.url = ""
        ready = threading.Event()
        pattern = re.compile(url_pattern) if url_pattern else None

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if ready.is_set():
                    continue
                if pattern is not None and (found := pattern.search(line)):
                    self.url = found.group(1)
                    ready.set()
                elif pattern is None and line.startswith("{"):
                    self.url = f"http://127.0.0.1:{json.loads(line)['port']}"
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(20):
            self.stop()
            raise AssertionError(f"{args[:4]} did not start listening")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except self._subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def drop_and_recover(url: str) -> None:
    """The chat example's story for one server: a dropped client gets the message it missed."""
    import chatlib.sync

    got: list = []
    away = chatlib.sync.RecoveryClient()
    away.on("chat message", got.append)
    sender = chatlib.sync.RecoveryClient()
    try:
        for client in (away, sender):
            client.connect(url, transports=["websocket"])
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
