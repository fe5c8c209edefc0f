"""The threaded RecoveryClient: python-socketio's ``Client`` that recovers like the JS client."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any, Callable, Optional

import socketio
from socketio import exceptions as sio_exceptions
from socketio import packet as sio_packet

from . import compat
from .client_state import NamespaceState, PendingEmit, require_known, take_pending
from .delivery import QueuedEmit
from .redact import redact_pids
from .sync_delivery import ThreadDeliveryQueue

logger = logging.getLogger("chatlib.client")

_FLUSH_TIMEOUT = 5.0
# as RecoveryClient's: a restore may wait for a silent server to be taken as gone
_RECONNECT_WAIT = 10.0


class RecoveryClient(socketio.Client):
    """A python-socketio ``Client`` (threads) that speaks Socket.IO's connection state recovery.

    The threaded twin of ``chatlib.RecoveryClient``: it keeps the pid and the
    last offset, presents both on every reconnection, strips the offset
    before handlers see an event, dispatches events that came before the
    CONNECT reply right after it, and queues emits made while disconnected.
    ``retries=N`` with ``ack_timeout=seconds`` are the JS client's
    ``retries``/``ackTimeout``: ``emit`` then returns a
    ``concurrent.futures.Future`` of the ack's value, and ``call`` raises
    ``chatlib.DeliveryError`` for a packet never acknowledged.

    Example::

        import chatlib.sync
        client = chatlib.sync.RecoveryClient()

        @client.on("chat message")
        def on_message(text):
            print(text)

        client.connect("http://localhost:5000")
        client.drop()        # a simulated network loss
        client.reconnect()   # same sid, missed messages delivered
        assert client.recovered
    """

    def __init__(self, *args: Any, retries: Optional[int] = None,
                 ack_timeout: Optional[float] = None, **kwargs: Any) -> None:
        kwargs.setdefault("handle_sigint", False)
        super().__init__(*args, **kwargs)
        redact_pids(self.logger)
        redact_pids(self.eio.logger)
        self._states: dict[str, NamespaceState] = {}
        self._pending: list[PendingEmit] = []
        self._dropping = False
        self._connecting = False
        if ack_timeout is not None and not retries:
            raise ValueError("ack_timeout applies to retries: give retries too")
        self._delivery = (ThreadDeliveryQueue(self._send_try, retries, ack_timeout)
                          if retries else None)

    # -- what the user reads ---------------------------------------------

    def state(self, namespace: Optional[str] = None) -> NamespaceState:
        """The recovery state of a namespace (default ``/``)."""
        return self._states.setdefault(namespace or "/", NamespaceState())

    @property
    def pid(self) -> Optional[str]:
        """The private session id of the default namespace (a secret: do not log or share it)."""
        return self.state().pid

    @property
    def last_offset(self) -> Optional[str]:
        """The offset of the last stored event received in the default namespace."""
        return self.state().last_offset

    @property
    def recovered(self) -> bool:
        """Whether the last connection of the default namespace restored the previous session."""
        return self.state().recovered

    @property
    def pending(self) -> list[PendingEmit | QueuedEmit]:
        """Emits waiting for a connection, oldest first; with ``retries``, all not yet acked."""
        if self._delivery is not None:
            return list(self._delivery.waiting())
        return list(self._pending)

    # -- emitting --------------------------------------------------------

    def emit(self, event: str, data: Any = None, namespace: Optional[str] = None,
             callback: Optional[Callable] = None) -> Optional[Future]:
        """Emit an event; while the namespace is disconnected it waits in ``pending``.

        With ``retries`` it joins the delivery queue and this returns the future
        of its ack's value (or of ``DeliveryError``) at once.
        """
        namespace = namespace or "/"
        require_known(self, self._states, namespace)
        if self._delivery is not None:
            return self._delivery.submit(event, data, namespace, callback)
        if namespace not in self.namespaces:
            self._pending.append(PendingEmit(event, data, namespace, callback))
            return None
        super().emit(event, data=data, namespace=namespace, callback=callback)
        return None

    def call(self, event: str, data: Any = None, namespace: Optional[str] = None,
             timeout: Optional[float] = None) -> Any:
        """Emit an event and return the server's ack (python-socketio's ``call``).

        With ``retries``, ``timeout`` is the wait of each try (default
        ``ack_timeout``) and the last failed try raises ``DeliveryError``.
        """
        if self._delivery is None:
            return super().call(event, data=data, namespace=namespace,
                                timeout=60 if timeout is None else timeout)
        namespace = namespace or "/"
        require_known(self, self._states, namespace)
        return self._delivery.submit(event, data, namespace, timeout=timeout).result()

    def _send_try(self, event: str, data: Any, namespace: str,
                  on_ack: Callable[..., None]) -> None:
        super().emit(event, data=data, namespace=namespace, callback=on_ack)

    def _flush_pending(self, namespace: str) -> None:
        waiting, self._pending = take_pending(self._pending, namespace)
        for item in waiting:
            super().emit(item.event, data=item.data, namespace=namespace, callback=item.callback)

    # -- drop and reconnect ----------------------------------------------

    def drop(self) -> None:
        """Lose the connection as a network failure would: no DISCONNECT, no reconnection."""
        if self.eio.state != "connected":
            return
        self._dropping = True
        try:
            compat.close_transport_sync(self)
        finally:
            self._dropping = False

    def reconnect(self, **overrides: Any) -> None:
        """Connect again to the last URL, presenting the pid and last offset."""
        arguments = compat.last_connection(self)
        if arguments["url"] is None:
            raise sio_exceptions.ConnectionError("connect() was never called")
        arguments["wait_timeout"] = _RECONNECT_WAIT
        arguments.update(overrides)
        self.connect(**arguments)

    def connect(self, url: str, *args: Any, **kwargs: Any) -> None:
        compat.fresh_send_queue(self)
        self._connecting = True
        try:
            super().connect(url, *args, **kwargs)
        finally:
            self._connecting = False

    def disconnect(self) -> None:
        """Leave cleanly: like the JS client's ``disconnect()``, this session is not recovered."""
        if not self._connecting:
            for state in self._states.values():
                state.leave()
        for namespace in list(self.namespaces):
            compat.client_send_packet_sync(self, self.packet_class(sio_packet.DISCONNECT,
                                                                   namespace=namespace))
        if self.eio.state == "connected" and self.eio.current_transport == "websocket":
            # python-engineio closes the WebSocket without waiting for its send queue
            queue = compat.send_queue(self)
            with queue.all_tasks_done:
                if not queue.all_tasks_done.wait_for(lambda: not queue.unfinished_tasks,
                                                      _FLUSH_TIMEOUT):
                    logger.debug("DISCONNECT not flushed in time")
        self.eio.disconnect()

    # -- protocol hooks --------------------------------------------------

    def _handle_eio_connect(self) -> None:
        self.sid = self.eio.sid
        auth = compat.real_value_sync(self, compat.last_connection(self)["auth"]) or {}
        for namespace in self.connection_namespaces:
            data = self.state(namespace).connect_data(auth)
            compat.client_send_packet_sync(self, self.packet_class(
                sio_packet.CONNECT, data=data, namespace=namespace))

    def _handle_connect(self, namespace: Optional[str], data: Any) -> None:
        namespace = namespace or "/"
        if namespace in self.namespaces:
            return
        state = self.state(namespace)
        self.namespaces[namespace] = state.accept_reply(data, self.sid)
        logger.info("namespace %s connected (recovered: %s)", namespace, state.recovered)
        for ack_id, event_data in state.take_early():
            self._dispatch_event(namespace, ack_id, event_data)
        self._flush_pending(namespace)
        if self._delivery is not None:
            self._delivery.resume(namespace)
        compat.trigger_event_sync(self, "connect", namespace)
        compat.connected_event(self).set()

    def _handle_event(self, namespace: Optional[str], id: Any, data: Any) -> None:
        namespace = namespace or "/"
        state = self._states.get(namespace)
        if namespace not in self.namespaces and state is not None \
                and state.defer(namespace, id, data):
            return
        self._dispatch_event(namespace, id, data)

    def _dispatch_event(self, namespace: str, id: Any, data: Any) -> None:
        data = self.state(namespace).strip_offset(id, data)
        super()._handle_event(namespace, id, data)

    def _handle_disconnect(self, namespace: Optional[str]) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost(namespace or "/")
        super()._handle_disconnect(namespace)

    def _handle_eio_disconnect(self, reason: Any) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost()
        for state in self._states.values():
            state.connection_lost()
        if not self._dropping:
            return super()._handle_eio_disconnect(reason)
        reconnection, self.reconnection = self.reconnection, False
        try:
            super()._handle_eio_disconnect(reason)
        finally:
            self.reconnection = reconnection
