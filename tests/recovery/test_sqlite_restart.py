"""SQLiteStore keeps everything across a restart: reopening the file is a restart."""

from chatlib import Recovery, Restored, RestoreFailure, SQLiteStore


def reopen(store, clock, **limits):
    store.close()  # the file is all that is left of the old process
    return SQLiteStore(store.path, Recovery(**limits), clock=clock)


def open_store(tmp_path, clock, **limits):
    return SQLiteStore(str(tmp_path / "r.db"), Recovery(**limits), clock=clock)


def test_sessions_connected_at_a_crash_recover_after_the_restart(tmp_path, clock):
    store = open_store(tmp_path, clock, max_disconnection_duration=60)
    store.open_session("/", "alice", "pid-a")
    store.join("/", "alice", "kitchen")
    store.save_data("/", "alice", {"name": "Alice", "tags": ["x", "y"], "avatar": b"\x89PNG"})
    seen = store.append("/", None, None, lambda o: f"seen@{o}")[0]
    store.expire()  # the heartbeat
    store.append("/", ["kitchen"], None, lambda o: f"in flight@{o}")
    clock.now += 5
    store = reopen(store, clock, max_disconnection_duration=60)
    [row] = store.sessions()
    assert row["connected"] is False and row["disconnected_for"] == 5
    restored = store.restore("/", "pid-a", seen)
    assert isinstance(restored, Restored)
    assert restored.rooms == ("kitchen",)
    assert restored.data == {"name": "Alice", "tags": ["x", "y"], "avatar": b"\x89PNG"}
    assert restored.missed == ["in flight@2"]


def test_offsets_never_repeat_across_restarts(tmp_path, clock):
    store = open_store(tmp_path, clock, max_disconnection_duration=1)
    offsets = [store.append("/", None, None, str)[0] for _ in range(3)]
    clock.now += 2
    store.expire()
    assert store.packets() == []
    store = reopen(store, clock, max_disconnection_duration=1)
    offsets.append(store.append("/", None, None, str)[0])
    assert offsets == ["1", "2", "3", "4"]


def test_what_was_evicted_before_a_restart_still_fails_a_lossy_recovery(tmp_path, clock):
    store = open_store(tmp_path, clock, max_buffered_packets=2)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    store.append("/", None, None, lambda o: "for alice")
    store.append("/", ["garden"], None, lambda o: "g1")
    store.append("/", ["garden"], None, lambda o: "g2")
    store = reopen(store, clock, max_buffered_packets=2)
    assert store.restore("/", "pid-a", None) is RestoreFailure.PACKETS_LOST


def test_a_restored_or_forgotten_session_stays_so_after_a_restart(tmp_path, clock):
    store = open_store(tmp_path, clock)
    store.open_session("/", "alice", "pid-a")
    store.open_session("/", "bob", "pid-b")
    store.forget("/", "bob")
    store = reopen(store, clock)
    assert [row["sid"] for row in store.sessions()] == ["alice"]
    assert store.restore("/", "pid-b", None) is RestoreFailure.UNKNOWN_PID


def test_binary_payloads_survive(tmp_path, clock):
    store = open_store(tmp_path, clock)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    store.append("/", None, None, lambda o: ["451-[\"m\",{\"_placeholder\":true,\"num\":0}]", b"\x00\xff"])
    store = reopen(store, clock)
    assert store.restore("/", "pid-a", None).missed == [
        ["451-[\"m\",{\"_placeholder\":true,\"num\":0}]", b"\x00\xff"]]


def test_msgpack_payloads_survive(tmp_path, clock):
    store = open_store(tmp_path, clock)
    store.open_session("/", "alice", "pid-a")
    store.keep("/", "alice", {})
    packet = b"\x83\xa4type\x02\xa4data\x92\xa1m\xa11\xa3nsp\xa1/"
    store.append("/", None, None, lambda o: packet)
    store = reopen(store, clock)
    assert store.restore("/", "pid-a", None).missed == [packet]


def test_a_session_dict_part_that_cannot_be_stored_is_left_out_before_and_after_a_restart(
        tmp_path, clock):
    store = open_store(tmp_path, clock)
    store.open_session("/", "alice", "pid-a")
    store.save_data("/", "alice", {"name": "Alice", "callback": lambda: None})
    store.keep("/", "alice", {"name": "Alice", "callback": lambda: None})
    store = reopen(store, clock)
    assert store.restore("/", "pid-a", None).data == {"name": "Alice"}
