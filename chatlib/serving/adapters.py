"""How ``chatlib.sio.direct`` finds a frame writer behind a uvicorn WebSocket connection.

Imported by :func:`chatlib.sio.frames.writer_behind` the first time it meets
a connection object from uvicorn; it registers :func:`frame_writer` for them.
Whatever way uvicorn was started (``uvicorn.run``, the ``uvicorn`` command,
gunicorn's uvicorn workers, :func:`chatlib.serving.serve`), a connection on
uvicorn's default sans-I/O protocol gets the fast path. What cannot be made
fast from inside the app is said once per uvicorn server, as a WARNING on the
``chatlib.serving`` logger naming the fix:

- a connection that negotiated permessage-deflate (uvicorn offers it unless
  told not to): every frame is compressed for each recipient on its own;
- a connection on uvicorn's legacy ``websockets`` or its ``wsproto`` protocol.

Example::

    >>> from chatlib.sio import frames
    >>> import chatlib.serving.adapters
    >>> "uvicorn." in frames._ADAPTERS
    True
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from ..sio.frames import FrameWriter, register_adapter
from . import compat
from .websocket import CoalescingWebSocketProtocol, SansIOFrameWriter

logger = logging.getLogger("chatlib.serving")

DEFLATE_WARNING = (
    "WebSocket clients negotiate permessage-deflate with this uvicorn server: each broadcast "
    "is compressed once per recipient, and chatlib cannot write it to them as one shared "
    "frame (measured: 10.5x fewer deliveries/s, 50 clients, bench/README.md). The JS server "
    "has it off by default. Turn it off: uvicorn.run(app, ws_per_message_deflate=False), "
    "`uvicorn --ws-per-message-deflate false`, gunicorn -k chatlib.serving.worker.UvicornWorker, "
    "or chatlib.serving.serve(app)")
PROTOCOL_WARNING = (
    "this uvicorn server runs WebSocket connections on its %s protocol, which chatlib cannot "
    "write shared broadcast frames to: broadcasts go through python-engineio's per-connection "
    "queues (2-4x fewer deliveries/s, bench/README.md). Use uvicorn's default WebSocket "
    "protocol (ws='auto' or ws='websockets-sansio', with the websockets package installed)")

# one warning of each kind per uvicorn server (its Config)
_told: dict[str, weakref.WeakSet[Any]] = {"deflate": weakref.WeakSet(),
                                          "protocol": weakref.WeakSet()}


def _tell_once(kind: str, protocol: Any, message: str, *args: Any) -> None:
    config = compat.server_config(protocol)
    if config in _told[kind]:
        return
    _told[kind].add(config)
    logger.warning(message, *args)


def frame_writer(owner: Any) -> FrameWriter | None:
    """A frame writer for the uvicorn object behind a connection's ASGI ``send``, or None.

    None for an HTTP request (a long-polling connection), a connection not
    accepted yet, one with permessage-deflate, or one on another protocol than
    uvicorn's sans-I/O one (the last two say so once per server).
    """
    kind = compat.protocol_kind(owner)
    if kind is None:
        return None
    if kind != "sansio":
        _tell_once("protocol", owner, PROTOCOL_WARNING, kind)
        return None
    if compat.negotiated_extensions(owner):
        _tell_once("deflate", owner, DEFLATE_WARNING)
        return None
    if not compat.accepted_plain(owner):
        return None
    if isinstance(owner, CoalescingWebSocketProtocol):
        return owner
    return SansIOFrameWriter(owner)


register_adapter("uvicorn.", frame_writer)
