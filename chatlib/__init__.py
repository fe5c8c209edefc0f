"""chatlib: connection state recovery for python-socketio, and the tutorial built on it.

The library::

    import chatlib
    sio = chatlib.RecoveryServer(recovery=chatlib.Recovery(), async_mode="asgi")
    client = chatlib.RecoveryClient()

The Jupyter layer (needs ipywidgets) is imported on first use:
``chatlib.start_chat_server``, ``chatlib.ChatWidget``, ``chatlib.BufferView``,
``chatlib.WireView``, ``chatlib.stop_all``, and the lesson's ``chatlib.Strip``,
``chatlib.ClickAlong``, ``chatlib.Exercise``, ``chatlib.CleanUp``, ``chatlib.Faults``
(step 8's lost messages and late acks) and ``chatlib.redis_server`` (step 9's Redis).
"""

from importlib import import_module
from typing import Any

from .core import MemoryStore, Recovery, RecoveryStore, Restored, RestoreFailure
from .sio import DeliveryError, RecoveryClient, RecoveryServer
from .stores import SQLiteStore

__all__ = [
    "BufferView", "ChatWidget", "CleanUp", "ClickAlong", "DeliveryError", "Exercise", "Faults",
    "MemoryStore", "Recovery", "RecoveryClient", "RecoveryServer", "RecoveryStore", "RedisStore",
    "RestoreFailure", "Restored", "SQLiteStore", "Strip", "WireView", "redis_server",
    "start_chat_server", "stop_all",
]

_LAZY = {
    "RedisStore": "chatlib.stores.redis",
    "start_chat_server": "chatlib.jupyter.launcher",
    "ChatWidget": "chatlib.jupyter.widget",
    "BufferView": "chatlib.jupyter.buffer_view",
    "WireView": "chatlib.jupyter.wire_view",
    "stop_all": "chatlib.jupyter.lifecycle",
    # the lesson's pieces: a strip of live widgets, the click-along story, exercises, clean-up,
    # step 8's faults on demand
    "Strip": "chatlib.lesson.strip",
    "ClickAlong": "chatlib.lesson.story",
    "Exercise": "chatlib.lesson.exercises",
    "CleanUp": "chatlib.lesson.cleanup",
    "Faults": "chatlib.lesson.faults",
    "redis_server": "chatlib.lesson.local_redis",
}


def __dir__() -> list[str]:
    return sorted(set(globals()) - {"Any", "import_module"} | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chatlib' has no attribute {name!r}")
