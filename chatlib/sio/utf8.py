"""Socket.IO packets whose JSON carries non-ASCII text as UTF-8, as the JS server writes it.

python-socketio's default packet class encodes with ``json.dumps``'s default
``ensure_ascii=True``: "más" goes out as ``"m\\u00e1s"``, six bytes for one
letter. The JS server and client write the letter itself (two bytes in UTF-8);
both sides decode either form the same, so only the size and what a person
reading the wire sees differ. RecoveryServer and RecoveryClient use
:class:`Utf8Packet` when the user chose neither a serializer nor a ``json``
module of their own.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from engineio import json as engineio_json
from socketio import packet as sio_packet

#: a surrogate code point alone: UTF-8 cannot encode it, so it stays a JSON escape (as in JS)
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Utf8Json:
    """The ``json`` a packet class uses: python-engineio's (its bounded integer parse) with UTF-8 out."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", False)
        text: str = engineio_json.dumps(obj, **kwargs)
        if _LONE_SURROGATE.search(text):
            # only inside string literals, where an escape means the same
            text = _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
        return text

    @staticmethod
    def loads(text: Any, **kwargs: Any) -> Any:
        return engineio_json.loads(text, **kwargs)


class Utf8Packet(sio_packet.Packet):  # type: ignore[misc]  # untyped base
    """python-socketio's packet, encoding JSON without ASCII escapes.

    Example::

        Utf8Packet(sio_packet.EVENT, data=["chat message", "¿qué más?"]).encode()
        # '2["chat message","¿qué más?"]'
    """

    json = Utf8Json


def utf8_packet_class(chosen: type, init: Callable[..., None], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> type:
    """The packet class to use: Utf8Packet for python-socketio's default, else the user's choice.

    ``chosen`` is the class python-socketio picked from ``serializer``; ``init`` the
    python-socketio ``__init__`` that got ``args`` and ``kwargs``, to see whether
    they gave a ``json`` module. A msgpack or custom serializer, and a user's own
    ``json`` (by keyword or by position), are kept as they are.
    """
    given = inspect.signature(init).bind_partial(None, *args, **kwargs).arguments
    if chosen is sio_packet.Packet and given.get("json") is None:
        return Utf8Packet
    return chosen
