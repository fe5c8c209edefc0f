"""The packet log: every stored packet, oldest first, found by offset in O(1)."""

from __future__ import annotations

from typing import Any, Iterator, Optional


class PacketRecord:
    """One stored packet: its sequence number, targets, time and encoded payload.

    ``rooms`` is ``None`` for a broadcast to the whole namespace, else a
    frozenset of rooms; ``exclude`` is ``None`` or a frozenset of session ids.
    """

    __slots__ = ("seq", "namespace", "rooms", "exclude", "created", "payload")

    def __init__(self, seq: int, namespace: str, rooms: Optional[frozenset],
                 exclude: Optional[frozenset], created: float, payload: Any) -> None:
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

    def oldest(self) -> Optional[PacketRecord]:
        return self._items[self._start] if self._start < len(self._items) else None

    def pop_oldest(self) -> PacketRecord:
        record = self._items[self._start]
        self._items[self._start] = None  # type: ignore[call-overload]  # drop the reference now
        self._start += 1
        if self._start >= self._COMPACT_AFTER and self._start * 2 >= len(self._items):
            del self._items[:self._start]
            self._start = 0
        return record

    def after(self, seq: int) -> Iterator[PacketRecord]:
        """The held packets whose sequence number is greater than ``seq``, oldest first."""
        index = self._start + max(0, seq + 1 - self.first_seq)
        for position in range(index, len(self._items)):
            yield self._items[position]

    def __iter__(self) -> Iterator[PacketRecord]:
        return self.after(0)
