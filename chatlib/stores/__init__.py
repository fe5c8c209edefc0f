"""Recovery stores that do I/O: SQLite (survives a restart) and Redis (shared by servers).

Both fulfil ``chatlib.core.RecoveryStore``; ``MemoryStore``, the default, is
in the core. ``RedisStore`` needs the ``redis`` package and is imported on
first use (``chatlib.RedisStore``).
"""

from .sqlite import SQLiteStore

__all__ = ["SQLiteStore"]
