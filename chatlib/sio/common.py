"""What the asyncio and the threaded servers share: recovery's decisions, none of its I/O.

``RecoveryServer`` (asyncio) and ``chatlib.sync.RecoveryServer`` (threads,
eventlet, gevent) differ in how they wait and write, and in nothing else: the
arguments they take, how a CONNECT's auth is split, which packets from the
network are refused, how an event is encoded with its offset and how a
connect handler is called are decided here, once, for both. Nothing in this
module awaits, sleeps or locks.

Example::

    >>> from chatlib.sio import common
    >>> common.split_auth({"pid": "p", "offset": "3", "token": "t"})
    ({'token': 't'}, True, 'p', '3')
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from socketio import exceptions as sio_exceptions
from socketio import packet as sio_packet

from ..core import MemoryStore, Recovery, RecoveryStore, Restored, RestoreFailure
from ..core.store import Payload
from . import compat

#: ``recovery=`` when none is given: recovery on, with the JS server's limits.
DEFAULT_RECOVERY = Recovery()
#: A sweep expires at most this many sessions and packets before it lets others run.
SWEEP_BATCH = 1000
#: Seconds between restore attempts of a session still connected to another server.
ELSEWHERE_RETRY = 0.1
_PID_BYTES = 16  # 128 bits from the secrets module
_CLIENT_PACKET_TYPES = (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT,
                        sio_packet.ACK, sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK)
#: A restore that must be tried again (the session is connected to a silent server).
RETRY = object()


def choose_store(args: tuple[Any, ...], recovery: Recovery | None, store: RecoveryStore | None
                 ) -> tuple[Recovery | None, RecoveryStore | None]:
    """The limits and the store a server with these arguments uses (None: recovery off),
    the store configured.

    A server given no ``recovery=`` (``DEFAULT_RECOVERY``) takes the limits its store was
    given; two different sets of limits are refused by ``RecoveryStore.configure``.
    """
    if recovery is None:
        if store is not None:
            raise TypeError("a store needs recovery: pass recovery=chatlib.Recovery(...)")
        return None, None
    if args:
        raise TypeError("pass RecoveryServer's arguments by keyword")
    if recovery is DEFAULT_RECOVERY and store is not None and store.own_recovery is not None:
        recovery = store.own_recovery
    chosen = store if store is not None else MemoryStore(recovery)
    chosen.configure(recovery)
    return recovery, chosen


def new_pid() -> str:
    """A fresh private session id."""
    return secrets.token_urlsafe(_PID_BYTES)


def split_auth(data: Any) -> tuple[Any, bool, Any, Any]:
    """Separate the recovery fields from the user's auth: (auth, asks_recovery, pid, offset)."""
    if isinstance(data, dict) and "pid" in data:
        auth = {key: value for key, value in data.items() if key not in ("pid", "offset")}
        return auth, True, data["pid"], data.get("offset")
    return data, False, None, None


def restore_step(result: Any, past_deadline: bool) -> Any:
    """What one restore attempt means: the ``Restored``, ``RETRY``, or None (a new session)."""
    if isinstance(result, Restored):
        return result
    if result is RestoreFailure.CONNECTED_ELSEWHERE and not past_deadline:
        return RETRY
    return None


def accepts(server: Any, namespace: str) -> bool:
    """Whether the server has this namespace (python-socketio's test before ``pre_connect``)."""
    return (namespace in compat.handled_namespaces(server)
            or server.namespaces == "*" or namespace in server.namespaces)


def refused(server: Any, namespace: str, reason: Any = "Unable to connect") -> Any:
    """The CONNECT_ERROR packet that refuses a connection."""
    return server.packet_class(sio_packet.CONNECT_ERROR, data=reason, namespace=namespace)


def connect_reply(server: Any, namespace: str, sid: str, pid: str) -> Any:
    """The CONNECT packet that accepts a connection, with its pid."""
    return server.packet_class(sio_packet.CONNECT, {"sid": sid, "pid": pid}, namespace=namespace)


def disconnect_packet(server: Any, namespace: str, reason: Any) -> Any:
    return server.packet_class(sio_packet.DISCONNECT, data=reason, namespace=namespace)


class ConnectCalls:
    """The argument lists a connect handler is tried with, as python-socketio tries them.

    With auth only ``(sid, environ, auth)``; without, ``(sid, environ, None)``
    and then the legacy ``(sid, environ)``. Iterating past the last one raises
    the first ``TypeError`` that ``failed`` was given.

    Example::

        calls = ConnectCalls(sid, environ, auth)
        for arguments in calls:
            try:
                return handler(*arguments)
            except TypeError as error:
                calls.failed(error)
    """

    def __init__(self, sid: str, environ: Any, auth: Any) -> None:
        self._calls = [(sid, environ, auth)] if auth else [(sid, environ, None), (sid, environ)]
        self._first: TypeError | None = None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        yield from self._calls
        assert self._first is not None
        raise self._first

    def failed(self, error: TypeError) -> None:
        if self._first is None:
            self._first = error


#: What a refused connection is told when the handler gave no reason.
def default_refusal() -> Any:
    return sio_exceptions.ConnectionRefusedError().error_args


def refusal_reason(error: BaseException) -> Any:
    """The CONNECT_ERROR data for a connect handler that raised ``ConnectionRefusedError``."""
    if isinstance(error, sio_exceptions.ConnectionRefusedError):
        return error.error_args
    return {"message": "Connection refused by server"}


#: The exceptions a connect handler raises to refuse a connection.
REFUSALS = (sio_exceptions.ConnectionRefusedError, ConnectionRefusedError)


def put_session_dict(server: Any, eio_sid: str, namespace: str, data: Any) -> None:
    """Give a restored connection its python-socketio session dict back."""
    socket = compat.engineio_socket(server, eio_sid)
    if socket is not None:
        compat.session_dicts(socket)[namespace] = data if data is not None else {}


def is_malformed(server: Any, eio_sid: str, data: Any) -> bool:
    """Whether a Socket.IO packet from the network cannot be handled (decoded here once)."""
    if compat.in_binary_packet(server, eio_sid):
        return False  # an attachment: python-socketio checks it against its packet
    try:
        pkt = server.packet_class(encoded_packet=data)
    except Exception:  # JSON, ids, attachment counts: whatever the decoder trips on
        return True
    if pkt.packet_type not in _CLIENT_PACKET_TYPES:
        return True
    if pkt.packet_type in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
        if server.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/") is None:
            return True
        if pkt.attachment_count < 1:
            # python-socketio would wait for attachments it can never take: the next
            # frame would raise in its handler
            return True
    # the payload rules of socket.io-parser's isPayloadValid: an event is a non-empty
    # array led by its name, an ack an array
    if pkt.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
        return not (isinstance(pkt.data, list) and pkt.data
                    and isinstance(pkt.data[0], (str, int)) and not isinstance(pkt.data[0], bool))
    if pkt.packet_type in (sio_packet.ACK, sio_packet.BINARY_ACK):
        return not isinstance(pkt.data, list)
    return False


def sessions_of(server: Any, eio_sid: str) -> list[tuple[str, str]]:
    """(namespace, sid) of every Socket.IO session on one Engine.IO connection."""
    found = []
    for namespace in list(server.manager.get_namespaces()):
        sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None:
            found.append((namespace, sid))
    return found


def describe_payload(server: Any, payload: Payload) -> tuple[str, list[Any]]:
    """A stored payload as ``(event, args)``, its offset left out (``store.describe``)."""
    text = payload[0] if isinstance(payload, list) else payload
    data = server.packet_class(encoded_packet=text).data or [None]
    return data[0], data[1:-1]


# -- emits ---------------------------------------------------------------------

def as_args(data: Any) -> list[Any]:
    """An emit's ``data`` as the argument list python-socketio sends (a tuple spreads)."""
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


def as_sids(skip_sid: Any) -> frozenset[Any]:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, (list, tuple, set, frozenset)):
        return frozenset(sid for sid in skip_sid if sid is not None)
    return frozenset((skip_sid,))


def as_rooms(room: Any) -> list[Any] | None:
    """None for everyone, else the list of rooms (python-socketio accepts one room or a list)."""
    if room is None:
        return None
    if hasattr(room, "__len__") and not isinstance(room, str):
        return list(room)
    return [room]


def event_encoder(packet_class: Any, namespace: str, event: str,
                  data: Any) -> Callable[[str], Payload]:
    """``encode(offset)``: the event's packet, encoded with the offset as its last argument."""
    head = [event]
    args = as_args(data)

    def encode_with(offset: str) -> Payload:
        return packet_class(sio_packet.EVENT, namespace=namespace,
                            data=head + args + [offset]).encode()

    return encode_with


def stored_upstream(callback: Any, pubsub: bool, store: RecoveryStore, kwargs: dict[str, Any]) -> bool:
    """Whether a manager's ``emit`` goes to python-socketio's own (not stored by chatlib here).

    An event with an ack is answered, not recovered (the JS server does not
    store it either); on a pub/sub manager with a private store the manager
    publishes as usual and this server's copy comes back through its handler
    of what was published.
    """
    return callback is not None or (pubsub and not store.shared and not kwargs.get("ignore_queue"))


def published_data(message: dict[str, Any]) -> Any:
    """The ``data`` of an emit another server published, as ``emit`` takes it."""
    data: Any = message.get("data")
    if message.get("binary"):
        attachments = [base64.b64decode(part) for part in data[1:]]
        data = sio_packet.Packet.reconstruct_binary(data[0], attachments)
    if isinstance(data, list):
        return data[0] if len(data) == 1 else tuple(data)
    return data


#: what marks a manager instance as already serving a recovery server
_MARK = "recovery_router"


def install_hooks(manager: Any, router: Any, hooks: Any, names: Iterable[str]) -> None:
    """Wrap each of ``names`` on this manager instance with ``hooks``' method of that name
    (called with the original method first), and mark the manager as serving ``router``.

    Raises ``ValueError`` for a manager that already serves a recovery server. Both the
    asyncio hooks (``chatlib.sio.hooks``) and the threaded ones (``chatlib.sio.sync_manager``)
    are installed so.
    """
    if getattr(manager, _MARK, None) is not None:
        raise ValueError("this client manager already serves a RecoveryServer")
    setattr(manager, _MARK, router)
    for name in sorted(names):
        hook = getattr(hooks, name)
        compat.wrap_manager_method(manager, name, lambda original, hook=hook:  # type: ignore[misc]
                                   functools.partial(hook, original))
