"""What recovery adds to a python-socketio client manager instance: one hook per wrapped method.

``attach(manager, router)`` installs a :class:`ManagerHooks` on a manager instance (the
default ``AsyncManager`` or any pub/sub manager such as ``AsyncRedisManager``); the
manager's class stays the user's. Each hook takes the instance's original method first,
then that method's own parameters, which ``compat.MANAGER_WRAPPED`` and
``compat.PUBSUB_WRAPPED`` name and ``tests/sio/test_compat.py`` checks against python-socketio:

- ``emit``: an event without an ack goes to the router (stored, offset, written once);
- ``enter_room``, ``leave_room``, ``close_room``, ``disconnect``: the store is told;
- on a pub/sub manager, the handlers of what other servers publish: their emits stored here
  too (with a private store), their room changes told. Such a manager closes rooms through
  ``_handle_close_room``, here and elsewhere, so its ``close_room`` is left alone.

Everything else, acks and remote disconnects included, stays the manager's.

Example::

    router = RecoveryRouter(server, server.manager, store)
    attach(server.manager, router)     # RecoveryServer does this for its own manager
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from socketio.async_manager import AsyncManager

from . import compat
from .common import install_hooks, published_data, stored_upstream
from .manager import RecoveryRouter


class ManagerHooks:
    """Recovery's side of one manager instance's methods (see the module's docstring)."""

    def __init__(self, manager: AsyncManager, router: RecoveryRouter) -> None:
        self.manager = manager
        self.router = router
        self.pubsub = compat.is_pubsub(manager)

    # -- the manager's own methods (compat.MANAGER_WRAPPED) ----------------

    async def emit(self, original: Callable[..., Any], event: str, data: Any,
                   namespace: str | None = None, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        namespace = namespace or "/"
        if stored_upstream(callback, self.pubsub, self.router.store, kwargs):
            return await original(event, data, namespace, room=room, skip_sid=skip_sid,
                                  callback=callback, to=to, **kwargs)
        await self.router.emit(event, data, namespace, to or room, skip_sid)
        return None

    async def enter_room(self, original: Callable[..., Any], sid: Any, namespace: Any, room: Any,
                         eio_sid: Any = None) -> Any:
        result = await original(sid, namespace, room, eio_sid=eio_sid)
        self.router.joined(sid, namespace, room)
        return result

    async def leave_room(self, original: Callable[..., Any], sid: Any, namespace: Any,
                         room: Any) -> Any:
        result = await original(sid, namespace, room)
        self.router.left(sid, namespace, room)
        return result

    async def close_room(self, original: Callable[..., Any], room: Any,
                         namespace: Any = None) -> Any:
        return await self._closing(namespace, room, original(room, namespace))

    async def disconnect(self, original: Callable[..., Any], sid: Any, namespace: Any = None,
                         **kwargs: Any) -> Any:
        self.router.forget(sid, namespace or "/")
        return await original(sid, namespace, **kwargs)

    # -- what other servers publish (compat.PUBSUB_WRAPPED) ----------------

    async def _handle_emit(self, original: Callable[..., Any], message: dict[str, Any]) -> Any:
        if message.get("callback") is not None or self.router.store.shared:
            # acks stay python-socketio's; with a shared store, stored events come
            # through its feed, so a published one was sent without recovery
            return await original(message)
        await self.router.emit(message.get("event"),  # type: ignore[arg-type]
                               published_data(message),
                               message.get("namespace") or "/", message.get("room"),
                               message.get("skip_sid"))
        return None

    async def _handle_enter_room(self, original: Callable[..., Any], message: dict[str, Any]) -> Any:
        result = await original(message)
        self.router.joined(message.get("sid"), message.get("namespace"), message.get("room"))
        return result

    async def _handle_leave_room(self, original: Callable[..., Any], message: dict[str, Any]) -> Any:
        result = await original(message)
        self.router.left(message.get("sid"), message.get("namespace"), message.get("room"))
        return result

    async def _handle_close_room(self, original: Callable[..., Any], message: dict[str, Any]) -> Any:
        return await self._closing(message.get("namespace"), message.get("room"),
                                   original(message))

    async def _closing(self, namespace: Any, room: Any, closing: Any) -> Any:
        """Close a room (``closing``: the original call, not yet awaited); every member leaves."""
        namespace = namespace or "/"
        members = [sid for sid, _ in self.manager.get_participants(namespace, room)]
        result = await closing
        for sid in members:
            self.router.left(sid, namespace, room)
        return result


def attach(manager: AsyncManager, router: RecoveryRouter) -> ManagerHooks:
    """Route a manager instance's stored emits and room changes through ``router``.

    Raises ``TypeError`` for a manager that is not python-socketio's asyncio kind, and
    ``ValueError`` for one that already serves a RecoveryServer.
    """
    if not isinstance(manager, AsyncManager):
        raise TypeError("the client manager must be an asyncio python-socketio manager")
    hooks = ManagerHooks(manager, router)
    wrapped = set(compat.MANAGER_WRAPPED)
    if hooks.pubsub:
        wrapped.discard("close_room")  # it closes rooms through _handle_close_room
        wrapped |= set(compat.PUBSUB_WRAPPED)
    install_hooks(manager, router, hooks, wrapped)
    return hooks

