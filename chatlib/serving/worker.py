"""A gunicorn worker that runs uvicorn the way chatlib wants: permessage-deflate off.

``uvicorn-worker``'s ``UvicornWorker`` (the maintained successor of
``uvicorn.workers``) starts uvicorn with its defaults, so every WebSocket
client negotiates permessage-deflate, and every broadcast is compressed once
per recipient (10.5x fewer deliveries/s, bench/README.md). This worker sets
``ws_per_message_deflate=False``, as the JS server has it, and the WebSocket
protocol :class:`chatlib.serving.CoalescingWebSocketProtocol`::

    gunicorn -k chatlib.serving.worker.UvicornWorker -w 2 app:app

(``pip install uvicorn-worker gunicorn``.)
"""

from __future__ import annotations

from typing import Any, ClassVar

try:
    from uvicorn_worker import UvicornWorker as _UvicornWorker  # type: ignore[import-untyped]
except ImportError as missing:  # pragma: no cover - a clear message instead of a bare name
    raise ImportError("chatlib.serving.worker needs the uvicorn-worker package: "
                      "pip install uvicorn-worker gunicorn") from missing

from .websocket import CoalescingWebSocketProtocol


class UvicornWorker(_UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` with permessage-deflate off and chatlib's WebSocket protocol.

    Example::

        gunicorn -k chatlib.serving.worker.UvicornWorker app:app
    """

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**_UvicornWorker.CONFIG_KWARGS,
                                     "ws": CoalescingWebSocketProtocol,
                                     "ws_per_message_deflate": False}
