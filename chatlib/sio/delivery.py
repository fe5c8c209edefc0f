"""Emits that wait for their acknowledgement and are sent again: the JS client's ``retries``.

Theory of operation. socket.io-client 4.6 added two options, ``retries`` and
``ackTimeout`` (``lib/socket.ts``: ``_addToQueue``, ``_drainQueue``); python-socketio's
client has neither. With them, every emit of a namespace joins one queue, and the
queue sends one packet at a time, always with an ack id, and waits for that packet's
acknowledgement before it sends the next. One *try* of a packet ends in one of three
ways:

- the server acknowledges it: the packet leaves the queue, its callback gets the
  ack's arguments, and the next packet goes out;
- ``ack_timeout`` seconds pass without the ack: the try failed;
- the connection is lost: the try failed if ``ack_timeout`` is set; without a
  timeout a lost connection only means "send it again after the next connect", as
  in JS, where such a packet is never given up.

A failed packet is sent again (at once, or after the next connect) until it has
been sent ``retries + 1`` times; then it leaves the queue and is reported: the
future that ``emit`` returned raises :class:`DeliveryError` (so ``call`` raises it),
and a warning is logged. Its callback is not called: a callback receives what the
server acknowledged, never an error. Packets emitted while disconnected wait in the
queue, in order, and go out after the next connect.

An ack that comes after its try timed out is ignored, as in JS. The server then
has the packet twice: this is *at least once*. Exactly once needs the server's
help: the tutorial's step 8 sends a client offset with each message and lets a
UNIQUE constraint refuse the copy (``chatlib.chat.step7``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from socketio import exceptions as sio_exceptions

from .client_state import PendingEmit

logger = logging.getLogger(__name__)

#: sends one try: ``send(event, data, namespace, on_ack)``
Sender = Callable[[str, Any, str, Callable[..., None]], Awaitable[None]]

_TIMED_OUT = "timed out"
_LOST = "connection lost"


class DeliveryError(sio_exceptions.TimeoutError):  # type: ignore[misc]  # untyped base
    """An emit that was not acknowledged in ``retries + 1`` tries.

    A subclass of python-socketio's ``TimeoutError``, which ``call`` raises
    without retries, so code that catches that catches this too.

    Example::

        try:
            await client.call("chat message", "hello")
        except chatlib.DeliveryError as error:
            print(error.event, error.tries, error.reason)   # chat message 4 timed out
    """

    def __init__(self, event: str, namespace: str, tries: int, reason: str) -> None:
        super().__init__(f"{event!r} on namespace {namespace} was not acknowledged "
                         f"after {tries} tries (last: {reason})")
        self.event = event
        self.namespace = namespace
        self.tries = tries
        self.reason = reason


@dataclass(eq=False)
class QueuedEmit(PendingEmit):
    """An emit in the delivery queue (``retries=``), not yet acknowledged."""

    #: seconds each try waits for the ack; None: the queue's ``ack_timeout``
    timeout: float | None = None
    #: how many times it has been sent
    tries: int = 0
    #: what ``emit`` returns: the ack's value (as ``call`` returns it) or DeliveryError
    outcome: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


def ack_value(args: tuple[Any, ...]) -> Any:
    """What ``call`` returns for an ack: nothing, its one argument, or all of them as a tuple."""
    if not args:
        return None
    return args[0] if len(args) == 1 else args


def check_options(retries: Any, ack_timeout: Any) -> None:
    """Refuse a ``retries`` that is not a positive integer, an ``ack_timeout`` not positive."""
    if not isinstance(retries, int) or retries < 1:
        raise ValueError(f"retries must be a positive integer, not {retries!r}")
    if ack_timeout is not None and not ack_timeout > 0:
        raise ValueError(f"ack_timeout must be a positive number of seconds, "
                         f"not {ack_timeout!r}")


def judge_try(item: QueuedEmit, result: Any, retries: int,
              timeout: float | None) -> tuple[bool, BaseException | None]:
    """What one try's result means: (the packet leaves the queue, the error it is given up with).

    ``(True, None)``: acknowledged; ``(True, error)``: given up; ``(False, None)``:
    sent again (at once, or after the next connect).
    """
    if isinstance(result, tuple):
        return True, None
    if isinstance(result, BaseException):
        return True, result
    if result is _LOST and timeout is None:
        return False, None  # sent again after the next connect, never given up (as in JS)
    if item.tries > retries:
        return True, DeliveryError(item.event, item.namespace, item.tries, result)
    return False, None


class DeliveryQueue:
    """One queue per namespace; a namespace's packets are sent one at a time, in order.

    The client tells it when a namespace connects (``resume``) and when
    connections are lost (``connection_lost``); ``send`` emits one try with an
    ack callback (python-socketio's ``emit``).

    Example::

        queue = DeliveryQueue(send, retries=3, ack_timeout=1.0)
        outcome = queue.submit("chat message", "hello", "/")
        queue.resume("/")          # the namespace is connected: the first try goes out
        await outcome              # the ack's value, or DeliveryError after 4 tries
    """

    def __init__(self, send: Sender, retries: int, ack_timeout: float | None = None) -> None:
        check_options(retries, ack_timeout)
        self.retries = retries
        self.ack_timeout = ack_timeout
        self._send = send
        self._queues: dict[str, deque[QueuedEmit]] = {}
        self._connected: set[str] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    def submit(self, event: str, data: Any, namespace: str, callback: Callable[..., Any] | None = None,
               timeout: float | None = None) -> asyncio.Future[Any]:
        """Queue an emit; returns the future of its outcome."""
        item = QueuedEmit(event, data, namespace, callback, timeout)
        self._queues.setdefault(namespace, deque()).append(item)
        self._start(namespace)
        return item.outcome

    def waiting(self) -> list[QueuedEmit]:
        """Every emit not yet acknowledged, oldest first within each namespace."""
        return [item for queue in self._queues.values() for item in queue]

    def resume(self, namespace: str) -> None:
        """The namespace is connected: send its queue, the unacknowledged first packet again."""
        self._connected.add(namespace)
        self._start(namespace)

    def connection_lost(self, namespace: str | None = None) -> None:
        """One namespace (None: all) lost its connection: acks of tries in flight never come."""
        lost = [namespace] if namespace is not None else list(self._connected)
        for name in lost:
            self._connected.discard(name)
            attempt = self._in_flight.get(name)
            if attempt is not None and not attempt.done():
                attempt.set_result(_LOST)

    def _start(self, namespace: str) -> None:
        worker = self._workers.get(namespace)
        if (worker is None or worker.done()) and namespace in self._connected \
                and self._queues.get(namespace):
            self._workers[namespace] = asyncio.get_running_loop().create_task(
                self._drain(namespace), name=f"chatlib delivery {namespace}")

    async def _drain(self, namespace: str) -> None:
        queue = self._queues[namespace]
        while queue and namespace in self._connected:
            item = queue[0]
            result = await self._try(item)
            done, error = judge_try(item, result, self.retries, self._timeout(item))
            if not done:
                continue
            queue.popleft()
            if error is None:
                await self._acknowledged(item, result)
            else:
                self._give_up(item, error)

    def _timeout(self, item: QueuedEmit) -> float | None:
        return item.timeout if item.timeout is not None else self.ack_timeout

    async def _try(self, item: QueuedEmit) -> Any:
        """Send the packet once; the ack's arguments, ``_TIMED_OUT``, ``_LOST`` or an exception."""
        attempt = asyncio.get_running_loop().create_future()

        def on_ack(*args: Any) -> None:
            if not attempt.done():  # an ack after its try timed out is ignored, as in JS
                attempt.set_result(args)

        self._in_flight[item.namespace] = attempt
        item.tries += 1
        try:
            try:
                await self._send(item.event, item.data, item.namespace, on_ack)
            except sio_exceptions.BadNamespaceError:
                item.tries -= 1  # the connection went away just before the send: not a try
                return _LOST
            except Exception as error:  # the packet itself cannot be sent (not serialisable)
                return error
            try:
                return await asyncio.wait_for(attempt, self._timeout(item))
            except TimeoutError:
                return _TIMED_OUT
        finally:
            self._in_flight.pop(item.namespace, None)

    async def _acknowledged(self, item: QueuedEmit, args: tuple[Any, ...]) -> None:
        if item.callback is not None:
            try:
                result = item.callback(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("ack callback of event %r raised", item.event)
        if not item.outcome.done():
            item.outcome.set_result(ack_value(args))

    @staticmethod
    def _give_up(item: QueuedEmit, error: BaseException) -> None:
        give_up(item, error)
        if not item.outcome.cancelled():
            # Reported by the warning and to whoever awaits the future; without this, asyncio
            # would also log "exception was never retrieved" at garbage collection.
            item.outcome.exception()


def give_up(item: QueuedEmit, error: BaseException) -> None:
    """Report a packet that leaves the queue unacknowledged: a warning, and its future fails."""
    logger.warning("event %r on namespace %s given up: %s", item.event, item.namespace, error)
    if not item.outcome.done():
        item.outcome.set_exception(error)
