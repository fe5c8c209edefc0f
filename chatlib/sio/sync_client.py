"""The threaded RecoveryClient: python-socketio's ``Client`` that recovers like the JS client."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import engineio
import socketio
from socketio import exceptions as sio_exceptions
from socketio import packet as sio_packet

from . import compat
from .client_state import PendingEmit, RecoveringClient, require_known, take_pending
from .sync_delivery import ThreadDeliveryQueue

logger = logging.getLogger("chatlib.client")

_FLUSH_TIMEOUT = 5.0
# as RecoveryClient's: a restore may wait for a silent server to be taken as gone
_RECONNECT_WAIT = 10.0
_ACK = str(sio_packet.ACK)  # an ACK packet's first character


class OrderedEngineioClient(engineio.Client):  # type: ignore[misc]  # untyped base
    """python-engineio's threaded client, with every message handled in arrival order.

    python-engineio starts a thread per message, so two events can reach their
    handlers in either order, and the offset kept could be an older one. Here
    one worker at a time takes the messages in the order they were read; an
    acknowledgement (``3...``) is handled at once on the read loop, so that a
    handler waiting in ``call()`` for one does not wait behind itself.

    A message still waiting when its connection is replaced by a new one is
    not handled: the new CONNECT was sent with the offset of the last event
    handled, so the restore replays that message once (handled late, it
    would be delivered twice).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_order: deque[tuple[int, tuple[Any, ...]]] = deque()
        self._order_lock = threading.Lock()
        self._draining = False
        self._connection = 0  # counts Engine.IO connections: a message belongs to one

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect":
            with self._order_lock:
                self._connection += 1
        if (event != "message" or not kwargs.get("run_async")
                or not compat.engineio_has_handler(self, event)):
            return super()._trigger_event(event, *args, **kwargs)
        data = args[0] if args else None
        if isinstance(data, str) and data.startswith(_ACK):
            return super()._trigger_event(event, *args, run_async=False)
        with self._order_lock:
            self._in_order.append((self._connection, args))
            if self._draining:
                return None
            self._draining = True
        return self.start_background_task(self._drain_in_order)

    def _drain_in_order(self) -> None:
        while True:
            with self._order_lock:
                if not self._in_order:
                    self._draining = False
                    return
                connection, args = self._in_order.popleft()
                current = connection == self._connection
            if current:
                super()._trigger_event("message", *args, run_async=False)


class RecoveryClient(RecoveringClient, socketio.Client):  # type: ignore[misc]  # untyped base
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

    #: python-socketio's (set by its ``__init__``), declared for the type checker
    reconnection: bool

    def __init__(self, *args: Any, retries: int | None = None,
                 ack_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._start_recovering(ThreadDeliveryQueue, retries, ack_timeout)

    def _engineio_client_class(self) -> type:
        return OrderedEngineioClient

    # -- emitting --------------------------------------------------------

    def emit(self, event: str, data: Any = None, namespace: str | None = None,
             callback: Callable[..., Any] | None = None) -> Future[Any] | None:
        """Emit an event; while the namespace is disconnected it waits in ``pending``.

        With ``retries`` it joins the delivery queue and this returns the future
        of its ack's value (or of ``DeliveryError``) at once.
        """
        namespace = namespace or "/"
        require_known(self, self._states, namespace)
        if self._delivery is not None:
            return self._delivery.submit(event, data, namespace, callback)  # type: ignore[no-any-return]
        if namespace not in self.namespaces:
            self._pending.append(PendingEmit(event, data, namespace, callback))
            return None
        super().emit(event, data=data, namespace=namespace, callback=callback)
        return None

    def call(self, event: str, data: Any = None, namespace: str | None = None,
             timeout: float | None = None) -> Any:
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

    def _handle_connect(self, namespace: str | None, data: Any) -> None:
        taken = self._take_reply(namespace, data)
        if taken is None:
            return
        namespace, early = taken
        for ack_id, event_data in early:
            self._dispatch_event(namespace, ack_id, event_data)
        self._flush_pending(namespace)
        if self._delivery is not None:
            self._delivery.resume(namespace)
        compat.trigger_event_sync(self, "connect", namespace)
        compat.connected_event(self).set()

    def _handle_event(self, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        state = self._states.get(namespace)
        if namespace not in self.namespaces and state is not None \
                and state.defer(namespace, id, data):
            return
        self._dispatch_event(namespace, id, data)

    def _dispatch_event(self, namespace: str, id: Any, data: Any) -> None:
        data = self.state(namespace).strip_offset(id, data)
        super()._handle_event(namespace, id, data)

    def _handle_disconnect(self, namespace: str | None) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost(namespace or "/")
        super()._handle_disconnect(namespace)

    def _handle_eio_disconnect(self, reason: Any) -> None:
        if self._delivery is not None:
            self._delivery.connection_lost()
        for state in self._states.values():
            state.connection_lost()
        if not self._dropping:
            super()._handle_eio_disconnect(reason)
            return
        reconnection, self.reconnection = self.reconnection, False
        try:
            super()._handle_eio_disconnect(reason)
        finally:
            self.reconnection = reconnection
