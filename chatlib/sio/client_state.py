"""What a recovering client remembers per namespace, shared by the asyncio and threaded clients.

``RecoveryClient`` (asyncio) and ``chatlib.sync.RecoveryClient`` (threads)
keep, per namespace, the pid of the last CONNECT reply and the offset of the
last stored event received; they present both when they connect again, strip
the offset before a handler sees the event, and hold the events that arrive
before a CONNECT reply. These decisions are made here; the clients only do
the I/O.

Example::

    >>> from chatlib.sio.client_state import NamespaceState
    >>> state = NamespaceState()
    >>> state.accept_reply({"sid": "s1", "pid": "p1"}, None)
    's1'
    >>> state.strip_offset(None, ["chat message", "hi", "7"]), state.last_offset
    (['chat message', 'hi'], '7')
    >>> state.connect_data({"token": "t"})
    {'token': 't', 'pid': 'p1', 'offset': '7'}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from socketio import exceptions as sio_exceptions

from . import compat
from .redact import redact_pids

logger = logging.getLogger("chatlib.client")


@dataclass
class NamespaceState:
    """What the client remembers of one namespace across connections."""

    pid: str | None = None
    last_offset: str | None = None
    recovered: bool = False
    sid: str | None = None
    #: whether a CONNECT sent on the current Engine.IO connection awaits its reply
    awaiting_reply: bool = False
    #: events received before the CONNECT reply: (ack id, data)
    early_events: list[Any] = field(default_factory=list)

    def connect_data(self, auth: Any) -> Any:
        """The data of a CONNECT for this namespace: ``auth``, with the pid and offset if known."""
        self.awaiting_reply = True
        if self.pid is None:
            return auth
        data = dict(auth) if isinstance(auth, dict) else {}
        data["pid"] = self.pid
        if self.last_offset is not None:
            data["offset"] = self.last_offset
        return data

    def accept_reply(self, data: Any, default_sid: str | None) -> str | None:
        """Take the server's CONNECT reply; returns the namespace's sid."""
        self.awaiting_reply = False
        data = data if isinstance(data, dict) else {}
        new_pid = data.get("pid") if isinstance(data.get("pid"), str) else None
        self.recovered = new_pid is not None and new_pid == self.pid
        if not self.recovered:
            self.last_offset = None  # an offset of another session must never be sent again
        self.pid = new_pid
        self.sid = data.get("sid", default_sid)
        return self.sid

    def take_early(self) -> list[Any]:
        """The events that came before the CONNECT reply, to dispatch now, in order."""
        early, self.early_events = self.early_events, []
        return early

    def defer(self, namespace: str, id: Any, data: Any) -> bool:
        """For an event of a namespace not connected now: held or dropped (True), or dispatched."""
        if self.awaiting_reply:
            self.early_events.append((id, data))
            return True
        if self.pid is not None:
            # read just before a drop and handled after it: not delivered, so its
            # offset is not taken either, and the restore replays it once
            logger.debug("event for disconnected namespace %s dropped", namespace)
            return True
        return False

    def strip_offset(self, id: Any, data: Any) -> Any:
        """A stored event's arguments without its offset, which becomes the last offset."""
        if (id is None and self.pid is not None and isinstance(data, list) and len(data) > 1
                and isinstance(data[-1], str)):
            self.last_offset = data[-1]
            return data[:-1]
        return data

    def connection_lost(self) -> None:
        self.awaiting_reply = False
        self.early_events.clear()

    def leave(self) -> None:
        """A clean disconnect: this session will not be recovered."""
        self.pid = None
        self.last_offset = None


@dataclass(eq=False)
class PendingEmit:
    """An emit made while the namespace was not connected; sent after the next connect.

    Each one is its own emit: two emits of the same event and data are not one (``eq=False``).
    """

    event: str
    data: Any
    namespace: str
    callback: Callable[..., Any] | None = None


def known_namespaces(client: Any, states: dict[str, Any]) -> set[str]:
    """The namespaces a client may emit to (connected or not)."""
    known = set(client.connection_namespaces or []) | set(states)
    known |= compat.handled_namespaces(client)
    known.discard("*")
    return known or {"/"}


def require_known(client: Any, states: dict[str, Any], namespace: str) -> None:
    if namespace not in client.namespaces and namespace not in known_namespaces(client, states):
        raise sio_exceptions.BadNamespaceError(namespace + " is not a connected namespace.")


def take_pending(pending: list[Any], namespace: str) -> tuple[list[Any], list[Any]]:
    """(the pending emits of ``namespace``, the others), each in order."""
    return ([item for item in pending if item.namespace == namespace],
            [item for item in pending if item.namespace != namespace])


class RecoveringClient:
    """What both recovering clients show their users: per-namespace state and what waits.

    A mixin of ``RecoveryClient`` (asyncio) and ``chatlib.sync.RecoveryClient``;
    ``_states`` maps namespaces to their ``NamespaceState``, ``_pending`` holds
    emits made while disconnected, ``_delivery`` is the queue of ``retries`` (or None).
    """

    _states: dict[str, NamespaceState]
    _pending: list[PendingEmit]
    _delivery: Any

    def _start_recovering(self, queue_class: Callable[..., Any], retries: int | None,
                          ack_timeout: float | None) -> None:
        """Set up what the mixin reads; ``queue_class`` makes the ``retries`` queue."""
        redact_pids(self.logger)  # type: ignore[attr-defined]
        redact_pids(self.eio.logger)  # type: ignore[attr-defined]
        self._states = {}
        self._pending = []
        self._dropping = False
        self._connecting = False
        if ack_timeout is not None and not retries:
            raise ValueError("ack_timeout applies to retries: give retries too")
        self._delivery = (queue_class(self._send_try, retries, ack_timeout)  # type: ignore[attr-defined]
                          if retries else None)

    def state(self, namespace: str | None = None) -> NamespaceState:
        """The recovery state of a namespace (default ``/``)."""
        return self._states.setdefault(namespace or "/", NamespaceState())

    def _take_reply(self, namespace: str | None, data: Any) -> tuple[str, list[Any]] | None:
        """A CONNECT reply: the namespace is connected; returns it and its early events.

        None when the namespace is connected already (a second reply is ignored).
        """
        namespace = namespace or "/"
        if namespace in self.namespaces:  # type: ignore[attr-defined]
            return None
        state = self.state(namespace)
        self.namespaces[namespace] = state.accept_reply(data, self.sid)  # type: ignore[attr-defined]
        logger.info("namespace %s connected (recovered: %s)", namespace, state.recovered)
        return namespace, state.take_early()

    @property
    def pid(self) -> str | None:
        """The private session id of the default namespace (a secret: do not log or share it)."""
        return self.state().pid

    @property
    def last_offset(self) -> str | None:
        """The offset of the last stored event received in the default namespace."""
        return self.state().last_offset

    @property
    def recovered(self) -> bool:
        """Whether the last connection of the default namespace restored the previous session."""
        return self.state().recovered

    @property
    def pending(self) -> list[PendingEmit]:
        """Emits waiting for a connection, oldest first; with ``retries``, all not yet acked."""
        if self._delivery is not None:
            return list(self._delivery.waiting())
        return list(self._pending)
