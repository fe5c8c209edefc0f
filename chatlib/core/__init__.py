"""The recovery core: offsets, the packet log, sessions, expiry and restore.

No I/O, no asyncio, no socketio: the standard library only, and the clock is
injected. The stores that do I/O (``chatlib.stores``) and the Socket.IO
integration (``chatlib.sio``) are built on it.

How a restore works
===================

Every stored packet gets the next sequence number of its store; its decimal
string is the offset, appended by the integration as the packet's last
argument. The packet log (``log.PacketLog``) holds records by sequence number,
so finding an offset is O(1); the room index (``log.RoomIndex``) lists, per
(namespace, room), the sequence numbers sent there, "everyone" included.

A session (``sessions.Session``) remembers the sequence number it started
after and, for each room, the one at which it joined. A drop (``keep``) marks
it disconnected, with the time; a clean end (``forget``) removes it.

``restore(namespace, pid, offset)`` then runs five checks, in order, each with
its own ``RestoreFailure``:

1. a kept session has this pid in this namespace (``UNKNOWN_PID``);
2. it is not connected (``ALREADY_CONNECTED``): a pid is restored once per drop;
3. it was kept for no longer than ``max_disconnection_duration`` (``EXPIRED``);
4. the offset is one this store gave out (``BAD_OFFSET``); the replay starts
   after ``max(offset, session start)``, so a stale offset from an older
   session never replays what came before this one;
5. no packet meant for the session after that point has been evicted
   (``PACKETS_LOST``): the eviction marks (``sessions.EvictionMarks``) keep,
   per room, the newest evicted sequence number, and the restore fails rather
   than leave a silent gap.

The missed packets are those of the session's rooms after
``max(start point, joined at)``, minus the ones that excluded it, in sequence
order. The session is marked connected before ``restore`` returns, in the same
call, so no second CONNECT can take it.

Where the twin lives
====================

``chatlib/stores/lua/restore.lua`` is the same algorithm for ``RedisStore``,
run atomically inside Redis (``common.lua`` holds its helpers); a change to
the checks above must be made there too. The store contract suite
(``tests/recovery/test_store_contract.py``) runs against every store.
"""

from .memory import MemoryStore
from .policy import Recovery
from .store import RecoveryStore, Restored, RestoreFailure

__all__ = ["MemoryStore", "Recovery", "RecoveryStore", "RestoreFailure", "Restored"]
