"""Ready WebSocket frames, and the small protocol of a connection that takes them.

A server-to-client WebSocket frame is not masked (RFC 6455, section 5.1), so
a broadcast's frame is the same bytes for every recipient whose connection
negotiated no extension: it can be built once and written N times. This
module builds such frames and names what a connection must offer to take
one, :class:`FrameWriter`. It imports no server: the ASGI server's side
(uvicorn's protocols) lives in :mod:`chatlib.serving`, which registers, with
:func:`register_adapter`, how to find a ``FrameWriter`` behind a connection.

Example::

    >>> frame_of("42")
    b'\\x81\\x0242'
    >>> frame_of(b"\\x01")
    b'\\x82\\x01\\x01'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

_TEXT = 0x81    # FIN + opcode 1
_BINARY = 0x82  # FIN + opcode 2

# Frames of messages up to this size are kept for reuse, the newest this many:
# a broadcast's frame is built once while every connection writes it.
_CACHED_BYTES = 1024
_CACHED_FRAMES = 1024


@runtime_checkable
class FrameWriter(Protocol):
    """A connection that can take a ready, unmasked, final WebSocket frame.

    ``write_frame`` writes the bytes after everything this connection wrote
    so far and returns True, or returns False, writing nothing, when it
    cannot now: handshake or close under way, the transport pushing back, or
    an extension (permessage-deflate) that would change the frame.

    Example::

        class Recorder:
            def __init__(self): self.frames = []
            def write_frame(self, frame: bytes) -> bool:
                self.frames.append(frame)
                return True

        assert isinstance(Recorder(), FrameWriter)
    """

    def write_frame(self, frame: bytes) -> bool: ...


def _header(first: int, size: int) -> bytes:
    if size < 126:
        return bytes((first, size))
    if size < 1 << 16:
        return bytes((first, 126)) + size.to_bytes(2, "big")
    return bytes((first, 127)) + size.to_bytes(8, "big")


def frame_of(data: str | bytes) -> bytes:
    """The unmasked final frame of one message: a text frame for ``str``, binary for ``bytes``."""
    if isinstance(data, str):
        body = data.encode()
        return _header(_TEXT, len(body)) + body
    return _header(_BINARY, len(data)) + bytes(data)


class FrameCache:
    """Frames by message, the newest ``_CACHED_FRAMES`` of the small ones.

    Example::

        >>> cache = FrameCache()
        >>> cache.frame("42", keep=True) is cache.frame("42", keep=False)
        True
    """

    def __init__(self) -> None:
        self._frames: dict[str | bytes, bytes] = {}

    def frame(self, data: str | bytes, keep: bool) -> bytes:
        """The frame of ``data``, kept for reuse if ``keep`` (only broadcasts are worth it)."""
        frame = self._frames.get(data)
        if frame is None:
            frame = frame_of(data)
            if keep and len(data) <= _CACHED_BYTES:
                if len(self._frames) >= _CACHED_FRAMES:
                    self._frames.pop(next(iter(self._frames)), None)
                self._frames[data] = frame
        return frame


#: The frames of recent broadcasts, shared by the direct writer and the
#: WebSocket protocols that build frames for their own sends.
shared_frames = FrameCache()

Adapter = Callable[[Any], FrameWriter | None]
# module prefix of a server's connection objects -> the module that registers
# their adapter, imported the first time such a connection is seen
_PROVIDERS: dict[str, str] = {"uvicorn.": "chatlib.serving.adapters"}
_ADAPTERS: dict[str, Adapter] = {}


def register_adapter(module_prefix: str, adapter: Adapter) -> None:
    """Say how to find a ``FrameWriter`` behind connections of classes from ``module_prefix``.

    ``adapter(owner)`` gets the object behind a connection's ASGI ``send``
    (``send.__self__``) and returns a ``FrameWriter`` for it, or None.
    """
    _ADAPTERS[module_prefix] = adapter


def writer_behind(send: Any) -> FrameWriter | None:
    """The ``FrameWriter`` of the connection an ASGI ``send`` callable belongs to, or None.

    The adapter registered for the module of the object behind ``send``
    (``send.__self__``), or of one of its base classes, makes it; failing
    that, the object is used as it is when it offers ``write_frame``. The
    module that registers uvicorn's adapter is imported the first time a
    uvicorn connection is seen: uvicorn is loaded by then, and an app on
    another server never loads it.
    """
    owner = getattr(send, "__self__", None)
    if owner is None:
        return None
    modules = [cls.__module__ for cls in type(owner).__mro__]
    for prefix, provider in _PROVIDERS.items():
        if prefix not in _ADAPTERS and any(m.startswith(prefix) for m in modules):
            importlib.import_module(provider)
    for prefix, adapter in _ADAPTERS.items():
        if any(m.startswith(prefix) for m in modules):
            return adapter(owner)
    return owner if isinstance(owner, FrameWriter) else None
