"""The one boundary between chatlib and the internals of uvicorn (and of its WebSocket libraries).

uvicorn documents ``Config``, ``Server`` and ``run``; chatlib also reads the
state of its WebSocket protocol objects, replaces their transport, overrides
two of their methods and relies on one ASGI detail (the ``send`` callable an
app gets is a bound method of the connection's protocol). Every such name is
in the tables below and used only through this module, as
``chatlib.sio.compat`` does for python-socketio. ``tests/serving/test_compat.py``
checks each entry against the installed uvicorn and fails naming the entry and
the version: ``WebSocketsSansIOProtocol.disconnected``, for one, first exists
in uvicorn 0.52.1 (before it, every WebSocket connection closed before
Engine.IO's open packet).

Example::

    >>> from chatlib.serving import compat
    >>> "disconnected" in compat.PROTOCOL_ATTRIBUTES["sansio"]
    True
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: The WebSocket protocol classes chatlib knows, by the name used in these tables.
PROTOCOLS: dict[str, str] = {
    "sansio": "uvicorn.protocols.websockets.websockets_sansio_impl:WebSocketsSansIOProtocol",
    "legacy": "uvicorn.protocols.websockets.websockets_impl:WebSocketProtocol",
    "wsproto": "uvicorn.protocols.websockets.wsproto_impl:WSProtocol",
}

#: Attributes read (or, ``transport``, replaced) on a protocol instance, set in its ``__init__``.
PROTOCOL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "sansio": ("transport", "loop", "config", "handshake_complete", "initial_response",
               "close_sent", "disconnected", "writable", "conn"),
    # recognised only, to say at the first connection why it is slow and what to do
    "legacy": ("config",),
    "wsproto": ("config",),
}

#: Methods chatlib overrides in a subclass (``CoalescingWebSocketProtocol``) or calls:
#: (class name in ``PROTOCOLS`` or ``"Server"``, method) -> parameter names, ``self`` first.
METHODS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sansio", "connection_made"): ("self", "transport"),
    ("sansio", "send"): ("self", "message"),
    ("Server", "capture_signals"): ("self",),
    ("Server", "serve"): ("self", "sockets"),
}

#: Attributes of a fresh ``uvicorn.Server`` that ``serve()`` reads or sets.
SERVER_ATTRIBUTES: tuple[str, ...] = ("started", "should_exit", "force_exit")

#: ``uvicorn.Config`` keywords chatlib passes, and the attribute it reads back on a protocol's config.
CONFIG_KEYWORDS: tuple[str, ...] = ("ws", "ws_per_message_deflate", "lifespan", "log_level",
                                    "timeout_graceful_shutdown")

#: Attributes of the websockets library's ``ServerProtocol`` (a sans-I/O protocol's ``conn``).
CONN_ATTRIBUTES: tuple[str, ...] = ("extensions",)


def protocol_kind(owner: Any) -> str | None:
    """Which of ``PROTOCOLS`` an object behind an ASGI ``send`` is an instance of, or None."""
    for cls in type(owner).__mro__:
        path = f"{cls.__module__}:{cls.__qualname__}"
        for kind, known in PROTOCOLS.items():
            if path == known:
                return kind
    return None


def deflate_configured(protocol: Any) -> bool:
    """Whether the uvicorn server carrying this connection offers permessage-deflate."""
    return bool(protocol.config.ws_per_message_deflate)


def server_config(protocol: Any) -> Any:
    """The ``uvicorn.Config`` of the server carrying this connection (one per server)."""
    return protocol.config


def accepted_plain(protocol: WebSocketsSansIOProtocol) -> bool:
    """Accepted (no HTTP response instead), not closing, and with no extension on its frames."""
    return bool(protocol.handshake_complete and protocol.initial_response is None
                and not protocol.close_sent and not protocol.conn.extensions)


def negotiated_extensions(protocol: WebSocketsSansIOProtocol) -> list[Any]:
    """The extensions (permessage-deflate) an accepted sans-I/O connection negotiated."""
    return list(protocol.conn.extensions)


def open_and_writable(protocol: WebSocketsSansIOProtocol) -> bool:
    """No close sent (after which no data frame may follow), not disconnected, and the
    transport not pushing back. A close from the client closes the transport, and
    ``CoalescingTransport`` writes nothing to a closing one."""
    return bool(not protocol.close_sent and not protocol.disconnected
                and protocol.writable.is_set())


def transport_of(protocol: WebSocketsSansIOProtocol) -> Any:
    """The transport every write of the protocol goes through."""
    return protocol.transport


def replace_transport(protocol: WebSocketsSansIOProtocol,
                      wrap: Callable[[asyncio.Transport, asyncio.AbstractEventLoop], Any]) -> Any:
    """Put ``wrap(transport, loop)`` in place of the protocol's transport; returns it."""
    wrapped = wrap(protocol.transport, protocol.loop)
    protocol.transport = wrapped
    return wrapped


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM alone (a Jupyter kernel needs its SIGINT)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def has_started(server: uvicorn.Server) -> bool:
    return bool(server.started)


def stop(server: uvicorn.Server) -> None:
    """Ask a running server to close its socket and every connection now."""
    server.should_exit = True
    server.force_exit = True
