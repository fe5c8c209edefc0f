"""Stored packets written straight onto chatlib's WebSocket connections, past engineio's queue.

python-engineio gives every connection a queue and a writer task: each packet
of a broadcast is put on N queues, and N tasks wake to take it, encode it and
hand it to the ASGI server one at a time. When the server behind a
connection's ASGI ``send`` offers a :class:`chatlib.sio.frames.FrameWriter`
(uvicorn's default WebSocket protocol does, through ``chatlib.serving``,
however uvicorn was started) and engineio holds nothing for it, the
packet's frames, built once per packet (text or binary, attachments
included), go onto that connection's transport at once: they land after
everything engineio wrote before, and the writer, idle, has nothing that
could come after them. In any other case (long-polling, an upgrade under
way, engineio still holding packets, back-pressure, permessage-deflate, a
packet observer registered with ``add_packet_observer``) the packet is
queued the usual way.

The one thing a direct write skips is engineio's check, on each send, of
whether the client stopped answering pings; engineio's service task still
makes that check for every connection once per ``ping_timeout``, so a silent
client is still closed with the reason "ping timeout", at most that much later.
"""

from __future__ import annotations

from typing import Any

from ..core.store import Payload
from . import compat
from .frames import FrameWriter, frame_of, shared_frames, writer_behind


class DirectWriter:
    """Writes a stored packet onto a connection's WebSocket transport when nothing can overtake it.

    Example (inside ``RecoveryRouter.send_payload``)::

        frame = direct.frame(payload)          # once per packet
        if frame is None or not direct.write(eio_sid, frame):
            ...                                # engineio's queue, as usual
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        # eio sid -> (its engineio socket, its connection's frame writer or None)
        self._routes: dict[str, tuple[Any, FrameWriter | None]] = {}

    @staticmethod
    def frame(payload: Payload) -> bytes:
        """The WebSocket frames of a payload's Engine.IO MESSAGEs, one after the other.

        One part (a text packet, or a msgpack one in bytes) is one frame, kept
        for the connections that write it through engineio; a packet with
        binary attachments is its text frame and one binary frame per attachment.
        """
        if not isinstance(payload, list):
            return shared_frames.frame(compat.message_packet(payload).encode(), keep=True)
        return b"".join(frame_of(compat.message_packet(part).encode()) for part in payload)

    def write(self, eio_sid: str, frame: bytes) -> bool:
        """Write ``frame`` to this connection now if that keeps its order; False if not written."""
        route = self._routes.get(eio_sid)
        if route is None:
            socket = compat.engineio_socket(self.server, eio_sid)
            if socket is None:
                return False
            route = self._routes[eio_sid] = (
                socket, writer_behind(compat.asgi_send(self.server, eio_sid)))
        socket, writer = route
        return (writer is not None and compat.writer_is_idle(socket)
                and writer.write_frame(frame))

    def forget(self, eio_sid: str | None) -> None:
        """A connection leaves a namespace: drop what is known of it (found again if still needed)."""
        self._routes.pop(eio_sid, None)  # type: ignore[arg-type]
