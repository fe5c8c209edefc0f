"""Recovery's bookkeeping inside a client manager, shared by the asyncio and threaded routers.

A router (``manager.RecoveryRouter`` for asyncio, ``sync_manager.SyncRouter``
for threads) knows which connections were restored, which are being
connected (their live packets held until the CONNECT reply and the missed
packets are written), and each session's floor with a shared store. None of
that awaits; what differs between the two, storing and writing, lives in
the subclasses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bidict import ValueDuplicationError

from ..core import RecoveryStore, Restored
from ..core.store import Payload
from . import common, compat


@dataclass
class Connecting:
    """A connection between its restore (or new session) and its CONNECT reply."""

    sid: str
    pid: str
    #: the packets the restore found missed, in order
    missed: list[Payload]
    #: live packets that arrived since, in order (the router appends to it)
    held: list[Payload]
    restored: Restored | None


class RouterBase:
    """What recovery adds to a manager, apart from storing and writing."""

    def __init__(self, server: Any, manager: Any, store: RecoveryStore) -> None:
        self.server = server
        self.manager = manager
        self.store = store
        #: (namespace, sid) of the connections that were restored
        self.recovered: set[tuple[str, str]] = set()
        self._held: dict[str, list[Payload]] = {}
        self._floors: dict[str, int] = {}

    # -- connection bookkeeping -----------------------------------------

    def begin(self, eio_sid: str, namespace: str,
              restored: Restored | None) -> Connecting | None:
        """Register a connecting session, restored or new, and start holding its live packets.

        None when it cannot be registered (this Engine.IO connection is already in
        the namespace, or the restored sid is still taken); a restored session
        then goes back to being kept. Call it in the same step as the restore:
        no packet may be stored between the two.
        """
        sid = self.register(eio_sid, namespace, restored.sid if restored else None)
        if sid is None:
            if restored is not None:
                self.store.keep(namespace, restored.sid, restored.data)
            return None
        held = self.hold(sid)
        if restored is not None:
            for room in restored.rooms:
                self.manager.basic_enter_room(sid, namespace, room)
            self.recovered.add((namespace, sid))
            self.set_floor(sid, restored.head)
            common.put_session_dict(self.server, eio_sid, namespace, restored.data)
            return Connecting(sid, restored.pid, restored.missed, held, restored)
        pid = common.new_pid()
        self.set_floor(sid, self.store.open_session(namespace, sid, pid))
        return Connecting(sid, pid, [], held, None)

    def still_leaving(self, namespace: str, restored: Restored) -> bool:
        """Whether a restored session's old connection is still in the manager; if so it is kept again.

        The drop keeps the session before the old connection's sid leaves the
        manager (the app's disconnect handler runs in between): a restore in
        that window must be tried again once it has left.
        """
        if self.manager.eio_sid_from_sid(restored.sid, namespace) is None:
            return False
        self.store.keep(namespace, restored.sid, restored.data)
        return True

    def give_up(self, namespace: str, connecting: Connecting) -> None:
        """A connection that will not go live: a restored session goes back to being kept."""
        if connecting.restored is not None:
            self.store.keep(namespace, connecting.sid, connecting.restored.data)
        self.release(connecting.sid)

    def register(self, eio_sid: str, namespace: str, sid: str | None = None) -> str | None:
        """Add a connecting session (pending until ``connect``) with a new or a restored sid.

        Returns the sid, or None when this Engine.IO connection is already in
        the namespace or the sid is still taken.
        """
        manager = self.manager
        if sid is None:
            sid = self.server.eio.generate_id()
        elif manager.eio_sid_from_sid(sid, namespace) is not None:
            return None
        try:
            manager.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        except ValueDuplicationError:
            return None
        manager.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
        compat.pending_connect(manager).setdefault(namespace, []).append(sid)
        return sid

    def set_floor(self, sid: str, seq: int) -> None:
        """Packets up to ``seq`` reach ``sid`` through its restore, not live (shared stores)."""
        if self.store.shared:
            self._floors[sid] = seq

    def hold(self, sid: str) -> list[Payload]:
        """Start holding live packets for a connecting session; returns the holding list."""
        return self._held.setdefault(sid, [])

    def release(self, sid: str) -> None:
        self._held.pop(sid, None)

    def forget(self, sid: str, namespace: str) -> None:
        """A connection ends: its store session (if connected) and everything held for it go."""
        self.store.forget(namespace, sid)
        self._held.pop(sid, None)
        self._floors.pop(sid, None)
        self.recovered.discard((namespace, sid))

    def keep_dropped(self, eio_sid: str) -> None:
        """The transport went away: keep its sessions that are still connected (a drop)."""
        session = compat.session_dicts(compat.engineio_socket(self.server, eio_sid))
        for namespace, sid in common.sessions_of(self.server, eio_sid):
            if not self.is_disconnecting(sid, namespace):
                self.store.keep(namespace, sid, session.get(namespace, {}))

    def forget_connection(self, eio_sid: str) -> None:
        """A connection broke the protocol: keep nothing of it for recovery."""
        for namespace, sid in common.sessions_of(self.server, eio_sid):
            self.store.forget(namespace, sid)

    def is_disconnecting(self, sid: str, namespace: str) -> bool:
        return sid in compat.pending_disconnect(self.manager).get(namespace, ())

    def is_local(self, sid: Any, namespace: str) -> bool:
        return (self.manager.is_connected(sid, namespace)  # type: ignore[no-any-return]
                or self.manager.is_pre_connected(sid, namespace))

    def recipients(self, namespace: str, room: Any, skip: frozenset[str], payload: Payload,
                   seq: int | None = None) -> Iterator[str]:
        """The Engine.IO sids to write a stored payload to now; held sessions get it held."""
        held = self._held
        floors = self._floors
        for sid, eio_sid in self.manager.get_participants(namespace, room):
            if sid in skip:
                continue
            if floors and seq is not None and seq <= floors.get(sid, -1):
                continue
            if held and sid in held:
                held[sid].append(payload)
                continue
            yield eio_sid

    def cut_off_targets(self, namespace: str, room: Any, seq: int) -> Iterator[tuple[str, str]]:
        """(sid, eio_sid) of the live clients a gap at ``seq`` was meant for."""
        for sid, eio_sid in list(self.manager.get_participants(namespace, room)):
            if seq <= self._floors.get(sid, -1):
                continue  # restored after the gap was written: nothing missed
            if not compat.socket_is_closing(compat.engineio_socket(self.server, eio_sid)):
                yield sid, eio_sid

    # -- rooms -----------------------------------------------------------

    def joined(self, sid: Any, namespace: str | None, room: Any) -> None:
        namespace = namespace or "/"
        if self.is_local(sid, namespace):
            self.store.join(namespace, sid, room)

    def left(self, sid: Any, namespace: str | None, room: Any) -> None:
        self.store.leave(namespace or "/", sid, room)
