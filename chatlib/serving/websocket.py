"""uvicorn's WebSocket protocol, with fewer system calls and one frame per broadcast.

A broadcast to N clients makes python-engineio write the same message to N
WebSocket connections, one frame at a time. uvicorn's protocol frames each
of them anew and makes one ``transport.write`` (one ``send()`` system call)
per frame: most of a broadcasting server's CPU (bench/README.md). Two
changes, nothing else:

- every write a connection makes during one pass of the event loop goes out
  as one ``transport.write``, at the end of that pass, in the order made
  (:class:`CoalescingTransport`);
- a broadcast's frame is built once and reused for every connection that
  sends it (frames from server to client are not masked, so they are the
  same bytes for everyone): ``chatlib.sio.direct`` writes it through
  :class:`SansIOFrameWriter`, a :class:`chatlib.sio.frames.FrameWriter`.

Both work on uvicorn's own sans-I/O protocol, the one ``uvicorn.run`` and the
``uvicorn`` command pick by default: ``chatlib.serving.adapters`` puts them on
such a connection the first time a stored packet is written to it. Handshake,
close, ping/pong, back-pressure and permessage-deflate (when negotiated,
frames are built the stock way) stay uvicorn's.

:class:`CoalescingWebSocketProtocol` has them from the first byte (engineio's
own writes included); :func:`chatlib.serving.serve` uses it::

    import uvicorn
    from chatlib.serving import CoalescingWebSocketProtocol

    uvicorn.run(app, ws=CoalescingWebSocketProtocol, ws_per_message_deflate=False)
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..sio.frames import shared_frames
from . import compat


class CoalescingTransport:
    """Stands in for a connection's transport: what is written in one loop pass goes out once.

    Everything but ``write`` and ``close`` is the real transport's. ``close``
    writes what is pending first, as the real transport would have.

    Example::

        transport = CoalescingTransport(real_transport, loop)
        transport.write(b"a"); transport.write(b"b")   # one real write of b"ab", soon
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


class SansIOFrameWriter:
    """Writes ready frames on a uvicorn sans-I/O WebSocket connection, after its own writes.

    Made once per connection, after the handshake; it puts a
    :class:`CoalescingTransport` under the protocol if it has none, so that
    frames written here and the protocol's own writes share one order and
    one ``send()`` per loop pass.

    Example::

        writer = SansIOFrameWriter(protocol)       # protocol: uvicorn's, accepted
        writer.write_frame(frame_of("42[...]"))    # False once closing or pushed back
    """

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        if not isinstance(compat.transport_of(protocol), CoalescingTransport):
            compat.replace_transport(protocol, CoalescingTransport)
        self._plain = compat.accepted_plain(protocol)

    @property
    def plain(self) -> bool:
        """Accepted with no extension: a shared frame is what this connection would send."""
        return self._plain

    def write_frame(self, frame: bytes) -> bool:
        protocol = self._protocol
        if not self._plain or not compat.open_and_writable(protocol):
            return False
        compat.transport_of(protocol).write(frame)
        return True


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with coalesced writes and shared frames from the start.

    It is its own :class:`chatlib.sio.frames.FrameWriter`; its ``send`` reuses
    a frame a broadcast left, so engineio's writes share it too.
    """

    def write_frame(self, frame: bytes) -> bool:
        """Write a ready frame after everything written so far; False if this connection can't now.

        It cannot while the handshake or a close is under way, while the
        transport pushes back (the caller then queues as usual), or when an
        extension such as permessage-deflate would change the frame.
        """
        writer = self._writer
        return writer is not None and writer.write_frame(frame)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        compat.replace_transport(self, CoalescingTransport)
        self._writer: SansIOFrameWriter | None = None

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send" and self._writer is not None:
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
            if data is not None and self._writer.write_frame(shared_frames.frame(data, keep=False)):
                return
        await super().send(message)
        if message["type"] == "websocket.accept" and compat.accepted_plain(self):
            self._writer = SansIOFrameWriter(self)
