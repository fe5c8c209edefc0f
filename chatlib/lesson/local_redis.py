"""A throwaway Redis for a notebook: ``redis-server`` from PATH, on a free loopback port.

Step 9 of the tutorial runs several chat servers against one Redis. A lesson cannot
assume one is running, so it starts its own: listening on 127.0.0.1 only, with no
persistence (nothing written to disk), stopped by :func:`chatlib.stop_all` or
:meth:`LocalRedis.stop`. Where ``redis-server`` is not installed, :func:`redis_server`
says how to install it in one line and returns None.

Example::

    redis = await chatlib.redis_server()
    if redis:
        store = chatlib.RedisStore(redis.url)
        ...
        await redis.stop()
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess

from ..jupyter import lifecycle
from ..jupyter.labels import Labels
from .texts import texts

_START_TIMEOUT = 10.0  # seconds for redis-server to accept connections
_STOP_TIMEOUT = 5.0

#: the Redis servers this process started and has not stopped
_started: list[LocalRedis] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalRedis:
    """A ``redis-server`` process this kernel started; ``url`` is its address.

    Its text form names it without the port, which changes from run to run.
    """

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalRedis redis-server on 127.0.0.1, {state}>"

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s); safe to call twice."""
        if self in _started:
            _started.remove(self)
        if not self.running:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), _STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def _answers(url: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.ConnectionError):
        return False
    finally:
        await client.aclose()


async def redis_server(labels: Labels = "en") -> LocalRedis | None:
    """Start ``redis-server`` on a free loopback port, without persistence; None if missing.

    Returns once it answers PING. When ``redis-server`` is not on PATH it prints how to
    install it (in the language of ``labels``) and returns None.

    Example::

        redis = await chatlib.redis_server()   # <LocalRedis redis-server on 127.0.0.1, running>
        redis.url                              # 'redis://127.0.0.1:41234/0'
    """
    path = shutil.which("redis-server")
    if path is None:
        print(texts("local_redis", labels)["missing"])
        return None
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--protected-mode", "yes", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    server = LocalRedis(process, port)
    _started.append(server)
    lifecycle.add_closer(stop_local_redis)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT
    while not await _answers(server.url):
        if not server.running or loop.time() > deadline:
            await server.stop()
            raise RuntimeError(f"redis-server did not start on port {port}")
        await asyncio.sleep(0.05)
    return server


async def stop_local_redis() -> None:
    """Stop every Redis :func:`redis_server` started in this process."""
    for server in list(_started):
        await server.stop()
