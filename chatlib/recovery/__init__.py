"""The sans-I/O recovery core: offsets, packet log, session table, expiry, restore.

Standard library only: no asyncio and no socketio here, and the clock is injected.
"""

from .memory import MemoryStore
from .policy import Recovery
from .sqlite import SQLiteStore
from .store import RecoveryStore, Restored, RestoreFailure

__all__ = ["MemoryStore", "Recovery", "RecoveryStore", "Restored", "RestoreFailure", "SQLiteStore"]
