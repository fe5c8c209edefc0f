"""The store contract every recovery store fulfils, and what a restore returns."""

from __future__ import annotations

import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import codec
from .log import PacketRecord
from .policy import Recovery

logger = logging.getLogger("chatlib.core.store")

#: What the integration stores for one packet: the encoded Socket.IO packet
#: (a str, or a list of str and bytes for a packet with binary attachments).
Payload = Any

#: The offset a packet carries when its store could not keep it (an outage). The
#: packet is still delivered live, but no restore can start from this offset: a
#: client whose last offset it is gets ``recovered`` false on its next reconnect
#: (``BAD_OFFSET``) instead of a silent gap. It is never made of digits.
UNSTORED = "unstored"


class RestoreFailure(enum.Enum):
    """Why a CONNECT carrying a pid did not restore a session."""

    UNKNOWN_PID = "no kept session has this pid in this namespace"
    ALREADY_CONNECTED = "the session is connected: a pid is restored only after a drop"
    CONNECTED_ELSEWHERE = ("the session is connected to another server that still answers "
                           "(shared stores: retry until that server is taken as gone)")
    EXPIRED = "the session was kept for longer than max_disconnection_duration"
    BAD_OFFSET = "the offset is not one this store gave out"
    PACKETS_LOST = "a packet meant for the session after its offset has been evicted"
    STORE_UNAVAILABLE = "the store cannot be reached (an outage): nothing can be restored now"
    UNREADABLE_STATE = ("the store holds state of the session it cannot read (corrupt, hostile, or "
                        "in the format of chatlib 0.1): the session is forgotten")


@dataclass(frozen=True)
class Restored:
    """A session given back to a returning client.

    ``rooms`` are the rooms it had joined (its own sid room not included),
    ``data`` the python-socketio session dict saved at the drop, ``missed``
    the payloads to write to it, in order, and ``head`` the sequence number
    of the newest packet the restore looked at (later ones come live).
    """

    sid: str
    pid: str
    rooms: tuple[Any, ...]
    data: Any
    missed: list[Payload] = field(repr=False)
    head: int = 0


RestoreResult = Restored | RestoreFailure


class RecoveryStore(ABC):
    """What a recovery store does: a packet log, a session table, expiry, restore.

    The Socket.IO integration calls these methods; they never await, so one
    call is atomic with respect to the event loop. Every method takes the
    namespace because sids are unique per namespace only.
    """

    recovery: Recovery
    #: Turns a payload into ``(event, args)`` for inspection; set by the server.
    describe: Callable[[Payload], tuple[str, list[Any]]] | None = None

    #: A shared store (several servers) delivers every packet through ``feed()``
    #: instead of the emitting server writing it to its own clients. True for
    #: ``SharedStore`` and its subclasses: a store shared by servers subclasses it.
    shared: bool = False
    #: How long a CONNECT waits for a session still connected to another server to be
    #: taken as gone (shared stores only; a private store never answers CONNECTED_ELSEWHERE).
    dead_after: float = 0.0

    #: the limits given to the store itself (``recovery=``), or None: it takes its server's
    own_recovery: Recovery | None = None

    def configure(self, recovery: Recovery) -> None:
        """Take the server's limits (called once by the server that owns the store).

        A store given limits of its own keeps them only where they are the server's:
        two different sets of limits for one server raise ``ValueError`` instead of one
        silently winning (a server given no ``recovery=`` takes its store's).
        """
        if self.own_recovery is not None and self.own_recovery != recovery:
            raise ValueError(f"the store was given {self.own_recovery!r} and its server "
                             f"{recovery!r}: give the limits once, to the server")
        self.recovery = recovery

    @abstractmethod
    def append(self, namespace: str, rooms: Iterable[Any] | None, exclude: Iterable[str] | None,
               make_payload: Callable[[str], Payload]) -> tuple[str, Payload]:
        """Store one packet; ``make_payload(offset)`` encodes it with its offset. Returns both.

        A store that cannot keep the packet (an outage) never raises: it returns
        ``UNSTORED`` as the offset, with the packet encoded with it, and makes sure
        that no session that misses it is restored as if nothing was lost.
        """

    @abstractmethod
    def open_session(self, namespace: str, sid: str, pid: str) -> int:
        """Start tracking a new connected session; returns the sequence number it starts after."""

    @abstractmethod
    def join(self, namespace: str, sid: str, room: Any) -> None:
        """The session entered a room."""

    @abstractmethod
    def leave(self, namespace: str, sid: str, room: Any) -> None:
        """The session left a room."""

    @abstractmethod
    def keep(self, namespace: str, sid: str, data: Any) -> bool:
        """The session's connection dropped: keep it, with its session dict, for recovery."""

    @abstractmethod
    def save_data(self, namespace: str, sid: str, data: Any) -> None:
        """The connected session's session dict changed (``save_session``)."""

    @abstractmethod
    def forget(self, namespace: str, sid: str) -> None:
        """The connected session ended cleanly: drop everything about it (a kept one stays)."""

    @abstractmethod
    def restore(self, namespace: str, pid: Any, offset: Any) -> RestoreResult:
        """Give a kept session back, at most once per drop, with the packets it missed."""

    @abstractmethod
    def missed(self, namespace: str, sid: str,
               offset: str | None = None) -> list[dict[str, Any]]:
        """The stored packets a restore of the kept session ``sid`` would write now, in order.

        Rows as ``packets()`` gives them; nothing is consumed or changed.
        ``offset`` is the offset its client would present; ``None`` stands
        for a client that received everything sent to it before the store
        kept the session (so: the packets stored since). Empty when no kept
        session has this sid, or when a restore now would fail (expired,
        a packet meant for it evicted, an offset this store never gave).

        Example::

            store.missed("/", alice.sid)        # [{'offset': '2', 'event': 'chat message', ...}]
            store.missed("/", alice.sid, "0")   # as if her client had received nothing
        """

    @abstractmethod
    def expire(self, limit: int | None = None) -> int:
        """Evict expired packets and sessions, at most ``limit`` of each; returns how many went."""

    def maintain(self) -> None:  # noqa: B027 (optional: most stores need no upkeep)
        """Slow upkeep that must not run on the event loop; the server calls it in a worker thread."""

    @abstractmethod
    def packets(self) -> list[dict[str, Any]]:
        """The stored packets, oldest first, as plain dicts for inspection."""

    @abstractmethod
    def sessions(self) -> list[dict[str, Any]]:
        """The tracked sessions as plain dicts, with the pid masked."""



class SharedStore(RecoveryStore):
    """A store several servers share: packets reach every server's clients through ``feed()``.

    The emitting server does not write a stored packet to its own clients: every
    server, the emitting one included, delivers the feed in offset order. Since a
    packet then needs no offset at once, the integration stores packets in
    batches, many per round trip: ``prepare_append`` encodes a packet when it is
    emitted (later changes to its arguments do not reach it), and
    ``append_prepared`` stores a batch of them in the order given. The
    synchronous ``append`` stays for callers that need the offset at once.

    Example (what ``chatlib.sio.appends.AppendQueue`` does for a server)::

        batch = [store.prepare_append("/", None, None, encode) for encode in encoders]
        results = await store.append_prepared(batch)   # [(offset, payload), ...] in order
        # an offset UNSTORED (an outage): deliver that payload live to this server's clients
    """

    shared = True

    @abstractmethod
    def prepare_append(self, namespace: str, rooms: Iterable[Any] | None,
                       exclude: Iterable[str] | None,
                       make_payload: Callable[[str], Payload]) -> Any:
        """Encode one packet now, for a later ``append_prepared``; nothing is stored yet."""

    @abstractmethod
    async def append_prepared(self, batch: Sequence[Any]) -> list[tuple[str, Payload]]:
        """Store prepared packets in order (consecutive offsets); never raises for an outage.

        Returns ``(offset, payload)`` per packet, as ``append`` does; during an
        outage every offset is ``UNSTORED``.
        """

    @abstractmethod
    def head(self) -> int:
        """The sequence number of the newest packet any server stored."""

    @abstractmethod
    def feed(self, after: int) -> AsyncIterator[list[PacketRecord]]:
        """Every packet any server stores after ``after``, in offset order, in batches."""

    async def aclose(self) -> None:
        """Close the connections this event loop holds; the store stays usable."""


def storable_session_data(data: Any, namespace: str, sid: str) -> Any:
    """The part of a session dict every store keeps: what ``codec`` can store.

    Decided when the session dict is saved or the session drops, the same way
    in every store: each key whose value cannot be stored (not JSON values and
    bytes) is left out, with one WARNING naming the keys and their types, and
    the session is restored without them.

    Example::

        >>> storable_session_data({"name": "Alice", "seen": {1}}, "/", "sid1")
        {'name': 'Alice'}
    """
    kept, left_out = codec.storable(data)
    if left_out:
        logger.warning("session %s in %s: %s not stored (only JSON values and bytes are): "
                       "it is restored without %s", sid, namespace,
                       ", ".join(f"key {key!r} ({kind})" if key else f"its data ({kind})"
                                 for key, kind in left_out),
                       "them" if len(left_out) > 1 else "it")
    return kept


def mask_pid(pid: str) -> str:
    """Show enough of a pid to tell two apart, never enough to use one."""
    return pid[:4] + "…" if len(pid) > 8 else "…"


def packet_row(record: Any, now: float,
               describe: Callable[[Payload], tuple[str, list[Any]]] | None) -> dict[str, Any]:
    """A stored packet as the plain dict ``packets()`` lists."""
    row: dict[str, Any] = {
        "offset": str(record.seq),
        "namespace": record.namespace,
        "age": now - record.created,
        "rooms": None if record.rooms is None else sorted(map(str, record.rooms)),
        "exclude": sorted(record.exclude) if record.exclude else [],
    }
    if describe is not None:
        row["event"], row["args"] = describe(record.payload)
    return row


def session_row(namespace: str, sid: str, pid: str, rooms: Iterable[Any], connected: bool,
                disconnected_at: float | None, now: float, limit: float) -> dict[str, Any]:
    """A tracked session as the plain dict ``sessions()`` lists, its pid masked."""
    gone_for = None if connected or disconnected_at is None else now - disconnected_at
    return {
        "sid": sid,
        "namespace": namespace,
        "pid": mask_pid(pid),
        "rooms": sorted(str(room) for room in rooms if room != sid),
        "connected": connected,
        "disconnected_for": gone_for,
        "expires_in": None if gone_for is None else max(0.0, limit - gone_for),
    }
