"""Helpers shared by the reliability tests: fault injection, raw Engine.IO clients, watchers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from typing import Any

import engineio
from engineio import packet as eio_packet
from websockets.asyncio.client import connect as ws_connect

import chatlib


class LoopErrors:
    """An event loop exception handler that collects what reaches it (lost task exceptions)."""

    def __init__(self) -> None:
        self.contexts: list[dict] = []

    def __call__(self, loop, context) -> None:
        self.contexts.append(context)

    def describe(self) -> list[str]:
        return [f"{c.get('message')}: {c.get('exception')!r}" for c in self.contexts]


def error_records(caplog, level: int = logging.ERROR) -> list[str]:
    return [f"{r.name}: {r.getMessage()[:300]}" + (f" {r.exc_info[1]!r}" if r.exc_info else "")
            for r in caplog.records if r.levelno >= level]


CHATLIB_DIR = os.path.dirname(os.path.abspath(chatlib.__file__))


def raised_in_chatlib(record: logging.LogRecord) -> bool:
    """Whether a log record comes from chatlib or carries a traceback through chatlib's code."""
    if record.name.startswith("chatlib"):
        return True
    traceback = record.exc_info[2] if record.exc_info else None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.startswith(CHATLIB_DIR):
            return True
        traceback = traceback.tb_next
    return False


def split_errors(caplog) -> tuple[list[str], list[str]]:
    """ERROR records as (chatlib's, python-socketio/engineio/uvicorn's), described."""
    ours, upstream = [], []
    for record in caplog.records:
        if record.levelno >= logging.ERROR:
            text = f"{record.name}: {record.getMessage()[:200]}" + (
                f" {type(record.exc_info[1]).__name__}" if record.exc_info else "")
            (ours if raised_in_chatlib(record) else upstream).append(text)
    return ours, upstream


def rss_bytes() -> int:
    """This process's resident set size (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def close_transport(sio: chatlib.RecoveryServer, sid: str, namespace: str = "/") -> bool:
    """Close the server's Engine.IO socket of ``sid`` abruptly: no CLOSE packet, queue dropped.

    What the client sees is the WebSocket closing under it (a transport close);
    packets still queued for it are lost in flight, as on a real network failure.
    """
    eio_sid = sio.manager.eio_sid_from_sid(sid, namespace)
    socket = sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
    if socket is None or socket.closed or socket.closing:
        return False
    while not socket.queue.empty():
        socket.queue.get_nowait()
        socket.queue.task_done()
    await socket.close(wait=False, abort=True, reason=sio.eio.reason.TRANSPORT_CLOSE)
    socket.queue.put_nowait(None)  # wakes the writer, which closes the WebSocket
    return True


class MutableEngineIO(engineio.AsyncClient):
    """An Engine.IO client that can stop answering PINGs (until this connection ends)."""

    mute = False
    pongs_withheld = 0

    async def _receive_packet(self, pkt):
        if self.mute and pkt.packet_type == eio_packet.PING:
            self.pongs_withheld += 1
            return
        await super()._receive_packet(pkt)

    async def _reset(self):
        self.mute = False
        await super()._reset()


class MutableRecoveryClient(chatlib.RecoveryClient):
    """A RecoveryClient whose Engine.IO client can withhold its pongs: a ping timeout to order."""

    def _engineio_client_class(self):
        return MutableEngineIO


class RawConnection:
    """A bare Engine.IO v4 WebSocket connection: frames in and out, nothing interpreted."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.open: dict = {}

    @classmethod
    async def open_to(cls, url: str, timeout: float = 5.0) -> RawConnection:
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await asyncio.wait_for(ws_connect(ws_url, max_size=None, open_timeout=timeout,
                                               close_timeout=1, ping_interval=None), timeout)
        connection = cls(ws)
        first = await connection.recv(timeout)
        if not isinstance(first, str) or not first.startswith("0"):
            raise AssertionError(f"expected an Engine.IO OPEN packet, got {first!r}")
        connection.open = json.loads(first[1:])
        return connection

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame)

    async def recv(self, timeout: float = 5.0) -> Any:
        """The next frame that is not an Engine.IO PING (those are answered), within ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no frame")
            frame = await asyncio.wait_for(self.ws.recv(), left)
            if frame == "2":
                await self.ws.send("3")
                continue
            return frame

    async def connect_namespace(self, auth: Any = None, namespace: str = "/",
                                timeout: float = 5.0) -> tuple[str, Any]:
        """Send a Socket.IO CONNECT; returns ("connect", {sid, pid}) or ("error", data)."""
        prefix = "40" if namespace == "/" else f"40{namespace},"
        await self.send(prefix + ("" if auth is None else json.dumps(auth)))
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            frame = await self.recv(deadline - asyncio.get_running_loop().time())
            if isinstance(frame, str) and frame.startswith("40"):
                return "connect", json.loads(frame[frame.index("{"):])
            if isinstance(frame, str) and frame.startswith("44"):
                body = frame[2:]
                return "error", json.loads(body[body.index("{"):]) if "{" in body else body

    async def close(self, clean: bool) -> None:
        """``clean``: a Socket.IO DISCONNECT first; else the WebSocket just goes away."""
        try:
            if clean:
                await self.ws.send("41")
            await self.ws.close()
        except Exception:
            pass

    async def abort(self) -> None:
        """Drop the TCP connection with no closing handshake at all."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(self.ws.wait_closed(), 5)


def server_footprint(sio: chatlib.RecoveryServer) -> dict:
    """What the server holds per connection: store counts and python-socketio's own tables."""
    stats = sio.store.stats()
    manager = sio.manager
    return {
        "packets": stats["packets"], "sessions": stats["sessions"],
        "kept_sessions": stats["kept_sessions"], "marks": stats["marks"],
        "eio_sockets": len(sio.eio.sockets), "environ": len(sio.environ),
        "rooms": sum(len(rooms) for rooms in manager.rooms.values()),
        "room_members": sum(len(members) for rooms in manager.rooms.values()
                            for members in rooms.values()),
        "held": len(sio.router._held), "recovered": len(sio.router.recovered),
        "pending_connect": sum(len(v) for v in manager.pending_connect.values()),
        "pending_disconnect": sum(len(v) for v in manager.pending_disconnect.values()),
    }


def first_difference(expected: list, got: list) -> str | None:
    for index, (a, b) in enumerate(zip(expected, got, strict=False)):
        if a != b:
            context = got[max(0, index - 3):index + 4]
            return f"at {index}: expected {a!r}, got {b!r} (context {context})"
    if len(expected) != len(got):
        return f"length {len(got)} instead of {len(expected)}"
    return None


def delivery_figures(expected_count: int, numbers: list) -> dict:
    """Duplicates, losses and out-of-order arrivals of one client's numbered messages."""
    seen = set(numbers)
    out_of_order = sum(1 for a, b in itertools.pairwise(numbers) if b <= a)
    return {"duplicates": len(numbers) - len(seen),
            "losses": len(set(range(expected_count)) - seen),
            "out_of_order": out_of_order}
