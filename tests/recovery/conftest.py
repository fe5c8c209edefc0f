import pytest

from chatlib import MemoryStore, SQLiteStore
from chatlib.stores.redis import RedisStore


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


STORES = ["memory", "sqlite", "redis"]


@pytest.fixture(params=STORES)
def new_store(request, tmp_path):
    """Build a store of each kind: ``new_store(recovery, clock)``."""
    opened = []

    def _new(recovery, clock):
        if request.param == "memory":
            store = MemoryStore(recovery, clock=clock)
        elif request.param == "redis":
            server = request.getfixturevalue("redis_server")
            prefix = request.getfixturevalue("redis_prefix")
            store = RedisStore(server.url, recovery, clock=clock, prefix=prefix)
            opened.append(store)
        else:
            store = SQLiteStore(str(tmp_path / "recovery.db"), recovery, clock=clock)
            opened.append(store)
        return store

    yield _new
    for store in opened:
        store.close()
