"""The store contract: every recovery store passes these, with an injected clock.

Run against MemoryStore, SQLiteStore and RedisStore (and any store added to ``STORES`` in
conftest.py).
"""

import json
import logging

import pytest

from chatlib.core import Recovery, Restored, RestoreFailure


@pytest.fixture
def make_store(new_store):
    def _make(clock, **limits):
        return new_store(Recovery(**limits), clock)
    return _make


def packet(text, offset):
    """An encoded Socket.IO EVENT with the offset as its last argument, as the server makes it."""
    return "2" + json.dumps(["m", text, offset])


def emit(store, text, rooms=None, exclude=None, namespace="/"):
    offset, _ = store.append(namespace, rooms, exclude, lambda o: packet(text, o))
    return offset


def texts(restored):
    return [json.loads(payload[1:])[1] for payload in restored.missed]


def test_offsets_grow_and_are_written_into_the_payload(make_store, clock):
    store = make_store(clock)
    first, payload = store.append("/", None, None, lambda o: packet("a", o))
    second = emit(store, "b")
    assert payload == packet("a", first)
    assert int(second) > int(first)


def test_a_dropped_session_gets_back_rooms_data_and_missed_packets_in_order(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    store.join("/", "alice", "kitchen")
    last = emit(store, "seen")
    store.keep("/", "alice", {"name": "Alice"})
    emit(store, "one")
    emit(store, "two", rooms=["kitchen"])
    emit(store, "elsewhere", rooms=["garden"])
    emit(store, "three")
    restored = store.restore("/", "pid-a", last)
    assert isinstance(restored, Restored)
    assert (restored.sid, restored.rooms, restored.data) == ("alice", ("kitchen",), {"name": "Alice"})
    assert texts(restored) == ["one", "two", "three"]


def test_excluded_sessions_and_other_sids_get_nothing(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    store.keep("/", "alice", {})
    emit(store, "from alice", exclude=["alice"])
    emit(store, "to bob only", rooms=["bob"])
    emit(store, "to alice only", rooms=["alice"])
    assert texts(store.restore("/", "pid-a", None)) == ["to alice only"]


def test_a_pid_restores_once_per_drop_and_never_while_connected(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    assert store.restore("/", "pid-a", None) is RestoreFailure.ALREADY_CONNECTED
    store.keep("/", "alice", {})
    assert isinstance(store.restore("/", "pid-a", None), Restored)
    assert store.restore("/", "pid-a", None) is RestoreFailure.ALREADY_CONNECTED
    store.keep("/", "alice", {})
    assert isinstance(store.restore("/", "pid-a", None), Restored)


def test_a_clean_end_is_not_restorable_and_a_restored_copy_does_not_linger(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    store.restore("/", "pid-a", None)
    store.join("/", "alice", "joined-after-recovery")
    store.forget("/", "alice")
    assert store.restore("/", "pid-a", None) is RestoreFailure.UNKNOWN_PID
    assert store.sessions() == []


def test_a_client_that_received_nothing_still_recovers(make_store, clock):
    store = make_store(clock)
    emit(store, "before alice")
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {"n": 1})
    emit(store, "missed")
    restored = store.restore("/", "pid-a", None)
    assert texts(restored) == ["missed"]


def test_a_stale_offset_never_replays_packets_from_before_the_session(make_store, clock):
    store = make_store(clock)
    stale = emit(store, "old session traffic")
    emit(store, "more old traffic")
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    emit(store, "missed")
    assert texts(store.restore("/", "pid-a", stale)) == ["missed"]


def test_packets_sent_to_a_room_before_joining_it_are_not_replayed(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    emit(store, "kitchen before alice", rooms=["kitchen"])
    store.join("/", "alice", "kitchen")
    store.keep("/", "alice", {})
    emit(store, "kitchen after", rooms=["kitchen"])
    assert texts(store.restore("/", "pid-a", None)) == ["kitchen after"]


def test_an_expired_last_offset_recovers_when_nothing_meant_for_the_session_was_lost(make_store, clock):
    store = make_store(clock, max_buffered_packets=3)
    store.open_session("/", "alice", "pid-a")
    last = emit(store, "alice saw this")
    store.keep("/", "alice", {})
    for n in range(5):
        emit(store, f"garden {n}", rooms=["garden"])
    assert last not in [row["offset"] for row in store.packets()]
    restored = store.restore("/", "pid-a", last)
    assert isinstance(restored, Restored) and texts(restored) == []


def test_recovery_fails_instead_of_losing_an_evicted_packet(make_store, clock):
    store = make_store(clock, max_buffered_packets=3)
    store.open_session("/", "alice", "pid-a")
    last = emit(store, "alice saw this")
    store.keep("/", "alice", {})
    emit(store, "for alice, soon evicted")
    for n in range(3):
        emit(store, f"garden {n}", rooms=["garden"])
    assert store.restore("/", "pid-a", last) is RestoreFailure.PACKETS_LOST


def test_an_evicted_packet_that_excluded_the_session_does_not_fail_it(make_store, clock):
    store = make_store(clock, max_buffered_packets=2)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    store.keep("/", "alice", {})
    emit(store, "alice's own message echoed to others", exclude=["alice"])
    emit(store, "bob only", rooms=["bob"])
    emit(store, "bob only again", rooms=["bob"])
    assert isinstance(store.restore("/", "pid-a", None), Restored)


def test_an_exclusion_does_not_hide_an_earlier_loss(make_store, clock):
    store = make_store(clock, max_buffered_packets=1)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    emit(store, "for alice")
    emit(store, "not for alice", exclude=["alice"])
    emit(store, "pushes both out", rooms=["garden"])
    assert store.restore("/", "pid-a", None) is RestoreFailure.PACKETS_LOST


def test_max_buffered_packets_bounds_the_log_oldest_first(make_store, clock):
    store = make_store(clock, max_buffered_packets=100)
    for n in range(1000):
        emit(store, str(n))
    offsets = [row["offset"] for row in store.packets()]
    assert len(offsets) == 100
    assert offsets[0] == "901" and offsets[-1] == "1000"


def test_sessions_and_packets_expire_after_max_disconnection_duration(make_store, clock):
    store = make_store(clock, max_disconnection_duration=10.0)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    store.keep("/", "alice", {})
    emit(store, "x")
    clock.now += 10.5
    store.expire()
    assert store.packets() == []
    assert [row["sid"] for row in store.sessions()] == ["bob"]
    assert store.restore("/", "pid-a", None) is RestoreFailure.UNKNOWN_PID


def test_a_session_past_its_time_is_refused_even_before_the_sweep(make_store, clock):
    store = make_store(clock, max_disconnection_duration=10.0)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    clock.now += 11
    assert store.restore("/", "pid-a", None) is RestoreFailure.EXPIRED


def test_expire_works_in_bounded_batches(make_store, clock):
    store = make_store(clock, max_disconnection_duration=1.0)
    for n in range(50):
        emit(store, str(n))
    clock.now += 2
    assert store.expire(limit=20) == 20
    assert len(store.packets()) == 30
    store.expire()
    assert store.packets() == []


def test_a_session_restored_and_dropped_again_expires_from_its_last_drop(make_store, clock):
    store = make_store(clock, max_disconnection_duration=10.0)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    clock.now += 8
    store.restore("/", "pid-a", None)
    store.keep("/", "alice", {})
    clock.now += 5
    store.expire()
    assert isinstance(store.restore("/", "pid-a", None), Restored)


@pytest.mark.parametrize("offset", [
    "", "abc", "-1", "1.5", "١٢", "9" * 40, "99999", 7, 3.5, True, [], {}, ["1"], {"o": "1"},
])
def test_malformed_or_foreign_offsets_are_refused_and_the_session_stays_kept(make_store, clock, offset):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    emit(store, "x")
    store.keep("/", "alice", {})
    assert store.restore("/", "pid-a", offset) is RestoreFailure.BAD_OFFSET
    assert isinstance(store.restore("/", "pid-a", None), Restored)


@pytest.mark.parametrize("pid", [None, "", 0, 1.5, [], {}, ["pid-a"], "x" * 1_000_000, "pid-b"])
def test_wrong_pids_restore_nothing(make_store, clock, pid):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    assert store.restore("/", pid, None) is RestoreFailure.UNKNOWN_PID
    assert isinstance(store.restore("/", "pid-a", None), Restored)


def test_a_pid_of_another_namespace_is_unknown(make_store, clock):
    store = make_store(clock)
    store.open_session("/chat", "alice", "pid-a")
    store.keep("/chat", "alice", {})
    assert store.restore("/", "pid-a", None) is RestoreFailure.UNKNOWN_PID


def test_inspection_masks_the_pid_and_describes_packets(make_store, clock):
    store = make_store(clock, max_disconnection_duration=60.0)
    store.describe = lambda payload: ("chat message", [json.loads(payload[1:])[1]])
    store.open_session("/", "alice", "a-secret-pid-value")
    store.join("/", "alice", "kitchen")
    store.keep("/", "alice", {})
    emit(store, "hi", rooms=["kitchen"], exclude=["bob"])
    clock.now += 5
    [session] = store.sessions()
    assert "a-secret-pid-value" not in repr(session)
    assert session["rooms"] == ["kitchen"] and session["connected"] is False
    assert session["disconnected_for"] == 5 and session["expires_in"] == 55
    [packet] = store.packets()
    assert packet["event"] == "chat message" and packet["args"] == ["hi"]
    assert packet["rooms"] == ["kitchen"] and packet["exclude"] == ["bob"] and packet["age"] == 5


def test_eviction_marks_are_dropped_with_the_last_member_of_a_room(make_store, clock):
    store = make_store(clock, max_buffered_packets=1)
    store.open_session("/", "alice", "pid-a")
    store.join("/", "alice", "kitchen")
    emit(store, "k", rooms=["kitchen"])
    emit(store, "pushes it out")
    assert store.stats()["marks"] > 0
    store.forget("/", "alice")
    assert store.stats()["marks"] == 0


def test_past_max_kept_sessions_the_oldest_drop_goes_first(make_store, clock):
    store = make_store(clock, max_kept_sessions=2)
    for name in ("alice", "bob", "carol"):
        store.open_session("/", name, f"pid-{name}")
    store.keep("/", "alice", {})
    clock.now += 1
    store.keep("/", "bob", {})
    clock.now += 1
    store.keep("/", "carol", {})
    emit(store, "missed by all three")
    assert store.restore("/", "pid-alice", None) is RestoreFailure.UNKNOWN_PID
    assert texts(store.restore("/", "pid-bob", None)) == ["missed by all three"]
    assert texts(store.restore("/", "pid-carol", None)) == ["missed by all three"]
    assert store.stats()["kept_sessions"] == 0


def test_a_session_dropped_again_counts_from_its_latest_drop(make_store, clock):
    store = make_store(clock, max_kept_sessions=2)
    for name in ("alice", "bob", "carol"):
        store.open_session("/", name, f"pid-{name}")
    store.keep("/", "alice", {})
    clock.now += 1
    store.keep("/", "bob", {})
    clock.now += 1
    assert isinstance(store.restore("/", "pid-alice", None), Restored)
    store.keep("/", "alice", {})   # alice's drop is now the newest
    clock.now += 1
    store.keep("/", "carol", {})
    assert store.restore("/", "pid-bob", None) is RestoreFailure.UNKNOWN_PID
    assert isinstance(store.restore("/", "pid-alice", None), Restored)
    assert isinstance(store.restore("/", "pid-carol", None), Restored)


def test_a_flood_of_vanishing_clients_leaves_the_newest_drop_recoverable(make_store, clock):
    store = make_store(clock, max_kept_sessions=50)
    store.open_session("/", "alice", "pid-alice")
    for n in range(500):
        store.open_session("/", f"flood{n}", f"pid-flood{n}")
        store.keep("/", f"flood{n}", {})
        clock.now += 0.001
    store.keep("/", "alice", {"name": "Alice"})
    emit(store, "for alice")
    assert store.stats()["kept_sessions"] == 50
    assert len(store.sessions()) == 50
    restored = store.restore("/", "pid-alice", None)
    assert restored.data == {"name": "Alice"} and texts(restored) == ["for alice"]
    assert store.restore("/", "pid-flood0", None) is RestoreFailure.UNKNOWN_PID


@pytest.mark.parametrize("field, value", [
    ("max_disconnection_duration", 0), ("max_disconnection_duration", float("inf")),
    ("max_buffered_packets", 0), ("max_buffered_packets", 2.5), ("sweep_interval", -1),
    ("max_kept_sessions", 0), ("max_kept_sessions", 1.5),
])
def test_recovery_limits_are_checked(field, value):
    with pytest.raises(ValueError):
        Recovery(**{field: value})


# -- missed(): what a restore would replay now, consuming nothing ------------------

def offsets_of(rows):
    return [row["offset"] for row in rows]


def test_missed_lists_what_a_restore_would_replay_and_consumes_nothing(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    store.join("/", "alice", "kitchen")
    seen = emit(store, "seen live")
    store.keep("/", "alice", {})
    clock.now += 1
    one = emit(store, "one")
    two = emit(store, "two", rooms=["kitchen"])
    emit(store, "elsewhere", rooms=["garden"])
    emit(store, "not for alice", exclude=["alice"])
    three = emit(store, "three")
    rows = store.missed("/", "alice")
    assert offsets_of(rows) == [one, two, three]
    by_offset = {row["offset"]: row for row in store.packets()}
    assert rows == [by_offset[offset] for offset in (one, two, three)]  # the same row shape
    assert store.missed("/", "alice") == rows  # nothing consumed
    assert offsets_of(store.missed("/", "alice", "0")) == [seen, one, two, three]
    restored = store.restore("/", "pid-a", seen)
    assert texts(restored) == ["one", "two", "three"]


def test_missed_with_an_offset_matches_the_restore_with_that_offset(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    first = emit(store, "first")
    emit(store, "second")
    store.keep("/", "alice", {})
    emit(store, "third")
    assert offsets_of(store.missed("/", "alice", first)) == [str(int(first) + 1),
                                                             str(int(first) + 2)]
    assert texts(store.restore("/", "pid-a", first)) == ["second", "third"]


def test_missed_is_empty_for_connected_unknown_and_restored_sessions(make_store, clock):
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    emit(store, "live")
    assert store.missed("/", "alice") == []          # connected: nothing missed
    assert store.missed("/", "nobody") == []
    store.keep("/", "alice", {})
    emit(store, "missed")
    assert store.missed("/other", "alice") == []     # sids are per namespace
    assert len(store.missed("/", "alice")) == 1
    store.restore("/", "pid-a", None)
    assert store.missed("/", "alice") == []


def test_missed_is_empty_when_a_restore_now_would_fail(make_store, clock):
    store = make_store(clock, max_buffered_packets=2, max_disconnection_duration=10.0)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    emit(store, "for alice, soon evicted")
    emit(store, "garden 1", rooms=["garden"])
    emit(store, "garden 2", rooms=["garden"])
    assert store.missed("/", "alice") == []          # a packet meant for her is gone
    assert store.missed("/", "alice", "999") == []   # an offset never given out
    store.open_session("/", "bob", "pid-b")
    store.keep("/", "bob", {})
    emit(store, "for bob")
    assert len(store.missed("/", "bob")) == 1
    clock.now += 11
    assert store.missed("/", "bob") == []            # expired


# -- session dicts: what can be stored, the same in every store ---------------------

def warnings(caplog):
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


STORABLE = {"name": "Alice", "avatar": b"\x89PNG\x00", "n": 3, "score": 1.5, "$key": None,
            "tags": ["a", {"nested": b"\xff", "list": [True, False]}], "empty": {}}


def test_what_a_session_dict_cannot_store_is_left_out_when_saved_with_one_warning(
        make_store, clock, caplog):
    """Decided at save_session and at the drop, never at restore: the key's name and type in
    one WARNING, and the session restored with the rest of its data, in every store."""
    store = make_store(clock)
    store.open_session("/", "alice", "pid-a")
    with caplog.at_level(logging.WARNING):
        store.save_data("/", "alice", {"name": "Alice", "seen": {1, 2}})
        [saved] = warnings(caplog)
        caplog.clear()
        store.keep("/", "alice", {**STORABLE, "at": (1, 2), "callback": print})
        [dropped] = warnings(caplog)
        caplog.clear()
        restored = store.restore("/", "pid-a", None)
        assert warnings(caplog) == []
    assert "'seen' (set)" in saved and "alice" in saved
    assert "'at' (tuple)" in dropped and "'callback' (builtin_function_or_method)" in dropped
    assert not [key for key in STORABLE if repr(key) in dropped]
    assert isinstance(restored, Restored)
    assert restored.data == STORABLE and repr(restored.data) == repr(STORABLE)  # the same types

