"""The one boundary between chatlib and the internals of python-socketio and python-engineio.

chatlib subclasses python-socketio's ``AsyncServer`` and ``AsyncClient`` and
hooks into its client managers. Whatever it uses that is not documented API
(an underscore name, an attribute the docs do not mention, a method it
overrides) is named here, and only here:

- calls and attribute reads go through the functions below;
- the methods chatlib overrides are listed in ``OVERRIDES``, the manager methods it
  wraps on an instance in ``MANAGER_WRAPPED`` and ``PUBSUB_WRAPPED``, the private methods
  it calls in ``CALLED`` and the undocumented attributes it reads in ``ATTRIBUTES``.

``tests/sio/test_compat.py`` checks every entry against the installed versions
(the name exists, its parameters are the ones chatlib was written for) and
fails naming the entry and the version, so an upgrade that moves one of them
says where. python-socketio 5.17/5.18 did change this surface (``pre_connect``,
``pending_connect``); requirements pin the 5.18 series.

Example::

    >>> from chatlib.sio import compat
    >>> sorted(compat.OVERRIDES)[0]
    ('socketio.AsyncClient', '_handle_connect')
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from socket import SHUT_RDWR
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket
from engineio.socket import Socket as EngineioSocket
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.pubsub_manager import PubSubManager

#: (owner, method) -> parameter names (``self`` first) of each upstream method
#: chatlib overrides in a subclass. The owner is named as a string so that this
#: table reads as documentation; ``owner_class`` resolves it.
OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("socketio.AsyncServer", "_handle_connect"): ("self", "eio_sid", "namespace", "data"),
    ("socketio.AsyncServer", "_handle_eio_connect"): ("self", "eio_sid", "environ"),
    ("socketio.AsyncServer", "_handle_eio_message"): ("self", "eio_sid", "data"),
    ("socketio.AsyncServer", "_handle_eio_disconnect"): ("self", "eio_sid", "reason"),
    ("socketio.AsyncClient", "_handle_eio_connect"): ("self",),
    ("socketio.AsyncClient", "_handle_connect"): ("self", "namespace", "data"),
    ("socketio.AsyncClient", "_handle_event"): ("self", "namespace", "id", "data"),
    ("socketio.AsyncClient", "_handle_disconnect"): ("self", "namespace"),
    ("socketio.AsyncClient", "_handle_eio_disconnect"): ("self", "reason"),
    # the threaded twins (chatlib.sio.sync_server, chatlib.sio.sync_client)
    ("socketio.Server", "_handle_connect"): ("self", "eio_sid", "namespace", "data"),
    ("socketio.Server", "_handle_eio_connect"): ("self", "eio_sid", "environ"),
    ("socketio.Server", "_handle_eio_message"): ("self", "eio_sid", "data"),
    ("socketio.Server", "_handle_eio_disconnect"): ("self", "eio_sid", "reason"),
    ("socketio.Client", "_handle_eio_connect"): ("self",),
    ("socketio.Client", "_handle_connect"): ("self", "namespace", "data"),
    ("socketio.Client", "_handle_event"): ("self", "namespace", "id", "data"),
    ("socketio.Client", "_handle_disconnect"): ("self", "namespace"),
    ("socketio.Client", "_handle_eio_disconnect"): ("self", "reason"),
    ("socketio.Client", "_engineio_client_class"): ("self",),
    # python-engineio's threaded client runs each message's handler on a thread of its
    # own; chatlib's runs them one after another, in arrival order (sync_client)
    ("engineio.Client", "_trigger_event"): ("self", "event", "*args", "**kwargs"),
}

#: Public methods of a manager instance that chatlib wraps (``chatlib.sio.hooks``), with the
#: parameters of python-socketio's ``AsyncManager`` (a pub/sub manager's take the same
#: names): name -> parameter names.
MANAGER_WRAPPED: dict[str, tuple[str, ...]] = {
    "emit": ("self", "event", "data", "namespace", "room", "skip_sid", "callback", "to",
             "**kwargs"),
    "enter_room": ("self", "sid", "namespace", "room", "eio_sid"),
    "leave_room": ("self", "sid", "namespace", "room"),
    "close_room": ("self", "room", "namespace"),
    "disconnect": ("self", "sid", "namespace", "**kwargs"),
}

#: Methods of a pub/sub manager instance that chatlib wraps (``chatlib.sio.hooks``):
#: the handlers of what other servers publish. name -> parameter names.
PUBSUB_WRAPPED: dict[str, tuple[str, ...]] = {
    "_handle_emit": ("self", "message"),
    "_handle_enter_room": ("self", "message"),
    "_handle_leave_room": ("self", "message"),
    "_handle_close_room": ("self", "message"),
}

#: Private methods chatlib calls, with the parameters it passes.
CALLED: dict[tuple[str, str], tuple[str, ...]] = {
    ("socketio.AsyncServer", "_send_packet"): ("self", "eio_sid", "pkt"),
    ("socketio.AsyncServer", "_send_eio_packet"): ("self", "eio_sid", "eio_pkt"),
    ("socketio.AsyncServer", "_trigger_event"): ("self", "event", "namespace", "*args"),
    ("socketio.AsyncClient", "_send_packet"): ("self", "pkt"),
    ("socketio.AsyncClient", "_trigger_event"): ("self", "event", "namespace", "*args"),
    ("socketio.AsyncClient", "_get_real_value"): ("self", "value"),
    ("engineio.AsyncClient", "_send_request"): ("self", "method", "url", "headers", "body",
                                                 "timeout"),
    ("engineio.AsyncClient", "create_queue"): ("self", "*args", "**kwargs"),
    # replaced on a client instance while it plays a silent network (chatlib.sio.silence)
    ("engineio.AsyncClient", "_send_packet"): ("self", "pkt"),
    ("engineio.AsyncClient", "_receive_packet"): ("self", "pkt"),
    ("engineio.AsyncSocket", "close"): ("self", "wait", "abort", "reason"),
    ("socketio.Server", "_send_packet"): ("self", "eio_sid", "pkt"),
    ("socketio.Server", "_send_eio_packet"): ("self", "eio_sid", "eio_pkt"),
    ("socketio.Server", "_trigger_event"): ("self", "event", "namespace", "*args"),
    ("socketio.Client", "_send_packet"): ("self", "pkt"),
    ("socketio.Client", "_trigger_event"): ("self", "event", "namespace", "*args"),
    ("socketio.Client", "_get_real_value"): ("self", "value"),
    ("engineio.Client", "create_queue"): ("self", "*args", "**kwargs"),
    ("engineio.Client", "_send_request"): ("self", "method", "url", "headers", "body", "timeout"),
    ("engineio.Socket", "close"): ("self", "wait", "abort", "reason"),
}

#: Undocumented attributes chatlib reads or writes, on a fresh instance of their owner.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "socketio.AsyncServer": ("_binary_packet", "environ", "eio", "not_handled", "handlers",
                             "namespace_handlers"),
    "socketio.AsyncManager": ("pending_connect", "pending_disconnect", "rooms"),
    "socketio.AsyncClient": ("_connect_event", "connection_url", "connection_headers",
                             "connection_auth", "connection_transports",
                             "connection_namespaces", "socketio_path", "namespaces", "eio",
                             "handlers", "namespace_handlers"),
    "engineio.AsyncServer": ("sockets", "reason"),
    # engineio's writer waits in ``queue.get()``: a registered getter says it does
    "asyncio.Queue": ("_getters",),
    "engineio.AsyncClient": ("queue", "ws", "read_loop_task", "base_url", "request_timeout",
                             "current_transport", "state"),
    "socketio.Server": ("_binary_packet", "environ", "eio", "not_handled"),
    "socketio.Manager": ("pending_connect", "pending_disconnect", "rooms"),
    "socketio.Client": ("_connect_event", "connection_url", "connection_headers",
                        "connection_auth", "connection_transports",
                        "connection_namespaces", "socketio_path", "namespaces", "eio"),
    "engineio.Server": ("sockets",),
    "engineio.Client": ("queue", "ws", "read_loop_task", "base_url", "request_timeout",
                        "current_transport", "state", "handlers"),
    # websocket-client's connection under python-engineio's threaded client: its raw socket
    "websocket.WebSocket": ("sock",),
}

#: Undocumented attributes a pub/sub manager sets once its server started it (``initialize``).
STARTED_PUBSUB_ATTRIBUTES: tuple[str, ...] = ("thread",)

#: What ``chatlib.flask.SocketIO`` reads of Flask-SocketIO's ``SocketIO`` after its
#: ``init_app``: the options it made the server with, the handlers registered
#: before, and the WSGI middleware whose ``engineio_app`` it points at its own server.
FLASK_ATTRIBUTES: tuple[str, ...] = ("server", "server_options", "handlers", "namespace_handlers",
                                     "sockio_mw", "async_mode")

#: Undocumented attributes of a python-engineio server socket (one per connection).
SOCKET_ATTRIBUTES: tuple[str, ...] = ("last_ping", "queue", "closed", "closing", "session",
                                      "upgraded", "upgrading")

_OWNERS: dict[str, type] = {
    "socketio.AsyncServer": socketio.AsyncServer,
    "socketio.AsyncClient": socketio.AsyncClient,
    "socketio.AsyncManager": socketio.AsyncManager,
    "socketio.AsyncPubSubManager": AsyncPubSubManager,
    "engineio.AsyncServer": engineio.AsyncServer,
    "engineio.AsyncClient": engineio.AsyncClient,
    "engineio.AsyncSocket": AsyncSocket,
    "asyncio.Queue": asyncio.Queue,
    "socketio.Server": socketio.Server,
    "socketio.Client": socketio.Client,
    "socketio.Manager": socketio.Manager,
    "engineio.Server": engineio.Server,
    "engineio.Client": engineio.Client,
    "engineio.Socket": EngineioSocket,
}


def owner_class(name: str) -> type:
    """The upstream class a table entry names, e.g. ``"socketio.AsyncServer"``.

    ``websocket.WebSocket`` (websocket-client, the threaded client's transport) comes with
    the ``flask`` extra, so it is imported only when asked for: ``import chatlib`` needs none
    of that extra's packages.
    """
    if name == "websocket.WebSocket":
        import websocket

        return websocket.WebSocket
    return _OWNERS[name]


# -- server -----------------------------------------------------------------

async def send_packet(server: Any, eio_sid: str, pkt: Any) -> None:
    """Encode and write one Socket.IO packet to a client (``AsyncServer._send_packet``)."""
    await server._send_packet(eio_sid, pkt)


def eio_packet_sender(server: Any) -> Callable[[str, Any], Any]:
    """The coroutine function that writes a ready Engine.IO packet (``_send_eio_packet``)."""
    return server._send_eio_packet  # type: ignore[no-any-return]


def message_packet(part: Any) -> Any:
    """An Engine.IO MESSAGE packet carrying one encoded Socket.IO part."""
    return eio_packet.Packet(eio_packet.MESSAGE, part)


async def trigger_event(target: Any, event: str, namespace: str, *args: Any) -> Any:
    """Run an app handler the way python-socketio does (server or client ``_trigger_event``)."""
    if not args:
        # python-socketio's own calls name the namespace when nothing follows it
        return await target._trigger_event(event, namespace=namespace)
    return await target._trigger_event(event, namespace, *args)


def handler(target: Any, namespace: str, event: str) -> Callable[..., Any] | None:
    """The handler a server or client registered for ``event`` in ``namespace`` with
    ``on()`` / ``event``, or None (class-based namespaces are not looked in)."""
    return target.handlers.get(namespace, {}).get(event)  # type: ignore[no-any-return]


def handled_namespaces(target: Any) -> set[str]:
    """The namespaces a server or client has handlers for: ``on()`` or a Namespace class."""
    return set(target.handlers) | set(target.namespace_handlers)


def engineio_has_handler(client: Any, event: str) -> bool:
    """Whether a python-engineio client has a handler for ``event`` (``on()`` registered it)."""
    return event in client.handlers


def flask_registrations(socketio: Any) -> tuple[list[Any], list[Any]]:
    """What was registered on a Flask-SocketIO ``SocketIO`` (``FLASK_ATTRIBUTES``): its
    ``(event, handler, namespace)`` list and its Namespace classes."""
    return socketio.handlers, socketio.namespace_handlers


def pubsub_listener(server: Any) -> asyncio.Task[Any] | None:
    """The task a pub/sub manager (``AsyncRedisManager``...) listens in; python-socketio
    never ends it, not even at ``shutdown()``. None for the default manager."""
    task = getattr(server.manager, "thread", None)
    return task if isinstance(task, asyncio.Task) else None


def no_ack(server: Any) -> Any:
    """What an event handler returns so that python-socketio sends no ACK (``not_handled``)."""
    return server.not_handled


def environ_of(server: Any, eio_sid: str) -> dict[str, Any]:
    """The WSGI/ASGI environ python-socketio saved for an Engine.IO connection."""
    return server.environ.get(eio_sid, {})  # type: ignore[no-any-return]


def in_binary_packet(server: Any, eio_sid: str) -> bool:
    """Whether the next message of this connection is an attachment of a binary packet."""
    return eio_sid in server._binary_packet


def engineio_socket(server: Any, eio_sid: str) -> Any | None:
    """The python-engineio socket of a connection, or None once it is gone."""
    return server.eio.sockets.get(eio_sid)


def asgi_send(server: Any, eio_sid: str) -> Any:
    """The ASGI ``send`` callable of a connection's first request, or None.

    engineio's ASGI environ keeps it as ``asgi.send``. For a connection that
    opened straight on WebSocket it is the WebSocket's ``send``; for one that
    began with long-polling, that HTTP request's.
    """
    return environ_of(server, eio_sid).get("asgi.send")


def writer_is_idle(socket: Any) -> bool:
    """Whether engineio's WebSocket writer for this socket has written all it was given.

    Its queue is empty and its task waits in ``queue.get()``: a packet that
    was taken from the queue but not yet written leaves no getter waiting, so
    a write made now cannot overtake one engineio still holds.
    """
    queue = socket.queue
    return bool(socket.upgraded and not socket.upgrading and not socket.closed
                and not socket.closing and queue.empty() and queue._getters)


def socket_is_closing(socket: Any | None) -> bool:
    """Whether an Engine.IO socket is gone, closed or closing."""
    return socket is None or bool(socket.closed) or bool(socket.closing)


def unanswered_ping(socket: Any | None) -> float | None:
    """The wall-clock time of the ping this socket has not answered yet, or None.

    python-engineio sets ``last_ping`` as it sends a ping and clears it when the pong comes.
    """
    return getattr(socket, "last_ping", None) or None


async def cut_transport(server: Any, eio_sid: str) -> bool:
    """Close a connection abruptly, as a network failure would (the client sees a drop).

    Returns whether there was an open connection to close.
    """
    socket: Any = engineio_socket(server, eio_sid)
    if socket_is_closing(socket):
        return False
    await socket.close(wait=False, abort=True, reason=disconnect_reasons(server).TRANSPORT_CLOSE)
    socket.queue.put_nowait(None)  # wakes its writer, which closes the WebSocket
    return True


def disconnect_reasons(server: Any) -> Any:
    """python-engineio's names of why a connection ended (``TRANSPORT_CLOSE``, ``PING_TIMEOUT``...)."""
    return server.eio.reason


def session_dicts(socket: Any | None) -> dict[str, Any]:
    """The per-namespace session dicts python-socketio keeps on an Engine.IO socket."""
    return socket.session if socket is not None else {}


def pending_connect(manager: Any) -> dict[str, Any]:
    """The manager's namespace -> [sid] of connections not yet accepted (5.17+)."""
    return manager.pending_connect  # type: ignore[no-any-return]


def pending_disconnect(manager: Any) -> dict[str, Any]:
    """The manager's namespace -> [sid] of connections being disconnected."""
    return manager.pending_disconnect  # type: ignore[no-any-return]


def is_pubsub(manager: Any) -> bool:
    """Whether a client manager shares its rooms and emits with other servers."""
    return isinstance(manager, AsyncPubSubManager)


def wrap_manager_method(manager: Any, name: str,
                        make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace one of ``MANAGER_WRAPPED`` or ``PUBSUB_WRAPPED`` on this manager instance by
    ``make(original)``."""
    if name not in MANAGER_WRAPPED and name not in PUBSUB_WRAPPED:
        raise KeyError(f"{name} is not a manager method declared in chatlib.sio.compat")
    setattr(manager, name, make(getattr(manager, name)))


# -- client -----------------------------------------------------------------

async def client_send_packet(client: Any, pkt: Any) -> None:
    """Write one Socket.IO packet from a client (``AsyncClient._send_packet``)."""
    await client._send_packet(pkt)


async def real_value(client: Any, value: Any) -> Any:
    """``auth`` (or headers) as given: a value, or what a callable returns."""
    return await client._get_real_value(value)


def connected_event(client: Any) -> Any:
    """The event python-socketio's ``connect()`` waits on for every namespace's reply."""
    return client._connect_event


def last_connection(client: Any) -> dict[str, Any]:
    """The arguments of the client's last ``connect()`` call, as python-socketio saved them."""
    return dict(url=client.connection_url, headers=client.connection_headers,
                auth=client.connection_auth, transports=client.connection_transports,
                namespaces=client.connection_namespaces, socketio_path=client.socketio_path)


def fresh_send_queue(client: Any) -> None:
    """Give python-engineio's client a new send queue.

    It keeps one queue for every connection and loses a ``task_done()`` at each
    disconnect, so ``queue.join()`` would never return again.
    """
    client.eio.queue = client.eio.create_queue()


def send_queue(client: Any) -> Any:
    """python-engineio's client send queue (``join()`` waits until it is written)."""
    return client.eio.queue


def silence_engineio(client: Any, silent: bool) -> None:
    """Make the client's Engine.IO layer send nothing and handle nothing (or undo it).

    Its ``_send_packet`` and ``_receive_packet`` are replaced on the instance,
    so pongs and packets stay unsent and what arrives is ignored; nothing closes.
    """
    eio = client.eio
    if silent:
        async def nothing(pkt: Any) -> None:
            return None

        eio._send_packet = nothing
        eio._receive_packet = nothing
    else:
        eio.__dict__.pop("_send_packet", None)
        eio.__dict__.pop("_receive_packet", None)


async def close_transport(client: Any) -> None:
    """Cut the client's transport as a network loss would: no DISCONNECT, no CLOSE sent.

    Over WebSocket the socket is closed under python-engineio and its read loop
    ends; over long-polling, which has no connection to cut, a bare Engine.IO
    CLOSE is posted, as the JS client's ``engine.close()`` does, and the client
    stops at once.
    """
    eio = client.eio
    if eio.current_transport == "websocket" and eio.ws is not None:
        await eio.ws.close()
        if eio.read_loop_task is not None:
            await eio.read_loop_task
        return
    close = eio_payload.Payload(packets=[eio_packet.Packet(eio_packet.CLOSE)])
    await eio._send_request("POST", eio.base_url, body=close.encode(),
                            headers={"Content-Type": "text/plain"}, timeout=eio.request_timeout)
    await eio.disconnect(abort=True)


# -- threaded server and client (chatlib.sio.sync_server, sync_client) --------
#
# The same private names as above on python-socketio's threaded classes, where
# the call differs (no await); reads that are the same (``environ_of``,
# ``engineio_socket``, ``pending_connect``...) are shared with asyncio.

def send_packet_sync(server: Any, eio_sid: str, pkt: Any) -> None:
    """Encode and queue one Socket.IO packet to a client (``Server._send_packet``)."""
    server._send_packet(eio_sid, pkt)


def trigger_event_sync(target: Any, event: str, namespace: str, *args: Any) -> Any:
    """Run an app handler the way python-socketio does (``Server``/``Client._trigger_event``)."""
    if not args:
        return target._trigger_event(event, namespace=namespace)
    return target._trigger_event(event, namespace, *args)


def replace_eio_packet_sender(server: Any, make: Callable[[Any], Any]) -> None:
    """Put ``make(current)`` in place of a server instance's ``_send_eio_packet``.

    Flask-SocketIO's test client replaces that method on the instance with its
    own; ``chatlib.flask`` wraps the test client's.
    """
    server._send_eio_packet = make(server._send_eio_packet)


def is_sync_pubsub(manager: Any) -> bool:
    """Whether a threaded client manager shares its rooms and emits with other servers."""
    return isinstance(manager, PubSubManager)


def cut_transport_sync(server: Any, eio_sid: str) -> bool:
    """Close a connection abruptly, as a network failure would (threaded ``cut_transport``)."""
    socket: Any = engineio_socket(server, eio_sid)
    if socket_is_closing(socket):
        return False
    socket.close(wait=False, abort=True, reason=server.eio.reason.TRANSPORT_CLOSE)
    return True


def client_send_packet_sync(client: Any, pkt: Any) -> None:
    """Write one Socket.IO packet from a threaded client (``Client._send_packet``)."""
    client._send_packet(pkt)


def real_value_sync(client: Any, value: Any) -> Any:
    """``auth`` as given: a value, or what a callable returns (``Client._get_real_value``)."""
    return client._get_real_value(value)


def close_transport_sync(client: Any) -> None:
    """Cut a threaded client's transport as a network loss would: no DISCONNECT, no CLOSE.

    Over WebSocket the socket is shut under python-engineio, whose read loop
    then ends with "transport error"; over long-polling a bare Engine.IO CLOSE
    is posted and the client stops at once.
    """
    eio = client.eio
    if eio.current_transport == "websocket" and eio.ws is not None:
        # shutdown() wakes the read loop blocked in recv(); closing the fd alone would not
        sock = eio.ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(SHUT_RDWR)
        eio.ws.shutdown()
        if eio.read_loop_task is not None:
            eio.read_loop_task.join()
        return
    close = eio_payload.Payload(packets=[eio_packet.Packet(eio_packet.CLOSE)])
    eio._send_request("POST", eio.base_url, body=close.encode(),
                      headers={"Content-Type": "text/plain"}, timeout=eio.request_timeout)
    eio.disconnect(abort=True)
