"""Shared test helpers: bounded waits and a RecoveryServer on a real uvicorn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import socketio

import chatlib
from chatlib.serving import serve


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Wait until ``predicate()`` is truthy (checked every 10 ms), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.01)


def session_row(sio: chatlib.RecoveryServer, sid: str, namespace: str = "/") -> dict | None:
    for row in sio.store.sessions():
        if row["sid"] == sid and row["namespace"] == namespace:
            return row
    return None


async def server_saw_drop(sio: chatlib.RecoveryServer, sid: str, namespace: str = "/") -> None:
    """Wait until the server keeps ``sid`` as a dropped session."""
    await eventually(lambda: (row := session_row(sio, sid, namespace)) and not row["connected"],
                     what=f"the server to keep {sid} as dropped")


class Inbox:
    """Collects what a client's handlers receive; ``wait_for(n)`` waits for n items."""

    def __init__(self) -> None:
        self.items: list = []

    def __call__(self, *args: Any) -> None:
        self.items.append(args[0] if len(args) == 1 else args)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list:
        await eventually(lambda: len(self.items) >= count, timeout, f"{count} messages, got {self.items}")
        return self.items


class Running:
    def __init__(self, sio: socketio.AsyncServer, server) -> None:
        self.sio = sio
        self.server = server
        self.url = server.url


async def start(sio: socketio.AsyncServer) -> Running:
    return Running(sio, await serve(socketio.ASGIApp(sio)))
