"""MemoryStore against a simple reference model, under random sequences of operations.

The model keeps every packet ever appended, with its targets, and every session with its rooms
and the sequence number it joined each at; it knows which packets the store still holds (the
store's own ``packets()``), so it knows which were lost. On every restore:

- the model says which packets after the offset were meant for the session; if one of them is
  no longer held, the store must refuse (PACKETS_LOST), else it must return exactly those
  payloads, in order, with the session's rooms and data;
- the store may refuse only for a reason the model agrees with: unknown pid, still connected,
  expired, bad offset, or a lost packet.

Invariants after every step: the held packets are the newest ones, contiguous, never more than
``max_buffered_packets``; after ``expire()`` none is older than ``max_disconnection_duration``
and no kept session is either; stats() agree with the model's counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from chatlib import MemoryStore, Recovery, Restored, RestoreFailure

NAMESPACES = ("/", "/b")
ROOMS = ("r1", "r2", "r3")
MAX_DURATION = 10.0


@dataclass
class ModelSession:
    namespace: str
    sid: str
    pid: str
    start: int
    joined: dict = field(default_factory=dict)   # room -> last seq when it joined
    data: Any = None
    connected: bool = True
    dropped_at: float | None = None
    seen: int = 0   # the last seq when it dropped: what a client that got everything presents


@dataclass
class ModelPacket:
    seq: int
    namespace: str
    rooms: frozenset | None
    exclude: frozenset
    created: float
    payload: str


def meant_for(session: ModelSession, packet: ModelPacket) -> bool:
    if packet.namespace != session.namespace or session.sid in packet.exclude:
        return False
    if packet.rooms is None:
        return packet.seq > session.start
    return any(room in session.joined and session.joined[room] < packet.seq
               for room in packet.rooms)


class StoreAgainstModel(RuleBasedStateMachine):
    """Drives a MemoryStore and the model side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.store: MemoryStore | None = None
        self.packets: list[ModelPacket] = []
        self.sessions: dict[tuple[str, str], ModelSession] = {}   # live in the store
        self.gone_pids: list[str] = []                            # forgotten, expired, replaced
        self.ids = itertools.count(1)
        self.counts = {"restored": 0, "lost": 0, "refused": 0, "appended": 0}

    @initialize(limit=st.integers(min_value=1, max_value=12))
    def start(self, limit: int) -> None:
        self.limit = limit
        self.store = MemoryStore(Recovery(max_disconnection_duration=MAX_DURATION,
                                          max_buffered_packets=limit), clock=lambda: self.now)

    # -- what the store holds ----------------------------------------------------------

    def held(self) -> set[int]:
        return {int(row["offset"]) for row in self.store.packets()}

    @property
    def last_seq(self) -> int:
        return self.packets[-1].seq if self.packets else 0

    def live(self, connected: bool | None = None) -> list[ModelSession]:
        return [s for s in self.sessions.values() if connected is None or s.connected == connected]

    # -- operations: one weighted rule, so that the interesting ones come often ------------

    OPERATIONS = (["open"] * 3 + ["join"] * 2 + ["leave"] + ["keep"] * 3 + ["forget"]
                  + ["append"] * 3 + ["burst"] * 2 + ["expire"] + ["tick"] * 2
                  + ["restore_kept"] * 4 + ["restore_any"] * 2)

    @rule(data=st.data(), operation=st.sampled_from(OPERATIONS))
    def step(self, data, operation: str) -> None:
        getattr(self, operation)(data)

    def tick(self, data) -> None:
        self.now += data.draw(st.sampled_from([0.5, 1.0, 3.0, MAX_DURATION / 2, MAX_DURATION,
                                               MAX_DURATION + 1]))

    def open(self, data) -> None:
        namespace = data.draw(st.sampled_from(NAMESPACES))
        number = next(self.ids)
        session = ModelSession(namespace, f"sid{number}", f"pid{number}", self.last_seq)
        session.joined[session.sid] = self.last_seq
        self.store.open_session(namespace, session.sid, session.pid)
        self.sessions[(namespace, session.sid)] = session
        for room in sorted(data.draw(st.sets(st.sampled_from(ROOMS)))):
            self.store.join(namespace, session.sid, room)
            session.joined[room] = self.last_seq

    def pick(self, data, connected: bool | None) -> ModelSession | None:
        pool = sorted(self.live(connected), key=lambda s: s.sid)
        return data.draw(st.sampled_from(pool)) if pool else None

    def join(self, data) -> None:
        session, room = self.pick(data, True), data.draw(st.sampled_from(ROOMS))
        if session is not None:
            self.store.join(session.namespace, session.sid, room)
            session.joined.setdefault(room, self.last_seq)

    def leave(self, data) -> None:
        session, room = self.pick(data, True), data.draw(st.sampled_from(ROOMS))
        if session is not None:
            self.store.leave(session.namespace, session.sid, room)
            session.joined.pop(room, None)

    def keep(self, data) -> None:
        session = self.pick(data, True)
        value = data.draw(st.one_of(st.none(), st.integers(), st.dictionaries(
            st.text(max_size=3), st.integers(), max_size=2)))
        if session is not None:
            assert self.store.keep(session.namespace, session.sid, value) is True
            session.connected, session.dropped_at, session.data = False, self.now, value
            session.seen = self.last_seq

    def forget(self, data) -> None:
        session = self.pick(data, None)
        if session is None:
            return
        self.store.forget(session.namespace, session.sid)
        if session.connected:   # a kept session is not forgotten by a late clean disconnect
            del self.sessions[(session.namespace, session.sid)]
            self.gone_pids.append(session.pid)

    def record(self, namespace: str, targets: set | None, exclude: set) -> None:
        offset, payload = self.store.append(namespace, targets, exclude or None,
                                            lambda o: f"payload@{o}")
        seq = self.last_seq + 1
        assert offset == str(seq) and payload == f"payload@{seq}"
        self.packets.append(ModelPacket(seq, namespace, None if targets is None
                                        else frozenset(targets), frozenset(exclude),
                                        self.now, payload))
        self.counts["appended"] += 1

    def append(self, data) -> None:
        namespace = data.draw(st.sampled_from(NAMESPACES))
        candidates = sorted(s.sid for s in self.sessions.values() if s.namespace == namespace)
        targets: set | None = None if data.draw(st.booleans()) else \
            set(data.draw(st.sets(st.sampled_from(ROOMS), max_size=2)))
        if targets is not None and candidates and data.draw(st.booleans()):
            targets.add(data.draw(st.sampled_from(candidates)))
        exclude = set(data.draw(st.sets(st.sampled_from(candidates), max_size=2))) \
            if candidates else set()
        self.record(namespace, targets, exclude)

    def burst(self, data) -> None:
        namespace = data.draw(st.sampled_from(NAMESPACES))
        room = data.draw(st.one_of(st.none(), st.sampled_from(ROOMS)))
        for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
            self.record(namespace, None if room is None else {room}, set())

    def expire(self, data) -> None:
        limit = data.draw(st.one_of(st.none(), st.integers(min_value=1, max_value=3)))
        self.store.expire(limit=limit)
        cutoff = self.now - MAX_DURATION
        expired = [s for s in self.live(connected=False) if s.dropped_at <= cutoff]
        if limit is None:
            for session in expired:
                del self.sessions[(session.namespace, session.sid)]
                self.gone_pids.append(session.pid)
            assert all(p.created > cutoff for p in self.packets if p.seq in self.held())
        else:
            # a limited sweep takes the oldest first; find out which went from the store itself
            still = {(row["namespace"], row["sid"]) for row in self.store.sessions()}
            for session in expired:
                if (session.namespace, session.sid) not in still:
                    del self.sessions[(session.namespace, session.sid)]
                    self.gone_pids.append(session.pid)

    def restore_kept(self, data) -> None:
        kind = data.draw(st.sampled_from(["at_drop"] * 3 + ["last_seen", "older", "none"]))
        self.restore(data, "kept", kind, False)

    def restore_any(self, data) -> None:
        self.restore(data, data.draw(st.sampled_from(["kept", "connected", "gone", "junk"])),
                     data.draw(st.sampled_from(["last_seen", "older", "none", "future", "junk"])),
                     data.draw(st.booleans()))

    def restore(self, data, which: str, offset_kind: str, wrong_namespace: bool) -> None:
        pool = {"kept": [s.pid for s in self.live(connected=False)],
                "connected": [s.pid for s in self.live(connected=True)],
                "gone": self.gone_pids}[which] if which != "junk" else []
        pid = data.draw(st.sampled_from(pool)) if pool else data.draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just("pid0")))
        session = next((s for s in self.sessions.values() if s.pid == pid), None)
        if offset_kind == "at_drop":
            offset = str(session.seen) if session is not None and session.seen else None
        elif offset_kind == "last_seen":
            offset = str(data.draw(st.integers(min_value=max(0, self.last_seq - 3),
                                               max_value=self.last_seq)))
        elif offset_kind == "older":
            offset = str(data.draw(st.integers(min_value=0, max_value=self.last_seq)))
        elif offset_kind == "none":
            offset = None
        elif offset_kind == "future":
            offset = str(self.last_seq + data.draw(st.integers(min_value=1, max_value=10 ** 20)))
        else:
            offset = data.draw(st.one_of(st.integers(), st.text(max_size=6), st.just("-1"),
                                         st.just("1e3"), st.just("０"), st.just(" 1")))
        held = self.held()
        namespace = session.namespace if session else "/"
        if wrong_namespace and session is not None:
            namespace = next(n for n in NAMESPACES if n != namespace)
            session = None   # a pid means nothing in another namespace
        result = self.store.restore(namespace, pid, offset)
        self.check_restore(session, offset, held, result)

    def check_restore(self, session: ModelSession | None, offset: Any, held: set,
                      result) -> None:
        if session is None:
            assert result is RestoreFailure.UNKNOWN_PID, result
            self.counts["refused"] += 1
            return
        if session.connected:
            assert result is RestoreFailure.ALREADY_CONNECTED, result
            self.counts["refused"] += 1
            return
        if self.now - session.dropped_at > MAX_DURATION:
            assert result is RestoreFailure.EXPIRED, result
            del self.sessions[(session.namespace, session.sid)]
            self.gone_pids.append(session.pid)
            self.counts["refused"] += 1
            return
        if offset is None:
            from_seq = session.start
        elif (isinstance(offset, str) and offset.isascii() and offset.isdigit()
              and 0 < len(offset) <= 19 and int(offset) <= self.last_seq):
            from_seq = max(int(offset), session.start)
        else:
            assert result is RestoreFailure.BAD_OFFSET, (offset, result)
            self.counts["refused"] += 1
            return
        wanted = [p for p in self.packets if p.seq > from_seq and meant_for(session, p)]
        if any(p.seq not in held for p in wanted):
            assert result is RestoreFailure.PACKETS_LOST, (result, [p.seq for p in wanted], held)
            self.counts["lost"] += 1
            return
        assert isinstance(result, Restored), (result, [p.seq for p in wanted], sorted(held))
        assert result.missed == [p.payload for p in wanted]
        assert result.sid == session.sid and result.pid == session.pid
        assert sorted(result.rooms) == sorted(r for r in session.joined if r != session.sid)
        assert result.data == session.data
        session.connected, session.dropped_at = True, None
        self.counts["restored"] += 1

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def held_packets_are_the_newest(self) -> None:
        if self.store is None:
            return
        held = sorted(self.held())
        assert len(held) <= self.limit
        if held:
            assert held == list(range(held[0], self.last_seq + 1))
        stats = self.store.stats()
        assert stats["packets"] == len(held)
        assert stats["sessions"] == len(self.sessions)
        assert stats["kept_sessions"] == len(self.live(connected=False))
        assert stats["last_offset"] == str(self.last_seq)

    @invariant()
    def no_pid_in_inspection_data(self) -> None:
        if self.store is None:
            return
        text = repr(self.store.sessions()) + repr(self.store.packets())
        assert not [s.pid for s in self.sessions.values() if len(s.pid) > 8 and s.pid in text]


TOTALS: dict = {}


class CountingStoreAgainstModel(StoreAgainstModel):
    def teardown(self) -> None:
        for key, value in self.counts.items():
            TOTALS[key] = TOTALS.get(key, 0) + value
        TOTALS["runs"] = TOTALS.get("runs", 0) + 1


def test_memory_store_agrees_with_the_reference_model(profile, figures):
    TOTALS.clear()
    run_state_machine_as_test(CountingStoreAgainstModel, settings=settings(
        max_examples=profile.store_examples, stateful_step_count=profile.store_steps,
        deadline=None, database=None, suppress_health_check=list(HealthCheck)))
    figures(sequences=TOTALS.get("runs", 0), appended=TOTALS.get("appended", 0),
            restored=TOTALS.get("restored", 0), refused_lost=TOTALS.get("lost", 0),
            refused_other=TOTALS.get("refused", 0))
    assert TOTALS.get("restored", 0) > 0 and TOTALS.get("lost", 0) > 0
