"""MemoryStore: the default recovery store, in the server's own memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .log import PacketLog, PacketRecord, RoomIndex
from .policy import Recovery
from .sessions import EvictionMarks, Session, SessionTable
from .store import (
    Payload,
    RecoveryStore,
    Restored,
    RestoreFailure,
    RestoreResult,
    packet_row,
    session_row,
    storable_session_data,
)

_MAX_OFFSET_DIGITS = 19


def _parse_offset(offset: Any) -> int | None:
    if (isinstance(offset, str) and 0 < len(offset) <= _MAX_OFFSET_DIGITS
            and offset.isascii() and offset.isdigit()):
        return int(offset)
    return None


class MemoryStore(RecoveryStore):
    """Keeps packets and sessions in this process; all is lost when it stops.

    Offsets are decimal sequence numbers. Restoring finds the client's offset
    by index, so its cost depends on the packets missed, not on the packets
    buffered. ``clock`` returns seconds (monotonic) and is injectable for tests.
    A session dict is kept as it is, less what a store outside the process could
    not keep either (``store.storable_session_data``: the same outcome on every store).

    Example::

        >>> from chatlib import MemoryStore, Recovery
        >>> store = MemoryStore(Recovery(max_disconnection_duration=60))
        >>> store.open_session("/", "sid1", "pid1")
        0
        >>> offset, payload = store.append("/", None, None, lambda o: f"hello@{o}")
        >>> payload
        'hello@1'
        >>> store.keep("/", "sid1", {"user": "alice"})
        True
        >>> _ = store.append("/", None, None, lambda o: f"missed@{o}")
        >>> restored = store.restore("/", "pid1", offset)
        >>> restored.sid, restored.data, restored.missed
        ('sid1', {'user': 'alice'}, ['missed@2'])
    """

    def __init__(self, recovery: Recovery | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.own_recovery = recovery
        self.recovery = recovery or Recovery()
        self.clock = clock
        self._log = PacketLog()
        self._index = RoomIndex()
        self._sessions = SessionTable()
        self._marks = EvictionMarks()

    # -- packets ---------------------------------------------------------

    def append(self, namespace: str, rooms: Iterable[Any] | None, exclude: Iterable[str] | None,
               make_payload: Callable[[str], Payload]) -> tuple[str, Payload]:
        seq = self._log.next_seq()
        offset = str(seq)
        payload = make_payload(offset)
        now = self.clock()
        record = PacketRecord(seq, namespace, None if rooms is None else frozenset(rooms),
                              frozenset(exclude) if exclude else None, now, payload)
        self._log.append(record)
        self._index.add(record)
        self._packet_added(record)
        if len(self._log) > self.recovery.max_buffered_packets:
            self._evict_oldest()
        self._expire_packets(now - self.recovery.max_disconnection_duration, limit=2)
        return offset, payload

    def _evict_oldest(self) -> None:
        record = self._log.pop_oldest()
        self._index.remove_oldest(record)
        self._marks.record(record, self._sessions.get)
        self._packet_evicted(record)

    def _expire_packets(self, cutoff: float, limit: int | None) -> int:
        count = 0
        while limit is None or count < limit:
            oldest = self._log.oldest()
            if oldest is None or oldest.created > cutoff:
                break
            self._evict_oldest()
            count += 1
        return count

    # -- sessions --------------------------------------------------------

    def open_session(self, namespace: str, sid: str, pid: str) -> int:
        old = self._sessions.get(namespace, sid)
        if old is not None:
            self._drop_session(old)
        session = Session(namespace, sid, pid, self._log.last_seq)
        self._track(session)
        self._session_changed(session)
        return session.start

    def _track(self, session: Session) -> None:
        self._sessions.add(session)
        for key, _ in session.room_keys():
            self._marks.add_member(key)

    def join(self, namespace: str, sid: str, room: Any) -> None:
        session = self._sessions.get(namespace, sid)
        if (session is None or not session.connected or room is None
                or room in session.joined):
            return
        session.joined[room] = self._log.last_seq
        self._marks.add_member((namespace, room))
        self._session_changed(session)

    def leave(self, namespace: str, sid: str, room: Any) -> None:
        session = self._sessions.get(namespace, sid)
        if (session is None or not session.connected or room == sid
                or room not in session.joined):
            return
        del session.joined[room]
        session.shadow.pop((namespace, room), None)
        self._marks.remove_member((namespace, room))
        self._session_changed(session)

    def keep(self, namespace: str, sid: str, data: Any) -> bool:
        session = self._sessions.get(namespace, sid)
        if session is None or not session.connected:
            return False
        session.data = storable_session_data(data, namespace, sid)
        session.kept_after = self._log.last_seq
        self._sessions.mark_dropped(session, self.clock())
        self._session_changed(session)
        self._bound_kept_sessions()
        return True

    def _bound_kept_sessions(self) -> None:
        """Past ``max_kept_sessions`` the session that dropped longest ago goes first."""
        while self._sessions.kept > self.recovery.max_kept_sessions:
            oldest = self._sessions.pop_oldest_kept()
            if oldest is None:
                break
            self._drop_session(oldest)

    def save_data(self, namespace: str, sid: str, data: Any) -> None:
        session = self._sessions.get(namespace, sid)
        if session is not None and session.connected:
            session.data = storable_session_data(data, namespace, sid)
            self._session_changed(session)

    def forget(self, namespace: str, sid: str) -> None:
        session = self._sessions.get(namespace, sid)
        if session is not None and session.connected:
            self._drop_session(session)

    def _drop_session(self, session: Session) -> None:
        self._sessions.remove(session)
        for key, _ in session.room_keys():
            self._marks.remove_member(key)
        self._session_removed(session)

    def restore(self, namespace: str, pid: Any, offset: Any) -> RestoreResult:
        session = self._sessions.by_pid(pid) if isinstance(pid, str) else None
        if session is None or session.namespace != namespace:
            return RestoreFailure.UNKNOWN_PID
        if session.connected or session.disconnected_at is None:
            return RestoreFailure.ALREADY_CONNECTED
        if self.clock() - session.disconnected_at > self.recovery.max_disconnection_duration:
            self._drop_session(session)
            return RestoreFailure.EXPIRED
        if offset is None:
            from_seq = session.start
        else:
            asked = _parse_offset(offset)
            if asked is None or asked > self._log.last_seq:
                return RestoreFailure.BAD_OFFSET
            from_seq = max(asked, session.start)
        if self._marks.lost_for(session, from_seq):
            return RestoreFailure.PACKETS_LOST
        missed = [record.payload for record in self._meant_for(session, from_seq)]
        self._sessions.mark_restored(session)
        self._session_changed(session)
        rooms = tuple(room for room in session.joined if room != session.sid)
        return Restored(session.sid, session.pid, rooms, session.data, missed, self._log.last_seq)

    def _meant_for(self, session: Session, from_seq: int) -> list[PacketRecord]:
        """The held packets after ``from_seq`` meant for ``session``, oldest first."""
        starts = [(key, max(from_seq, joined_at)) for key, joined_at in session.room_keys()]
        candidates = (self._log.get(seq) for seq in self._index.after(starts))
        return [record for record in candidates if session.is_target(record)]

    def missed(self, namespace: str, sid: str,
               offset: str | None = None) -> list[dict[str, Any]]:
        session = self._sessions.get(namespace, sid)
        if session is None or session.connected or session.disconnected_at is None:
            return []
        dropped_at = session.disconnected_at
        if self.clock() - dropped_at > self.recovery.max_disconnection_duration:
            return []
        if offset is None:
            from_seq = self._kept_after(session, dropped_at)
        else:
            asked = _parse_offset(offset)
            if asked is None or asked > self._log.last_seq:
                return []
            from_seq = asked
        from_seq = max(from_seq, session.start)
        if self._marks.lost_for(session, from_seq):
            return []
        now = self.clock()
        return [packet_row(record, now, self.describe)
                for record in self._meant_for(session, from_seq)]

    def _kept_after(self, session: Session, dropped_at: float) -> int:
        if session.kept_after is not None:
            return session.kept_after
        # kept before a restart: the packets stored up to the moment of the drop
        return max((record.seq for record in self._log if record.created <= dropped_at),
                   default=session.start)

    # -- persistence hooks (a durable store writes here; memory needs nothing) --

    def _packet_added(self, record: PacketRecord) -> None:
        pass

    def _packet_evicted(self, record: PacketRecord) -> None:
        pass

    def _session_changed(self, session: Session) -> None:
        pass

    def _session_removed(self, session: Session) -> None:
        pass

    # -- expiry ----------------------------------------------------------

    def expire(self, limit: int | None = None) -> int:
        cutoff = self.clock() - self.recovery.max_disconnection_duration
        count = self._expire_packets(cutoff, limit)
        sessions = 0
        while limit is None or sessions < limit:
            session = self._sessions.pop_expired(cutoff)
            if session is None:
                break
            self._drop_session(session)
            sessions += 1
        return count + sessions

    # -- inspection ------------------------------------------------------

    def packets(self) -> list[dict[str, Any]]:
        now = self.clock()
        # a payload None is a packet a durable store could not read back: no packet to show
        return [packet_row(record, now, self.describe) for record in self._log
                if record.payload is not None]

    def sessions(self) -> list[dict[str, Any]]:
        now = self.clock()
        limit = self.recovery.max_disconnection_duration
        return [session_row(session.namespace, session.sid, session.pid, session.joined,
                            session.connected, session.disconnected_at, now, limit)
                for session in self._sessions]

    def stats(self) -> dict[str, Any]:
        """Counts for monitoring: buffered packets, sessions, kept sessions, eviction marks."""
        return {"packets": len(self._log), "sessions": len(self._sessions),
                "kept_sessions": self._sessions.kept, "marks": len(self._marks),
                "first_offset": str(self._log.first_seq), "last_offset": str(self._log.last_seq)}
