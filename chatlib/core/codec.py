"""What the stores that leave the process write: JSON text, with bytes tagged.

Reading state back from Redis or from a file must never run code, whoever
wrote it, so the stores use no format that can carry code: a session dict and
a packet's binary attachments are stored as JSON, in which bytes are the one
tagged value::

    b"\\x00\\xff"          ->  {"$bytes": "AP8="}       (base64)
    {"$price": 3}         ->  {"$$price": 3}           (a key starting with "$" gets one more)

What can be stored is what JSON holds, read back as the same types: ``None``,
``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` with ``str`` keys,
and ``bytes``. Anything else (a tuple, a set, a datetime, an object, a
subclass of one of these) cannot be. ``loads`` checks what it reads and raises
``Unreadable`` for anything ``dumps`` would not have written.

Example::

    >>> from chatlib.core import codec
    >>> text = codec.dumps({"name": "Alice", "avatar": b"\\x89PNG"})
    >>> text
    '{"name": "Alice", "avatar": {"$bytes": "iVBORw=="}}'
    >>> codec.loads(text)
    {'name': 'Alice', 'avatar': b'\\x89PNG'}
    >>> codec.storable({"name": "Alice", "seen": {1, 2}})
    ({'name': 'Alice'}, [('seen', 'set')])
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

_BYTES = "$bytes"
_SCALARS = (str, int, float, bool, type(None))


class Unencodable(TypeError):
    """A value holds something the codec does not store; ``kind`` names its type."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"a {kind} cannot be stored (JSON values and bytes only)")
        self.kind = kind


class Unreadable(ValueError):
    """Stored text that ``dumps`` did not write: corrupt, foreign or hostile state."""


def _tagged(value: Any) -> Any:
    """``value`` as plain JSON values, bytes tagged; raises ``Unencodable``."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is bytes:
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if kind is list:
        return [_tagged(item) for item in value]
    if kind is dict:
        tagged = {}
        for key, item in value.items():
            if type(key) is not str:
                raise Unencodable(f"dict key of type {type(key).__name__}")
            tagged["$" + key if key.startswith("$") else key] = _tagged(item)
        return tagged
    raise Unencodable(kind.__name__)


def dumps(value: Any) -> str:
    """JSON text for ``value``; raises ``Unencodable`` for what cannot be stored."""
    try:
        return json.dumps(_tagged(value), ensure_ascii=False)
    except RecursionError:
        raise Unencodable("value nested too deeply") from None


def _untagged(pairs: list[tuple[str, Any]]) -> Any:
    if len(pairs) == 1 and pairs[0][0] == _BYTES:
        encoded = pairs[0][1]
        if type(encoded) is not str:
            raise Unreadable("a bytes tag without base64 text")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise Unreadable("a bytes tag with bad base64") from None
    value = {}
    for key, item in pairs:
        if key.startswith("$"):
            if not key.startswith("$$"):
                raise Unreadable(f"an unknown tag {key[:20]!r}")
            key = key[1:]
        if key in value:
            raise Unreadable("a repeated key")
        value[key] = item
    return value


def loads(text: str | bytes) -> Any:
    """The value ``dumps`` wrote as ``text``; raises ``Unreadable`` for anything else.

    Nothing in ``text`` can make this run code: it is JSON, checked as it is read.
    """
    if type(text) is bytes:
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-8 text") from None
    if type(text) is not str:
        raise Unreadable(f"a {type(text).__name__}, not text")
    try:
        return json.loads(text, object_pairs_hook=_untagged)
    except Unreadable:
        raise
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"not JSON ({exc.__class__.__name__})") from None


def storable(data: Any) -> tuple[Any, list[tuple[str, str]]]:
    """The part of a session dict that can be stored, and what was left out.

    Returns ``(kept, left_out)``: ``kept`` is ``data`` itself when all of it can
    be stored, else a new dict without the keys that cannot; ``left_out`` lists
    ``(key, type name)`` for each of them. Data that is not a dict is kept whole,
    or left out whole (``kept`` None, key ``""``).
    """
    if type(data) is not dict:
        try:
            _tagged(data)
        except (Unencodable, RecursionError) as exc:
            return None, [("", _kind(exc))]
        return data, []
    left_out = []
    for key, value in data.items():
        if type(key) is not str:
            left_out.append((repr(key), f"dict key of type {type(key).__name__}"))
            continue
        try:
            _tagged(value)
        except (Unencodable, RecursionError) as exc:
            left_out.append((key, _kind(exc)))
    if not left_out:
        return data, []
    dropped = {key for key, _ in left_out}
    kept = {key: value for key, value in data.items()
            if type(key) is str and key not in dropped}
    return kept, left_out


def _kind(exc: BaseException) -> str:
    return exc.kind if isinstance(exc, Unencodable) else "value nested too deeply"


def loads_attachments(text: str | bytes) -> list[bytes]:
    """A packet's binary attachments as ``dumps`` wrote them: a non-empty list of bytes."""
    value = loads(text)
    if type(value) is not list or not value or any(type(part) is not bytes for part in value):
        raise Unreadable("not a list of binary attachments")
    return value


def loads_binary_packet(text: str | bytes) -> bytes | list[str | bytes]:
    """A packet that is not text, as ``dumps`` wrote it: its text followed by one or more
    binary attachments, or bytes (a packet of a binary serializer, such as msgpack)."""
    value = loads(text)
    if type(value) is bytes and value:
        return value
    if (type(value) is not list or len(value) < 2 or type(value[0]) is not str
            or any(type(part) is not bytes for part in value[1:])):
        raise Unreadable("not a packet text followed by binary attachments, nor bytes")
    return value


def loads_session_dict(text: str | bytes) -> dict[str, Any]:
    """A session dict as ``dumps`` wrote it (JSON null reads as an empty one)."""
    value = loads(text)
    if value is None:
        return {}
    if type(value) is not dict:
        raise Unreadable("a session dict that is not a dict")
    return value
