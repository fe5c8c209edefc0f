"""The threaded client's ``retries``: emits sent one at a time, each until it is acknowledged.

The twin of ``chatlib.sio.delivery`` (read its theory of operation) for
``chatlib.sync.RecoveryClient``: one worker thread per namespace sends the
queue's first packet and waits for its ack on an event; what a try's result
means is decided by ``delivery.judge_try``, shared with asyncio. ``emit``
returns a ``concurrent.futures.Future`` of the ack's value.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from socketio import exceptions as sio_exceptions

from .delivery import _LOST, _TIMED_OUT, QueuedEmit, ack_value, check_options, give_up, judge_try

logger = logging.getLogger("chatlib.client")

#: sends one try: ``send(event, data, namespace, on_ack)``
SyncSender = Callable[[str, Any, str, Callable[..., None]], None]


class _Attempt:
    """One try's outcome, set once by the ack or by a lost connection."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.result: Any = None

    def settle(self, result: Any) -> None:
        if not self._done.is_set():  # an ack after its try timed out is ignored, as in JS
            self.result = result
            self._done.set()

    def wait(self, timeout: float | None) -> Any:
        return self.result if self._done.wait(timeout) else _TIMED_OUT


class ThreadDeliveryQueue:
    """One queue per namespace, drained by one worker thread while the namespace is connected.

    Example::

        queue = ThreadDeliveryQueue(send, retries=3, ack_timeout=1.0)
        outcome = queue.submit("chat message", "hello", "/")
        queue.resume("/")          # the namespace is connected: the first try goes out
        outcome.result()           # the ack's value, or DeliveryError after 4 tries
    """

    def __init__(self, send: SyncSender, retries: int, ack_timeout: float | None = None) -> None:
        check_options(retries, ack_timeout)
        self.retries = retries
        self.ack_timeout = ack_timeout
        self._send = send
        self._lock = threading.Lock()
        self._queues: dict[str, deque[QueuedEmit]] = {}
        self._connected: set[str] = set()
        self._workers: dict[str, threading.Thread] = {}
        self._in_flight: dict[str, _Attempt] = {}

    def submit(self, event: str, data: Any, namespace: str, callback: Callable[..., Any] | None = None,
               timeout: float | None = None) -> Future[Any]:
        """Queue an emit; returns the future of its outcome."""
        item = QueuedEmit(event, data, namespace, callback, timeout, outcome=Future())  # type: ignore[arg-type]
        with self._lock:
            self._queues.setdefault(namespace, deque()).append(item)
            self._start(namespace)
        return item.outcome  # type: ignore[return-value]

    def waiting(self) -> list[QueuedEmit]:
        """Every emit not yet acknowledged, oldest first within each namespace."""
        with self._lock:
            return [item for queue in self._queues.values() for item in queue]

    def resume(self, namespace: str) -> None:
        """The namespace is connected: send its queue, the unacknowledged first packet again."""
        with self._lock:
            self._connected.add(namespace)
            self._start(namespace)

    def connection_lost(self, namespace: str | None = None) -> None:
        """One namespace (None: all) lost its connection: acks of tries in flight never come."""
        with self._lock:
            lost = [namespace] if namespace is not None else list(self._connected)
            for name in lost:
                self._connected.discard(name)
                attempt = self._in_flight.get(name)
                if attempt is not None:
                    attempt.settle(_LOST)

    def _start(self, namespace: str) -> None:
        if (namespace not in self._workers and namespace in self._connected
                and self._queues.get(namespace)):
            worker = threading.Thread(target=self._drain, args=(namespace,), daemon=True,
                                      name=f"chatlib delivery {namespace}")
            self._workers[namespace] = worker
            worker.start()

    def _drain(self, namespace: str) -> None:
        queue = self._queues[namespace]
        while True:
            with self._lock:
                if not queue or namespace not in self._connected:
                    del self._workers[namespace]
                    return
                item = queue[0]
            timeout = item.timeout if item.timeout is not None else self.ack_timeout
            result = self._try(item, timeout)
            done, error = judge_try(item, result, self.retries, timeout)
            if not done:
                continue
            with self._lock:
                queue.popleft()
            if error is None:
                self._acknowledged(item, result)
            else:
                give_up(item, error)

    def _try(self, item: QueuedEmit, timeout: float | None) -> Any:
        """Send the packet once; the ack's arguments, a timeout, a lost connection or an error."""
        attempt = _Attempt()
        with self._lock:
            if item.namespace not in self._connected:
                return _LOST
            self._in_flight[item.namespace] = attempt
        item.tries += 1
        try:
            try:
                self._send(item.event, item.data, item.namespace,
                           lambda *args: attempt.settle(args))
            except sio_exceptions.BadNamespaceError:
                item.tries -= 1  # the connection went away just before the send: not a try
                return _LOST
            except Exception as error:  # the packet itself cannot be sent (not serialisable)
                return error
            return attempt.wait(timeout)
        finally:
            with self._lock:
                self._in_flight.pop(item.namespace, None)

    @staticmethod
    def _acknowledged(item: QueuedEmit, args: tuple[Any, ...]) -> None:
        if item.callback is not None:
            try:
                item.callback(*args)
            except Exception:
                logger.exception("ack callback of event %r raised", item.event)
        if not item.outcome.done():
            item.outcome.set_result(ack_value(args))
