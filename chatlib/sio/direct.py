"""Stored packets written straight onto chatlib's WebSocket connections, past engineio's queue.

python-engineio gives every connection a queue and a writer task: each packet
of a broadcast is put on N queues, and N tasks wake to take it, encode it and
hand it to the ASGI server one at a time. When a connection runs on
:class:`chatlib.websocket.CoalescingWebSocketProtocol` (``chatlib.serving.serve``
uses it) and engineio holds nothing for it, the frame, built once per
packet, can go onto that connection's transport at once: it lands after
everything engineio wrote before, and the writer, idle, has nothing that
could come after it. In any other case (long-polling, an upgrade under way,
engineio still holding packets, back-pressure, binary attachments, a
packet observer registered with ``add_packet_observer``) the packet is
queued the usual way.

The one thing a direct write skips is engineio's check, on each send, of
whether the client stopped answering pings; engineio's service task still
makes that check for every connection once per ``ping_timeout``, so a silent
client is still closed with the reason "ping timeout", at most that much later.
"""

from __future__ import annotations

from typing import Any, Optional

from ..core.store import Payload
from ..websocket import CoalescingWebSocketProtocol
from . import compat


class DirectWriter:
    """Writes a stored packet onto a connection's WebSocket transport when nothing can overtake it.

    Example (inside ``RecoveryRouter.send_payload``)::

        frame = direct.frame(payload)          # once per packet
        if frame is None or not direct.write(eio_sid, frame):
            ...                                # engineio's queue, as usual
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        # eio sid -> (its engineio socket, its CoalescingWebSocketProtocol or None)
        self._routes: dict[str, tuple[Any, Optional[CoalescingWebSocketProtocol]]] = {}

    @staticmethod
    def frame(payload: Payload) -> Optional[bytes]:
        """The WebSocket frame of a text payload's Engine.IO MESSAGE; None for binary ones."""
        if isinstance(payload, list):
            return None
        return CoalescingWebSocketProtocol.text_frame(compat.message_packet(payload).encode())

    def write(self, eio_sid: str, frame: bytes) -> bool:
        """Write ``frame`` to this connection now if that keeps its order; False if not written."""
        route = self._routes.get(eio_sid)
        if route is None:
            socket = compat.engineio_socket(self.server, eio_sid)
            if socket is None:
                return False
            found = compat.asgi_connection(self.server, eio_sid)
            route = self._routes[eio_sid] = (
                socket, found if isinstance(found, CoalescingWebSocketProtocol) else None)
        socket, protocol = route
        return (protocol is not None and compat.writer_is_idle(socket)
                and protocol.write_frame(frame))

    def forget(self, eio_sid: Optional[str]) -> None:
        """A connection leaves a namespace: drop what is known of it (found again if still needed)."""
        self._routes.pop(eio_sid, None)  # type: ignore[arg-type]
