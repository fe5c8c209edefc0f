"""RecoveryClient: python-socketio's AsyncClient that recovers its session like the JS client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio
from socketio import exceptions as sio_exceptions
from socketio import packet as sio_packet

from . import compat
from .client_state import PendingEmit, RecoveringClient, require_known, take_pending
from .delivery import DeliveryQueue
from .utf8 import utf8_packet_class

logger = logging.getLogger(__name__)

_FLUSH_TIMEOUT = 5.0
# A restore may wait for a silent server to be taken as gone (shared stores); the
# JS client waits 20 s for a CONNECT reply, python-socketio's connect() only 1 s.
_RECONNECT_WAIT = 10.0


class RecoveryClient(RecoveringClient, socketio.AsyncClient):  # type: ignore[misc]  # untyped base
    """A python-socketio ``AsyncClient`` that speaks Socket.IO's connection state recovery.

    It keeps the pid from the server's CONNECT reply and the offset of the
    last event received, sends both in the CONNECT of every reconnection
    (merged with ``auth``), and strips the offset so handlers get exactly
    what the server emitted. Like the JS client it dispatches events that
    arrive before the CONNECT reply right after it, and queues emits made
    while disconnected until the next connect. Unlike python-socketio's
    client it leaves SIGINT alone by default (``handle_sigint=False``), so it
    is safe inside a Jupyter kernel.

    ``retries=N`` (with ``ack_timeout=seconds``) are the JS client's
    ``retries``/``ackTimeout``: emits are queued and sent one at a time, each
    waits for its ack and is sent again up to N times (``chatlib.sio.delivery``).
    ``emit`` then returns a future of the ack's value; a packet that is never
    acknowledged makes that future, and ``call``, raise ``chatlib.DeliveryError``.

    Example::

        client = chatlib.RecoveryClient()

        @client.on("chat message")
        async def on_message(text):
            print(text)

        await client.connect("http://localhost:3000")
        await client.drop()        # a simulated network loss
        await client.reconnect()   # same sid, missed messages delivered
        assert client.recovered

        sender = chatlib.RecoveryClient(retries=3, ack_timeout=2.0)
        await sender.connect("http://localhost:3000")
        await sender.call("chat message", "hello")   # acked, or DeliveryError after 4 tries
    """

    #: python-socketio's (set by its ``__init__``), declared for the type checker
    reconnection: bool

    def __init__(self, *args: Any, retries: int | None = None,
                 ack_timeout: float | None = None, **kwargs: Any) -> None:
        # python-engineio's SIGINT handler disconnects every client and cancels
        # every task on the loop: inside a Jupyter kernel that kills the kernel.
        kwargs.setdefault("handle_sigint", False)
        super().__init__(*args, **kwargs)
        # "más" on the wire as the JS client writes it, not "m\u00e1s"
        self.packet_class: type = utf8_packet_class(
            self.packet_class, socketio.AsyncClient.__init__, args, kwargs)
        self._start_recovering(DeliveryQueue, retries, ack_timeout)

    # -- emitting --------------------------------------------------------

    async def emit(self, event: str, data: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> asyncio.Future[Any] | None:
        """Emit an event; while the namespace is disconnected it waits in ``pending``.

        With ``retries`` it joins the delivery queue and this returns the future
        of its ack's value (or of ``DeliveryError``) at once.
        """
        namespace = namespace or "/"
        self._require_known(namespace)
        if self._delivery is not None:
            return self._delivery.submit(event, data, namespace, callback)  # type: ignore[no-any-return]
        if namespace not in self.namespaces:
            self._pending.append(PendingEmit(event, data, namespace, callback))
            return None
        await super().emit(event, data=data, namespace=namespace, callback=callback)
        return None

    async def call(self, event: str, data: Any = None, namespace: str | None = None,
                   timeout: float | None = None) -> Any:
        """Emit an event and return the server's ack (python-socketio's ``call``).

        Without ``retries`` ``timeout`` defaults to 60 s, as in python-socketio.
        With ``retries`` it is the wait of each try (default ``ack_timeout``), as
        ``socket.timeout(ms).emitWithAck()`` in JS, and the packet's last failed try
        raises ``DeliveryError``; while disconnected it waits for the next connect.
        """
        if self._delivery is None:
            return await super().call(event, data=data, namespace=namespace,
                                      timeout=60 if timeout is None else timeout)
        namespace = namespace or "/"
        self._require_known(namespace)
        return await self._delivery.submit(event, data, namespace, timeout=timeout)

    async def _send_try(self, event: str, data: Any, namespace: str,
                        on_ack: Callable[..., None]) -> None:
        await super().emit(event, data=data, namespace=namespace, callback=on_ack)

    def _require_known(self, namespace: str) -> None:
        require_known(self, self._states, namespace)

    async def _flush_pending(self, namespace: str) -> None:
        waiting, self._pending = take_pending(self._pending, namespace)
        for item in waiting:
            await super().emit(item.event, data=item.data, namespace=namespace,
                               callback=item.callback)

    # -- drop and reconnect ----------------------------------------------

    async def drop(self) -> None:
        """Lose the connection as a network failure would: no DISCONNECT, no reconnection.

        The transport is closed under the Engine.IO client, so the server sees
        a transport close and keeps the session; call ``reconnect()`` to come back.
        """
        if self.eio.state != "connected":
            return
        self._dropping = True
        try:
            await compat.close_transport(self)
        finally:
            self._dropping = False

    async def reconnect(self, **overrides: Any) -> None:
        """Connect again to the last URL, presenting the pid and last offset.

        ``overrides`` replace the arguments of the last ``connect`` call (``url``
        included: with a shared store another server can restore the session).
        """
        arguments = compat.last_connection(self)
        if arguments["url"] is None:
            raise sio_exceptions.ConnectionError("connect() was never called")
        arguments["wait_timeout"] = _RECONNECT_WAIT
        arguments.update(overrides)
        await self.connect(**arguments)

    async def connect(self, url: str, *args: Any, **kwargs: Any) -> None:
        # The pid is kept even for another URL: behind a load balancer, or with
        # a shared store, another server can restore the session.
        compat.fresh_send_queue(self)
        self._connecting = True
        try:
            await super().connect(url, *args, **kwargs)
        finally:
            self._connecting = False

    async def disconnect(self) -> None:
        """Leave cleanly: like the JS client's ``disconnect()``, this session is not recovered."""
        if not self._connecting:
            # python-socketio's connect() also calls disconnect() when a namespace
            # is refused; that is no reason to give up a session kept for us.
            for state in self._states.values():
                state.leave()
        for namespace in list(self.namespaces):
            await compat.client_send_packet(self, self.packet_class(sio_packet.DISCONNECT,
                                                                    namespace=namespace))
        if self.eio.state == "connected" and self.eio.current_transport == "websocket":
            # python-engineio closes the WebSocket without waiting for its send
            # queue, so the DISCONNECT could be lost and the server would see a
            # drop: let the queue drain first. (Long-polling's write loop posts
            # what is queued before it ends.)
            try:
                await asyncio.wait_for(compat.send_queue(self).join(), _FLUSH_TIMEOUT)
            except TimeoutError:
                logger.debug("DISCONNECT not flushed in time")
        await self.eio.disconnect()

    # -- protocol hooks --------------------------------------------------

    async def _handle_eio_connect(self) -> None:
        self.sid = self.eio.sid
        auth = await compat.real_value(self, compat.last_connection(self)["auth"]) or {}
        for namespace in self.connection_namespaces:
            data = self.state(namespace).connect_data(auth)
            await compat.client_send_packet(self, self.packet_class(
                sio_packet.CONNECT, data=data, namespace=namespace))

    async def _handle_connect(self, namespace: str | None, data: Any) -> None:
        taken = self._take_reply(namespace, data)
        if taken is None:
            return
        namespace, early = taken
        for ack_id, event_data in early:
            await self._dispatch_event(namespace, ack_id, event_data)
        await self._flush_pending(namespace)
        if self._delivery is not None:
            self._delivery.resume(namespace)
        await compat.trigger_event(self, "connect", namespace)
        compat.connected_event(self).set()

    async def _handle_event(self, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        state = self._states.get(namespace)
        if namespace not in self.namespaces and state is not None \
                and state.defer(namespace, id, data):
            return
        # otherwise as python-socketio does: dispatched, whatever the namespace
        await self._dispatch_event(namespace, id, data)

    async def _dispatch_event(self, namespace: str, id: Any, data: Any) -> None:
        data = self.state(namespace).strip_offset(id, data)
        await super()._handle_event(namespace, id, data)

    async def _handle_disconnect(self, namespace: str | None) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost(namespace or "/")
        await super()._handle_disconnect(namespace)

    async def _handle_eio_disconnect(self, reason: Any) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost()
        for state in self._states.values():
            state.connection_lost()
        if not self._dropping:
            await super()._handle_eio_disconnect(reason)
            return
        reconnection, self.reconnection = self.reconnection, False
        try:
            await super()._handle_eio_disconnect(reason)
        finally:
            self.reconnection = reconnection
