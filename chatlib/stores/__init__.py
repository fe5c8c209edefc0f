"""Recovery stores that do I/O: SQLite (survives a restart) and Redis (shared by servers).

Both fulfil ``chatlib.core.RecoveryStore``; ``MemoryStore``, the default, is
in the core. ``RedisStore`` needs the ``redis`` package (``pip install
"chatlib[redis]"``) and is imported on first use (``chatlib.RedisStore``).
"""

from typing import TYPE_CHECKING, Any

from .._extras import require
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .redis import RedisStore as RedisStore

__all__ = ["SQLiteStore"]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        require("chatlib.RedisStore", "redis")
        from .redis import RedisStore
        return RedisStore
    raise AttributeError(f"module 'chatlib.stores' has no attribute {name!r}")
