"""Sessions the store tracks: connected ones (for their rooms) and kept ones (after a drop)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .log import PacketRecord

RoomKey = tuple[str, Any]  # (namespace, room); room None stands for "everyone in the namespace"


class Session:
    """What recovery needs of one Socket.IO session.

    ``start`` is the last sequence number at the moment the session began;
    ``joined`` maps each room (its own sid included) to the last sequence
    number when it joined, so that no packet sent to a room before the session
    was in it is ever replayed to it.
    """

    __slots__ = (
        "connected",
        "data",
        "disconnected_at",
        "joined",
        "kept_after",
        "namespace",
        "pid",
        "shadow",
        "sid",
        "start",
    )

    def __init__(self, namespace: str, sid: str, pid: str, start: int) -> None:
        self.namespace = namespace
        self.sid = sid
        self.pid = pid
        self.start = start
        self.joined: dict[Any, int] = {sid: start}
        self.data: Any = None
        self.connected = True
        self.disconnected_at: float | None = None
        # key -> (mark, mark as this session sees it): see EvictionMarks
        self.shadow: dict[RoomKey, tuple[int, int]] = {}
        # the last sequence number when the store kept it (None: not known, e.g. after a restart)
        self.kept_after: int | None = None

    def room_keys(self) -> Iterator[tuple[RoomKey, int]]:
        """Each (namespace, room) key of this session with the sequence number it joined at."""
        yield (self.namespace, None), self.start
        for room, joined_at in self.joined.items():
            yield (self.namespace, room), joined_at

    def is_target(self, record: PacketRecord) -> bool:
        """Whether a stored packet was meant for this session while it was in its rooms."""
        if record.namespace != self.namespace:
            return False
        if record.exclude is not None and self.sid in record.exclude:
            return False
        if record.rooms is None:
            return record.seq > self.start
        for room in record.rooms:
            joined_at = self.joined.get(room)
            if joined_at is not None and joined_at < record.seq:
                return True
        return False


class EvictionMarks:
    """Remembers, per room, the newest evicted packet, to tell a lossless restore from a lossy one.

    A session may restore only if no evicted packet was meant for it after
    its offset. Per room key we keep the highest evicted sequence number; a
    packet that excluded some sessions leaves each of them a "shadow" of the
    mark as it stood for them, so that exclusions stay exact. Keys are kept
    only while a tracked session is in the room: a session that joins later
    joins above every mark.
    """

    def __init__(self) -> None:
        self._high: dict[RoomKey, int] = {}
        self._members: dict[RoomKey, int] = {}

    def __len__(self) -> int:
        return len(self._high)

    def high(self, key: RoomKey) -> int | None:
        """The newest evicted sequence number sent to ``key``, if one is remembered."""
        return self._high.get(key)

    def items(self) -> list[tuple[RoomKey, int]]:
        return list(self._high.items())

    def load(self, key: RoomKey, high: int) -> None:
        """Take back a remembered mark (a durable store's start-up); ignored without members."""
        if key in self._members:
            self._high[key] = high

    def add_member(self, key: RoomKey) -> None:
        self._members[key] = self._members.get(key, 0) + 1

    def remove_member(self, key: RoomKey) -> None:
        count = self._members.get(key, 0) - 1
        if count > 0:
            self._members[key] = count
        else:
            self._members.pop(key, None)
            self._high.pop(key, None)

    def mark_as_seen_by(self, session: Session, key: RoomKey) -> int:
        high = self._high.get(key, 0)
        shadow = session.shadow.get(key)
        if shadow is not None and shadow[0] == high:
            return shadow[1]
        return high

    def record(self, record: PacketRecord,
               find_session: Callable[[str, str], Session | None]) -> None:
        """Note an evicted packet; ``find_session(namespace, sid)`` looks up excluded sessions."""
        for key in record.room_keys():
            if key not in self._members:
                continue
            if record.exclude:
                namespace, room = key
                for sid in record.exclude:
                    session = find_session(namespace, sid)
                    if session is not None and (room is None or room in session.joined):
                        session.shadow[key] = (record.seq, self.mark_as_seen_by(session, key))
            self._high[key] = record.seq

    def lost_for(self, session: Session, from_seq: int) -> bool:
        """Whether an evicted packet after ``from_seq`` was meant for ``session``."""
        for key, joined_at in session.room_keys():
            if self.mark_as_seen_by(session, key) > max(from_seq, joined_at):
                return True
        return False


class SessionTable:
    """Sessions by (namespace, sid) and by pid, and the kept ones in the order they dropped.

    ``kept`` counts the sessions kept right now. The drop queue may hold stale
    entries (sessions restored or removed since); it is compacted whenever it
    grows past twice the kept sessions, so a client that drops and recovers in
    a loop does not grow it either.
    """

    def __init__(self) -> None:
        self._by_sid: dict[tuple[str, str], Session] = {}
        self._by_pid: dict[str, Session] = {}
        self._dropped: deque[tuple[float, Session]] = deque()
        self.kept = 0

    def __len__(self) -> int:
        return len(self._by_sid)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._by_sid.values()))

    def add(self, session: Session) -> None:
        self._by_sid[(session.namespace, session.sid)] = session
        self._by_pid[session.pid] = session

    def get(self, namespace: str, sid: str) -> Session | None:
        return self._by_sid.get((namespace, sid))

    def by_pid(self, pid: str) -> Session | None:
        return self._by_pid.get(pid)

    def remove(self, session: Session) -> None:
        if self._by_sid.get((session.namespace, session.sid)) is not session:
            return
        del self._by_sid[(session.namespace, session.sid)]
        if self._by_pid.get(session.pid) is session:
            del self._by_pid[session.pid]
        if not session.connected:
            self.kept -= 1

    def mark_dropped(self, session: Session, now: float) -> None:
        session.connected = False
        session.disconnected_at = now
        self.kept += 1
        self._dropped.append((now, session))
        if len(self._dropped) > 2 * self.kept + 64:
            self._dropped = deque(entry for entry in self._dropped if self._still_kept(*entry))

    def mark_restored(self, session: Session) -> None:
        session.connected = True
        session.disconnected_at = None
        self.kept -= 1

    def _still_kept(self, dropped_at: float, session: Session) -> bool:
        """Whether a queue entry is the session's current drop (not restored or removed since)."""
        return (not session.connected and session.disconnected_at == dropped_at
                and self._by_sid.get((session.namespace, session.sid)) is session)

    def pop_expired(self, cutoff: float) -> Session | None:
        """The next kept session that dropped at or before ``cutoff``, or None.

        Entries of sessions that were restored, dropped again or removed since
        are skipped: only a session still kept from that very drop expires.
        """
        while self._dropped and self._dropped[0][0] <= cutoff:
            entry = self._dropped.popleft()
            if self._still_kept(*entry):
                return entry[1]
        return None

    def pop_oldest_kept(self) -> Session | None:
        """The kept session that dropped longest ago (for ``max_kept_sessions``), or None."""
        while self._dropped:
            entry = self._dropped.popleft()
            if self._still_kept(*entry):
                return entry[1]
        return None
