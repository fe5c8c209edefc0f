"""Upgrading from chatlib 0.1, whose stores pickled session dicts and binary attachments.

The state 0.1 left in a SQLite file or in Redis is built here the way 0.1 wrote it (the test
uses pickle; chatlib no longer does). This release reads none of it as a pickle: it is refused
as unreadable state, each affected session is a new session once, with one WARNING, and
everything else goes on.
"""

import json
import logging
import pickle
import sqlite3
import time

from chatlib import Recovery, Restored, RestoreFailure, SQLiteStore
from chatlib.stores.redis import RedisStore

BINARY = ['51-["m",{"_placeholder":true,"num":0},"2"]', b"\x00\x01"]


def chatlib_warnings(caplog):
    return [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING and record.name.startswith("chatlib")]


def test_a_sqlite_file_of_chatlib_0_1_is_refused_once_without_unpickling(tmp_path, caplog):
    path = str(tmp_path / "recovery.db")
    store = SQLiteStore(path, Recovery(max_disconnection_duration=60))
    store.open_session("/", "alice", "pid-a")
    store.join("/", "alice", "kitchen")
    store.keep("/", "alice", {"name": "Alice"})
    store.append("/", None, None, lambda o: f'2["m","text","{o}"]')
    store.append("/", ["kitchen"], None, lambda o: BINARY)
    store.close()
    with sqlite3.connect(path) as db:  # as 0.1 wrote them
        db.execute("UPDATE sessions SET data = ?", (pickle.dumps({"name": "Alice"}),))
        db.execute("UPDATE packets SET payload = ? WHERE seq = 2", (pickle.dumps(BINARY),))

    with caplog.at_level(logging.WARNING):
        store = SQLiteStore(path, Recovery(max_disconnection_duration=60))
        [warning] = chatlib_warnings(caplog)
        assert "1 packets, 1 sessions" in warning and "1 sessions are not recovered" in warning
        assert store.restore("/", "pid-a", None) is RestoreFailure.UNKNOWN_PID
        assert [row["offset"] for row in store.packets()] == ["1"]  # the text packet stays
        store.open_session("/", "alice", "pid-new")
        store.keep("/", "alice", {"name": "Alice"})
        store.append("/", None, None, lambda o: f'2["m","new","{o}"]')
        store.close()
        caplog.clear()
        store = SQLiteStore(path, Recovery(max_disconnection_duration=60))
        assert chatlib_warnings(caplog) == []  # once
        restored = store.restore("/", "pid-new", None)
        assert isinstance(restored, Restored) and restored.data == {"name": "Alice"}
        assert restored.missed == ['2["m","new","3"]']
    store.close()


def test_redis_state_of_chatlib_0_1_is_refused_once_without_unpickling(redis_server, redis_prefix,
                                                                     caplog):
    import redis

    raw = redis.Redis.from_url(redis_server.url)
    store = RedisStore(redis_server.url, Recovery(max_disconnection_duration=60),
                       prefix=redis_prefix)
    try:
        for name in ("alice", "bob"):
            store.open_session("/", name, f"pid-{name}")
        store.join("/", "bob", "kitchen")
        for name in ("alice", "bob"):
            store.keep("/", name, {"name": name})
        raw.hset(redis_prefix + "s:pid-alice", "data", pickle.dumps({"name": "alice"}))  # as 0.1
        store.append("/", ["kitchen"], None,
                     lambda o: [BINARY[0][:-4] + json.dumps(o) + "]", BINARY[1]])
        raw.xadd(redis_prefix + "stream", {"ns": "/", "rooms": '["kitchen"]', "ex": "",
                                           "t": repr(time.time()), "pre": BINARY[0][:-4], "suf": "]",
                                           "att": pickle.dumps(BINARY[1:])}, id="2-0")
        raw.incr(redis_prefix + "seq")
        with caplog.at_level(logging.WARNING):
            assert store.restore("/", "pid-alice", None) is RestoreFailure.UNREADABLE_STATE
            assert store.restore("/", "pid-bob", None) is RestoreFailure.UNREADABLE_STATE
            [alice, bob] = chatlib_warnings(caplog)
            assert "session dict" in alice and "stream entry 2" in bob
            caplog.clear()
            assert store.restore("/", "pid-alice", None) is RestoreFailure.UNKNOWN_PID  # once
            assert store.restore("/", "pid-bob", None) is RestoreFailure.UNKNOWN_PID
            assert [row["offset"] for row in store.packets()] == ["1"]
            assert store.sessions() == []
            assert chatlib_warnings(caplog) == []
    finally:
        raw.close()
        store.close()
