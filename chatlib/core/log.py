"""The packet log: every stored packet, oldest first, found by offset in O(1)."""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Any


class PacketRecord:
    """One stored packet: its sequence number, targets, time and encoded payload.

    ``rooms`` is ``None`` for a broadcast to the whole namespace, else a
    frozenset of rooms; ``exclude`` is ``None`` or a frozenset of session ids.
    """

    __slots__ = ("created", "exclude", "namespace", "payload", "rooms", "seq")

    def __init__(self, seq: int, namespace: str, rooms: frozenset[Any] | None,
                 exclude: frozenset[str] | None, created: float, payload: Any) -> None:
        self.seq = seq
        self.namespace = namespace
        self.rooms = rooms
        self.exclude = exclude
        self.created = created
        self.payload = payload

    def room_keys(self) -> list[tuple[str, Any]]:
        """The (namespace, room) keys this packet was sent to; room None means everyone."""
        if self.rooms is None:
            return [(self.namespace, None)]
        return [(self.namespace, room) for room in self.rooms]


class PacketLog:
    """Packets with contiguous sequence numbers, appended at the end, evicted at the front.

    A plain list with a moving start index keeps lookup by sequence number
    O(1); the evicted prefix is cut off once it is most of the list, so each
    packet is moved at most a constant number of times.
    """

    _COMPACT_AFTER = 1024

    def __init__(self, last_seq: int = 0) -> None:
        self._items: list[PacketRecord] = []
        self._start = 0
        self._last_seq = last_seq

    def __len__(self) -> int:
        return len(self._items) - self._start

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest packet ever appended (0 before the first)."""
        return self._last_seq

    @property
    def first_seq(self) -> int:
        """The sequence number of the oldest packet still held (last_seq + 1 when empty)."""
        return self._last_seq + 1 - len(self)

    def next_seq(self) -> int:
        return self._last_seq + 1

    def append(self, record: PacketRecord) -> None:
        if record.seq != self._last_seq + 1:
            raise ValueError("packets must be appended in sequence")
        self._items.append(record)
        self._last_seq = record.seq

    def oldest(self) -> PacketRecord | None:
        return self._items[self._start] if self._start < len(self._items) else None

    def pop_oldest(self) -> PacketRecord:
        record = self._items[self._start]
        self._items[self._start] = None  # type: ignore[call-overload]  # drop the reference now
        self._start += 1
        if self._start >= self._COMPACT_AFTER and self._start * 2 >= len(self._items):
            del self._items[:self._start]
            self._start = 0
        return record

    def get(self, seq: int) -> PacketRecord:
        """The held packet with this sequence number (it must be held)."""
        return self._items[self._start + seq - self.first_seq]

    def after(self, seq: int) -> Iterator[PacketRecord]:
        """The held packets whose sequence number is greater than ``seq``, oldest first."""
        index = self._start + max(0, seq + 1 - self.first_seq)
        for position in range(index, len(self._items)):
            yield self._items[position]

    def __iter__(self) -> Iterator[PacketRecord]:
        return self.after(0)


class _Seqs:
    """Ascending sequence numbers; the oldest leave from the front in O(1) amortised."""

    __slots__ = ("items", "start")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.start = 0

    def __len__(self) -> int:
        return len(self.items) - self.start

    def drop_oldest(self) -> None:
        self.start += 1
        if self.start >= 64 and self.start * 2 >= len(self.items):
            del self.items[:self.start]
            self.start = 0

    def after(self, seq: int) -> list[int]:
        return self.items[bisect_right(self.items, seq, self.start):]


class RoomIndex:
    """The held packets' sequence numbers per (namespace, room) key; room None is everyone.

    A restore looks only at the packets sent to the session's own rooms, so a
    client that missed ten messages behind a million sent elsewhere costs ten
    lookups, not a million checks.
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, Any], _Seqs] = {}

    def add(self, record: PacketRecord) -> None:
        for key in record.room_keys():
            seqs = self._by_key.get(key)
            if seqs is None:
                seqs = self._by_key[key] = _Seqs()
            seqs.items.append(record.seq)

    def remove_oldest(self, record: PacketRecord) -> None:
        """Forget ``record``, the oldest held packet (so the first of each of its keys)."""
        for key in record.room_keys():
            seqs = self._by_key[key]
            seqs.drop_oldest()
            if not seqs:
                del self._by_key[key]

    def after(self, starts: Iterable[tuple[tuple[str, Any], int]]) -> Iterator[int]:
        """Sequence numbers after each key's start, merged in order, each once."""
        runs = []
        for key, start in starts:
            seqs = self._by_key.get(key)
            if seqs is not None:
                runs.append(seqs.after(start))
        previous = None
        for seq in heapq.merge(*runs):
            if seq != previous:
                yield seq
                previous = seq
