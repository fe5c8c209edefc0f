"""Run an ASGI app with uvicorn on the current event loop, without taking over signals."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from . import compat
from .websocket import CoalescingWebSocketProtocol


class RunningServer:
    """A uvicorn server started by :func:`serve`; ``url`` is where it listens.

    Example::

        running = await serve(app)          # port 0: a free port
        print(running.url)                  # http://127.0.0.1:54321
        await running.stop()
    """

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], host: str, port: int) -> None:
        self._server = server
        self._task = task
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def stop(self) -> None:
        """Close the listening socket and every connection, then wait for uvicorn to finish."""
        if self._task.done():
            return
        compat.stop(self._server)
        await self._task


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve(app: Any, host: str = "127.0.0.1", port: int = 0,
                log_level: str = "warning", timeout: float = 10.0,
                **config: Any) -> RunningServer:
    """Start uvicorn for ``app`` as a task on the running loop and return once it accepts.

    ``port=0`` picks a free port. The socket is bound here, so a taken address
    raises ``OSError`` in the caller instead of exiting the process. WebSocket
    connections use :class:`chatlib.serving.CoalescingWebSocketProtocol`
    (``ws="auto"`` for uvicorn's own, as fast for stored packets), with
    permessage-deflate off; ``config`` goes to ``uvicorn.Config`` as it is.

    Example::

        running = await serve(socketio.ASGIApp(sio), port=0)
        print(running.url)
    """
    sock = _listen(host, port)
    # permessage-deflate off, as in the JS server: with uvicorn's default (on),
    # compressing every frame cut broadcast throughput about 4x (bench/README.md)
    settings: dict[str, Any] = dict(host=host, port=port, log_level=log_level, lifespan="off",
                    timeout_graceful_shutdown=1, ws_per_message_deflate=False,
                    ws=CoalescingWebSocketProtocol)
    settings.update(config)
    server = compat.QuietServer(uvicorn.Config(app, **settings))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(timeout):
            while not compat.has_started(server) and not task.done():
                await asyncio.sleep(0.01)
    except TimeoutError:
        task.cancel()
        sock.close()
        raise
    if task.done():
        sock.close()
        task.result()
        raise OSError(f"uvicorn stopped while starting on {host}:{port}")
    return RunningServer(server, task, host, sock.getsockname()[1])
