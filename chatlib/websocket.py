"""uvicorn's WebSocket protocol, with fewer system calls and one encoding per broadcast.

A broadcast to N clients makes python-engineio write the same text to N
WebSocket connections, one frame at a time. uvicorn's stock protocol frames
each of them anew and makes one ``transport.write`` (one ``send()`` system
call) per frame: most of a broadcasting server's CPU (bench/README.md).
``CoalescingWebSocketProtocol`` changes two things and nothing else:

- every write a connection makes during one pass of the event loop goes out
  as one ``transport.write``, at the end of that pass, in the order made;
- a broadcast's text frame is built once and reused for every connection
  that sends it (frames from server to client are not masked, so they are
  the same bytes for everyone).

Handshake, close, ping/pong, back-pressure and permessage-deflate (when it is
negotiated, frames are built the stock way) stay uvicorn's. :func:`chatlib.serving.serve`
uses it by default; with ``uvicorn.run`` pass it as ``ws``::

    import uvicorn
    from chatlib.websocket import CoalescingWebSocketProtocol

    uvicorn.run(app, ws=CoalescingWebSocketProtocol, ws_per_message_deflate=False)
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

# Texts up to this size have their frames kept for reuse, the newest this many
# of them: a broadcast's frame is built once while every connection writes it.
_CACHED_TEXT_CHARS = 1024
_CACHED_FRAMES = 1024


class _FrameCache:
    """Unmasked text frames by text, the newest ``_CACHED_FRAMES`` of them."""

    def __init__(self) -> None:
        self._frames: dict[str, bytes] = {}

    def text_frame(self, text: str, keep: bool) -> bytes:
        """The frame of ``text``, kept for reuse if ``keep`` (only broadcasts are worth it)."""
        frame = self._frames.get(text)
        if frame is None:
            frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
            if keep and len(text) <= _CACHED_TEXT_CHARS:
                if len(self._frames) >= _CACHED_FRAMES:
                    self._frames.pop(next(iter(self._frames)), None)
                self._frames[text] = frame
        return frame


class _CoalescingTransport:
    """Stands in for a connection's transport: what is written in one loop pass goes out once.

    Everything but ``write`` and ``close`` is the real transport's. ``close``
    writes what is pending first, as the real transport would have.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with coalesced writes and shared text frames.

    ``text_frame`` and ``write_frame`` let a server that owns the order of a
    connection's writes (``chatlib.sio.direct``) put a frame built once on
    many connections without going through the ASGI ``send``.
    """

    _frames = _FrameCache()

    @classmethod
    def text_frame(cls, text: str) -> bytes:
        """The unmasked, final text frame of a broadcast's ``text``, kept for every connection.

        Frames the protocol builds for its own ``send`` (CONNECT replies with
        their pid, acks, pings) are reused when a broadcast left one, never kept.
        """
        return cls._frames.text_frame(text, keep=True)

    def write_frame(self, frame: bytes) -> bool:
        """Write a ready frame after everything written so far; False if this connection can't now.

        It cannot while the handshake or a close is under way, while the
        transport pushes back (the caller then queues as usual), or when an
        extension such as permessage-deflate would change the frame.
        """
        if not self._sends_plain_frames():
            return False
        self.transport.write(frame)
        return True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = _CoalescingTransport(self.transport, self.loop)  # type: ignore[assignment]
        self._accepted_plain = False

    async def send(self, message: Any) -> None:
        if (message["type"] == "websocket.send" and message.get("bytes") is None
                and message.get("text") is not None
                and self.write_frame(self._frames.text_frame(message["text"], keep=False))):
            return
        await super().send(message)
        if message["type"] == "websocket.accept":
            # accepted, and with no extension (permessage-deflate) that would change a frame
            self._accepted_plain = (self.handshake_complete and self.initial_response is None
                                    and not self.close_sent and not self.conn.extensions)

    def _sends_plain_frames(self) -> bool:
        """Accepted with plain frames, still open, and the transport not pushing back."""
        return (self._accepted_plain and not self.close_sent and not self.disconnected
                and self.writable.is_set() and self.conn.state is State.OPEN)
