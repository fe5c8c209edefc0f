"""One URL configures python-socketio's AsyncRedisManager and RedisStore: every form the
manager takes, read the same way, on real redis-server processes."""

from __future__ import annotations

import json

import pytest
import socketio
from socketio.redis_manager import parse_redis_sentinel_url

import chatlib
from chatlib.stores.redis import RedisStore
from chatlib.stores.redis_connect import DEFAULT_SERVICE, parse_url
from tests.helpers import Inbox, server_saw_drop
from tests.services import require
from tests.stores.ha import SentinelGroup


def require_valkey() -> None:
    try:
        import valkey  # noqa: F401
    except ImportError:
        require("the valkey client", False, "pip install valkey")

SENTINEL_URLS = [
    "redis+sentinel://127.0.0.1:26379/0/chat",
    "redis+sentinel://h1:1,h2:2,h3:3/2/mymaster",
    "redis+sentinel://:secret@h1:1,h2:2/0/chat",
    "redis+sentinel://user:secret@h1:1/5/chat",
    "redis+sentinel://h1:1/3",
    "redis+sentinel://h1:1",
    "redis+sentinel://[::1]:26379/0/chat",
    "valkey+sentinel://h1:1,h2:2/1/chat",
]


@pytest.mark.parametrize("url", SENTINEL_URLS)
def test_a_sentinel_url_means_what_it_means_to_async_redis_manager(url):
    """Fails before redis_connect existed: RedisStore read no Sentinel URL at all."""
    sentinels, service, connection = parse_redis_sentinel_url(url)
    target = parse_url(url)
    assert target.kind == "sentinel"
    assert list(target.sentinels) == sentinels
    assert target.connection == connection
    # the manager falls back on its channel, "socketio" unless told otherwise
    assert target.service == (service or DEFAULT_SERVICE)
    assert target.library == url.split("+")[0]


@pytest.mark.parametrize("url, library", [("redis://h:1/0", "redis"), ("rediss://h:1/0", "redis"),
                                          ("unix:///run/redis.sock?db=1", "redis"),
                                          ("valkey://h:1/0", "valkey"), ("valkeys://h:1", "valkey"),
                                          ("REDIS://h:1", "redis")])
def test_every_other_scheme_takes_the_client_the_manager_takes(url, library):
    target = parse_url(url)
    assert (target.kind, target.library) == ("single", library)


@pytest.mark.parametrize("url", ["http://h:1", "redis+cluster://h:1", "redis+sentinel://h1/0/x"])
def test_a_url_the_manager_refuses_is_refused(url):
    with pytest.raises(ValueError):
        parse_url(url)


def test_a_password_never_reaches_a_log_line():
    assert "secret" not in parse_url("redis+sentinel://u:secret@h:1/0/s").where
    assert "secret" not in parse_url("redis://:secret@h:1/0").where


def _payload(offset: str):
    return json.dumps(["m", "hello", offset])


def test_a_valkey_url_stores_and_restores_through_the_valkey_client(redis_server, redis_prefix):
    """Fails before redis_connect: redis-py's from_url refuses the valkey scheme."""
    require_valkey()
    url = redis_server.url.replace("redis://", "valkey://")
    store = RedisStore(url, prefix=redis_prefix)
    try:
        assert type(store._redis).__module__.startswith("valkey")
        store.open_session("/", "sid", "pid")
        store.keep("/", "sid", {"kept": True})
        offset, _ = store.append("/", None, None, _payload)
        restored = store.restore("/", "pid", None)
        assert restored.sid == "sid" and restored.data == {"kept": True}
        assert restored.missed == [_payload(offset)]
    finally:
        store.close()


async def test_one_sentinel_url_configures_the_store_and_the_manager(tmp_path, launch, clients):
    """The README's Sentinel deployment: a broadcast from one server reaches a client of the
    other, and a client that drops from one recovers on the other. Fails before redis_connect:
    ``RedisStore(url)`` raised on the URL."""
    group = SentinelGroup(tmp_path)
    try:
        servers = []
        for library in ("redis", "valkey"):
            url = group.url.replace("redis+", f"{library}+")
            if library == "valkey":
                require_valkey()
            servers.append(await launch(chatlib.RecoveryServer(
                async_mode="asgi", store=RedisStore(url, prefix="urls:"),
                client_manager=socketio.AsyncRedisManager(url, channel="urls:sio"))))
        a, b = servers
        inbox = Inbox()
        alice = clients(chatlib.RecoveryClient(reconnection=False))
        alice.on("m", inbox)
        await alice.connect(a.url, transports=["websocket"])
        await b.sio.emit("m", "from B")
        await inbox.wait_for(1)
        sid = alice.get_sid()
        await alice.drop()
        await server_saw_drop(a.sio, sid)
        await b.sio.emit("m", "while away")
        await alice.reconnect(url=b.url)
        assert alice.recovered
        assert await inbox.wait_for(2) == ["from B", "while away"]
    finally:
        group.stop()
