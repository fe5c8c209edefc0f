"""Which Redis a URL names, and the clients RedisStore makes for it.

A deployment configures python-socketio's ``AsyncRedisManager`` and chatlib's
``RedisStore`` with one URL, so the store reads every form the manager reads,
the same way:

- ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) and
  ``unix:///path/to/socket?db=0``: one Redis, through redis-py's ``from_url``;
- ``redis+sentinel://[[user]:password@]host1:port1,host2:port2/db/service``:
  the primary Sentinel names for ``service`` (python-socketio uses its channel,
  ``socketio`` by default, when the URL names none); user, password and db
  are for the primary, not for the sentinels;
- ``valkey://``, ``valkeys://`` and ``valkey+sentinel://``: the same through the
  ``valkey`` client (``pip install valkey``), which must then be installed;
  ``unix://`` takes redis-py, or valkey when only valkey is installed.

Redis Cluster has no URL form of its own (python-socketio's manager talks to one
node, which is enough for classic PUBLISH); ``cluster=True`` makes the store use
the cluster clients with the URL's host as a first node.

Example::

    target = parse_url("redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/0/chat")
    target.sentinels   # (("10.0.0.5", 26379), ("10.0.0.6", 26379))
    target.service     # 'chat'
    client = target.sync_client(socket_timeout=1.0)
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

DEFAULT_SERVICE = "socketio"  # AsyncRedisManager's default channel, its fallback service name
_PLAIN = {"redis": "redis", "rediss": "redis", "valkey": "valkey", "valkeys": "valkey"}
_SENTINEL = {"redis+sentinel": "redis", "valkey+sentinel": "valkey"}


@dataclass(frozen=True)
class RedisTarget:
    """A parsed URL: which client library, and one Redis, a Sentinel service or a cluster.

    ``kind`` is ``"single"``, ``"sentinel"`` or ``"cluster"``; ``library`` is
    ``"redis"`` or ``"valkey"`` (the Python package whose clients are made).
    """

    url: str
    library: str
    kind: str
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = DEFAULT_SERVICE
    connection: dict[str, Any] = field(default_factory=dict)  # user, password, db (Sentinel)
    options: dict[str, Any] = field(default_factory=dict)  # passed to every client made

    @property
    def where(self) -> str:
        """The URL without its password, for log lines."""
        parsed = urlparse(self.url)
        if parsed.password is None:
            return self.url
        return self.url.replace(f":{parsed.password}@", ":***@", 1)

    def module(self) -> ModuleType:
        """The client package (``redis`` or ``valkey``); a clear error if it is not installed."""
        try:
            return importlib.import_module(self.library)
        except ImportError:
            raise RuntimeError(f"{self.where} needs the {self.library} package "
                               f"(pip install {self.library})") from None

    def errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions that mean "Redis could not be reached" for this client package."""
        module = self.module()
        base = module.exceptions.ValkeyError if self.library == "valkey" else module.exceptions.RedisError
        return (base, OSError)

    def retry(self, retries: int, asyncio: bool = False) -> Any:
        """The client package's ``Retry`` with no backoff (an asyncio client needs the asyncio one)."""
        backoff = importlib.import_module(f"{self.library}.backoff")
        module = importlib.import_module(f"{self.library}{'.asyncio' if asyncio else ''}.retry")
        return module.Retry(backoff.NoBackoff(), retries)

    def sync_client(self, **options: Any) -> Any:
        """A synchronous client: ``Redis``, the primary of a Sentinel service, or ``RedisCluster``."""
        module = self.module()
        options = {**self.options, **options}
        if self.kind == "sentinel":
            sentinel = module.sentinel.Sentinel(list(self.sentinels), **_sentinel_options(options),
                                                **self.connection, **options)
            return sentinel.master_for(self.service)
        if self.kind == "cluster":
            options.pop("retry", None)  # the cluster client retries by itself, node by node
            return module.cluster.RedisCluster.from_url(self.url, **options)
        return module.Redis.from_url(self.url, **options)

    def async_client(self, nodes: Sequence[tuple[str, int]] = (), **options: Any) -> Any:
        """The asyncio twin of ``sync_client`` (for the running loop).

        ``nodes``: cluster nodes known besides the URL's, to start from (the URL's own node
        may be the one that failed).
        """
        module = importlib.import_module(f"{self.library}.asyncio")
        options = {**self.options, **options}
        if self.kind == "sentinel":
            sentinel = module.sentinel.Sentinel(list(self.sentinels), **_sentinel_options(options),
                                                **self.connection, **options)
            return sentinel.master_for(self.service)
        if self.kind == "cluster":
            options.pop("retry", None)
            if nodes:
                options["startup_nodes"] = [module.cluster.ClusterNode(host, port)
                                            for host, port in nodes]
            return module.cluster.RedisCluster.from_url(self.url, **options)
        return module.Redis.from_url(self.url, **options)


def _sentinel_options(options: dict[str, Any]) -> dict[str, Any]:
    # the sentinels answer as fast as the primary: the same timeouts, but no password or db
    keep = ("socket_timeout", "socket_connect_timeout")
    return {"sentinel_kwargs": {name: options[name] for name in keep if name in options}}


def parse_url(url: str, cluster: bool = False, options: dict[str, Any] | None = None) -> RedisTarget:
    """Parse a Redis URL as python-socketio's ``AsyncRedisManager`` does (see the module doc).

    ``options`` are keyword arguments for every client made (python-socketio's
    ``redis_options``: TLS files, timeouts...). Raises ``ValueError`` for a
    scheme the manager would not take, or a Sentinel URL it could not read.
    """
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    options = dict(options or {})
    if scheme in _SENTINEL:
        if cluster:
            raise ValueError("a Sentinel URL cannot name a Redis Cluster")
        sentinels, service, connection = _parse_sentinels(url)
        return RedisTarget(url, _SENTINEL[scheme], "sentinel", sentinels,
                           service or DEFAULT_SERVICE, connection, options)
    if scheme in _PLAIN:
        return RedisTarget(url, _PLAIN[scheme], "cluster" if cluster else "single", options=options)
    if scheme == "unix":
        if cluster:
            raise ValueError("a Redis Cluster is reached over TCP, not a unix socket")
        return RedisTarget(url, _unix_library(), "single", options=options)
    raise ValueError(f"unsupported Redis URL scheme: {parsed.scheme!r} (redis, rediss, unix, "
                     "redis+sentinel, valkey, valkeys, valkey+sentinel)")


def _parse_sentinels(url: str) -> tuple[tuple[tuple[str, int], ...], str | None, dict[str, Any]]:
    """host:port pairs after the credentials, then ``/db/service`` in the path."""
    parsed = urlparse(url)
    hosts = parsed.netloc.rpartition("@")[2]
    sentinels = []
    for pair in hosts.split(","):
        host, colon, port = pair.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"a Sentinel URL lists host:port pairs, not {pair!r}")
        sentinels.append((host, int(port)))
    connection: dict[str, Any] = {}
    if parsed.username:
        connection["username"] = parsed.username
    if parsed.password:
        connection["password"] = parsed.password
    service = None
    parts = parsed.path.split("/")
    if len(parts) >= 2 and parts[1]:
        if not parts[1].isdigit():
            raise ValueError(f"a Sentinel URL's path is /db/service; {parts[1]!r} is no db number")
        connection["db"] = int(parts[1])
    if len(parts) >= 3 and parts[2]:
        service = parts[2]
    return tuple(sentinels), service, connection


def _unix_library() -> str:
    for library in ("redis", "valkey"):
        try:
            importlib.import_module(library)
        except ImportError:
            continue
        return library
    raise RuntimeError("a unix:// URL needs the redis or the valkey package (pip install redis)")
