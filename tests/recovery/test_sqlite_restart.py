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
    store.save_data("/", "alice", {"name": "Alice", "tags": {"x", "y"}})
    seen = store.append("/", None, None, lambda o: f"seen@{o}")[0]
    store.expire()  # the heartbeat
    store.append("/", ["kitchen"], None, lambda o: f"in flight@{o}")
    clock.now += 5
    store = reopen(store, clock, max_disconnection_duration=60)
    [row] = store.sessions()
    assert row["connected"] is False and row["disconnected_for"] == 5
    restored = store.restore("/", "pid-a", seen)
    assert isinstance(restored, Restored)
    assert restored.rooms == ("kitchen",) and restored.data == {"name": "Alice", "tags": {"x", "y"}}
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


def test_an_unpicklable_session_dict_is_kept_in_memory_and_does_not_break_writes(tmp_path, clock):
    store = open_store(tmp_path, clock)
    store.open_session("/", "alice", "pid-a")
    store.save_data("/", "alice", {"callback": lambda: None})
    store.keep("/", "alice", {"callback": lambda: None})
    assert callable(store.restore("/", "pid-a", None).data["callback"])


def test_the_wal_is_checkpointed_by_maintain_not_by_commits(tmp_path, clock):
    store = open_store(tmp_path, clock)
    for _ in range(3000):
        store.append("/", None, None, lambda o: "x" * 200)
    wal = tmp_path / "r.db-wal"
    grown = wal.stat().st_size
    assert grown > 1000 * 4096  # past SQLite's automatic checkpoint, which is off
    store.maintain()
    store.append("/", None, None, lambda o: "after the checkpoint")
    assert wal.stat().st_size <= grown  # the WAL was recycled from its start
    store = reopen(store, clock)
    assert len(store.packets()) == 3001


def test_missed_after_a_restart_counts_from_the_moment_of_the_drop(tmp_path, clock):
    store = open_store(tmp_path, clock, max_disconnection_duration=60)
    store.open_session("/", "alice", "pid-a")
    store.append("/", None, None, lambda o: f"seen@{o}")
    clock.now += 1
    store.keep("/", "alice", {})
    clock.now += 1
    missed = store.append("/", None, None, lambda o: f"missed@{o}")[0]
    store = reopen(store, clock, max_disconnection_duration=60)
    assert [row["offset"] for row in store.missed("/", "alice")] == [missed]
    assert [row["offset"] for row in store.missed("/", "alice", "0")] == ["1", missed]
