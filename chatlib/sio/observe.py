"""Packet observers: every Socket.IO packet a RecoveryServer sends or receives, as it happens.

An app registers a function with ``sio.add_packet_observer(fn)``; from then
on ``fn`` gets one :class:`ObservedPacket` per packet, in the order the
server handles them, with every pid masked. Nothing is decoded, wrapped or
looked up while no observer is registered: the server's hooks test one
empty list.

Where the packets are seen:

- in: every Engine.IO message (a Socket.IO packet) from a client, before
  python-socketio handles it;
- out: every message written to a client (``eio.send_packet``: CONNECT
  replies, CONNECT_ERROR, events, acks, DISCONNECT), with ``replay=True``
  while a restore writes a session's missed packets;
- a drop: the Engine.IO connection closed while Socket.IO sessions were
  still on it (no DISCONNECT came first), at the moment the server notices,
  with Engine.IO's reason ("transport close", "ping timeout", ...).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from socketio import packet as sio_packet

from ..core.store import mask_pid
from . import compat
from .redact import replace_pids

logger = logging.getLogger(__name__)

_EIO_MESSAGE = "4"  # Engine.IO's packet type for a message: the "4" of 42["chat message",...]
_UNANSWERED = 0.9  # of the ping timeout: the read loop's timer and the ping's start apart by jitter
_TYPE_NAMES = {
    sio_packet.CONNECT: "CONNECT", sio_packet.DISCONNECT: "DISCONNECT",
    sio_packet.EVENT: "EVENT", sio_packet.ACK: "ACK", sio_packet.CONNECT_ERROR: "CONNECT_ERROR",
    sio_packet.BINARY_EVENT: "EVENT", sio_packet.BINARY_ACK: "ACK",
}


def mask_pids(text: str) -> str:
    """``text`` with the value of every ``"pid"`` JSON field masked as ``store.sessions()`` does.

    Example::

        >>> mask_pids('40{"pid":"Zm9vYmFyYmF6cXV4","offset":"1"}')
        '40{"pid":"Zm9v…","offset":"1"}'
    """
    return replace_pids(text, mask_pid)


@dataclass(frozen=True)
class ObservedPacket:
    """One Socket.IO packet (or one drop) as the server saw it.

    ``time`` is ``time.monotonic()``; ``direction`` is ``"in"`` (client to
    server) or ``"out"``; ``type`` one of ``"CONNECT"``, ``"CONNECT_ERROR"``,
    ``"EVENT"``, ``"ACK"``, ``"DISCONNECT"``, ``"DROP"``; ``eio_sid`` the
    Engine.IO connection, ``sid`` the Socket.IO session where one is known;
    ``text`` the Engine.IO message as on the wire (``42["chat message","hi","3"]``)
    with pids masked (empty for a drop);
    ``offset`` a stored event's offset, or the offset a reconnecting CONNECT
    presents; ``replay`` whether a restore is writing it; ``event`` an
    event's name; ``reason`` why a drop happened, in Engine.IO's words;
    ``recovered`` for a CONNECT reply, whether it restored a kept session.
    """

    time: float
    direction: str
    type: str
    eio_sid: str
    sid: str | None
    namespace: str
    text: str
    offset: str | None = None
    replay: bool = False
    event: str | None = None
    reason: str | None = None
    recovered: bool | None = None


PacketObserver = Callable[[ObservedPacket], Any]


class PacketObservers:
    """The observers of one server, and the hooks the server calls.

    Each hook returns at once while the list is empty. An observer that
    raises is logged at DEBUG and stays registered: tracing never breaks
    the traffic it traces.
    """

    def __init__(self, server: Any) -> None:
        self._server = server
        self._observers: list[PacketObserver] = []
        self._replaying: set[str] = set()
        self._send_packet: Callable[..., Any] | None = None

    def __bool__(self) -> bool:
        return bool(self._observers)

    def add(self, observer: PacketObserver) -> None:
        if not self._observers:
            self._wrap_send()
        self._observers.append(observer)

    def remove(self, observer: PacketObserver) -> None:
        if observer in self._observers:
            self._observers.remove(observer)
        if not self._observers:
            self._unwrap_send()

    # -- hooks -----------------------------------------------------------

    def received(self, eio_sid: str, data: Any) -> None:
        """A Socket.IO packet from a client (one Engine.IO message)."""
        if self._observers and isinstance(data, str):
            self._publish(self._describe("in", eio_sid, data))

    @contextlib.contextmanager
    def replaying(self, eio_sid: str) -> Iterator[None]:
        """What is written to ``eio_sid`` meanwhile is a restore's replay."""
        self._replaying.add(eio_sid)
        try:
            yield
        finally:
            self._replaying.discard(eio_sid)

    def dropped(self, eio_sid: str, reason: Any) -> None:
        """The Engine.IO connection ``eio_sid`` closed: a drop for each session still on it.

        Called before the server forgets the connection; a session that sent
        (or was sent) DISCONNECT is leaving cleanly, not dropping.
        """
        if not self._observers:
            return
        now = time.monotonic()
        reason = self._ping_timed_out(eio_sid) or reason
        manager = self._server.manager
        for namespace in list(manager.get_namespaces()):
            sid = manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is None or sid in compat.pending_disconnect(manager).get(namespace, ()):
                continue
            self._publish(ObservedPacket(now, "in", "DROP", eio_sid, sid, namespace, "",
                                         reason=None if reason is None else str(reason)))

    # -- internals -------------------------------------------------------

    def _ping_timed_out(self, eio_sid: str) -> str | None:
        """"ping timeout" when the connection ended with a ping unanswered for the whole timeout.

        python-engineio reports a silent WebSocket as "transport close" when its
        read loop, not its ping check, runs out of time first (both wait about
        as long); the unanswered ping tells the two apart.
        """
        eio = self._server.eio
        last_ping = compat.unanswered_ping(compat.engineio_socket(self._server, eio_sid))
        if last_ping is not None and time.time() - last_ping >= _UNANSWERED * eio.ping_timeout:
            return str(compat.disconnect_reasons(self._server).PING_TIMEOUT)
        return None

    def _wrap_send(self) -> None:
        eio = self._server.eio
        original = eio.send_packet
        self._send_packet = original

        async def send_packet(eio_sid: str, pkt: Any) -> Any:
            if self._observers and isinstance(pkt.data, str):
                self._publish(self._describe("out", eio_sid, pkt.data))
            return await original(eio_sid, pkt)

        eio.send_packet = send_packet

    def _unwrap_send(self) -> None:
        if self._send_packet is not None:
            self._server.eio.send_packet = self._send_packet
            self._send_packet = None

    def _describe(self, direction: str, eio_sid: str, text: str) -> ObservedPacket:
        now = time.monotonic()
        wire = mask_pids(_EIO_MESSAGE + text)
        try:
            pkt = self._server.packet_class(encoded_packet=text)
        except Exception:  # recovery=None lets python-socketio refuse bad input; still show it
            return ObservedPacket(now, direction, "MALFORMED", eio_sid, None, "/", wire)
        namespace = pkt.namespace or "/"
        kind = _TYPE_NAMES.get(pkt.packet_type, str(pkt.packet_type))
        sid = self._server.manager.sid_from_eio_sid(eio_sid, namespace)
        offset = event = recovered = None
        data = pkt.data
        if kind == "CONNECT" and isinstance(data, dict):
            if direction == "out":
                sid = data.get("sid", sid)
                recovered = self._server.recovered(sid, namespace)
            elif isinstance(data.get("offset"), str):
                offset = data["offset"]
        elif kind == "EVENT" and isinstance(data, list) and data:
            event = data[0] if isinstance(data[0], str) else None
            stored = (self._server.store is not None and pkt.id is None and direction == "out"
                      and len(data) > 1 and isinstance(data[-1], str))
            if stored:
                offset = data[-1]
        return ObservedPacket(now, direction, kind, eio_sid, sid, namespace, wire,
                              offset=offset, replay=direction == "out" and eio_sid in self._replaying,
                              event=event, recovered=recovered)

    def _publish(self, observed: ObservedPacket) -> None:
        for observer in list(self._observers):
            try:
                observer(observed)
            except Exception:
                logger.debug("a packet observer failed", exc_info=True)
