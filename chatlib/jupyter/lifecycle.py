"""Everything this kernel started, and how it all stops: :func:`stop_all`.

One owner of lifetimes. Chat servers (:mod:`chatlib.jupyter.launcher`) and chat clients
(:class:`chatlib.ChatWidget`, or anything that has the :class:`ChatClient` shape) register
here as they start; helpers with a process of their own (a throwaway ``redis-server``) add
a closer. Nothing here knows the classes that register: the server, the views and this
module see a client only through :class:`ChatClient`, so no module below the widget
imports it.

Example::

    server = await chatlib.start_chat_server()
    alice = chatlib.ChatWidget(server, "Alice")
    running_servers()                 # [server]
    leftovers = await stop_all()      # stops alice's client, the server and its tasks
    assert leftovers == []
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

#: where the tasks a chat server may leave behind run code from
_SERVER_CODE = ("chatlib", "socketio", "engineio", "uvicorn", "websockets")


@runtime_checkable
class ChatClient(Protocol):
    """What the servers and views need of a chat client: a name to draw, its ids, its state.

    ``sid`` is the Socket.IO id of its connection and ``eio_sid`` the Engine.IO one (None
    while not connected); ``last_offset`` the recovery offset it holds; ``mode`` what its
    Disconnect does (``"drop"``, ``"silent"``, ``"clean"``) and ``lost_at`` when it last cut
    or silenced its connection (``time.monotonic()``, or None); ``loop`` the event loop it
    runs on; ``aclose()`` disconnects it and ends its tasks, ``close()`` then lets go of it
    for good (a widget closes its view).
    """

    name: str
    mode: str
    lost_at: float | None
    loop: asyncio.AbstractEventLoop

    @property
    def sid(self) -> str | None: ...

    @property
    def eio_sid(self) -> str | None: ...

    @property
    def last_offset(self) -> str | None: ...

    @property
    def connected(self) -> bool: ...

    async def aclose(self) -> None: ...

    def close(self) -> None: ...


class StoppableServer(Protocol):
    """What :func:`stop_all` needs of a chat server (a :class:`~chatlib.jupyter.launcher.ChatServer`)."""

    loop: asyncio.AbstractEventLoop

    async def stop(self) -> None: ...


#: the running servers this process started, oldest first
_servers: list[Any] = []
#: every chat client not yet closed
_clients: weakref.WeakSet[Any] = weakref.WeakSet()
#: what else stop_all() ends, in the order added (for example the lesson's redis-server)
_closers: list[Callable[[], Awaitable[None]]] = []


def add_server(server: StoppableServer) -> None:
    """Count ``server`` among the running servers (the launcher calls this once it listens)."""
    _servers.append(server)


def forget_server(server: StoppableServer) -> None:
    """``server`` stopped, or its event loop is gone: no longer count it."""
    if server in _servers:
        _servers.remove(server)


def running_servers() -> list[Any]:
    """The chat servers this process started and has not stopped, oldest first."""
    return list(_servers)


def add_client(client: ChatClient) -> None:
    """Count ``client`` among the open clients, until :func:`forget_client` or garbage collection."""
    _clients.add(client)


def forget_client(client: ChatClient) -> None:
    """``client`` closed itself: no longer count it."""
    _clients.discard(client)


def open_clients() -> list[Any]:
    """The chat clients of this process that are still open."""
    return list(_clients)


def add_closer(closer: Callable[[], Awaitable[None]]) -> None:
    """Have ``await closer()`` run by :func:`stop_all`, after the servers and the clients."""
    if closer not in _closers:
        _closers.append(closer)


async def stop_servers_where(chosen: Callable[[Any], bool]) -> None:
    """Stop every running server for which ``chosen(server)`` is true.

    A server started on another event loop (usually one ``asyncio.run()`` has closed) is
    only forgotten: its tasks are gone with that loop, and cannot be awaited from here.
    """
    loop = asyncio.get_running_loop()
    for server in list(_servers):
        if not chosen(server):
            continue
        if server.loop is loop:
            await server.stop()
        else:
            forget_server(server)


def server_tasks() -> list[asyncio.Task[Any]]:
    """The tasks on the running loop that run chatlib, python-socketio, engineio or uvicorn code."""
    current = asyncio.current_task()
    tasks = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if task is not current and code is not None and any(
                name in code.co_filename for name in _SERVER_CODE):
            tasks.append(task)
    return tasks


async def stop_all(settle: float = 1.0) -> list[asyncio.Task[Any]]:
    """Stop every chat server, chat client and helper process of this process; return the
    server tasks left.

    An empty list means nothing was left behind on the event loop: the library's own "no
    server task left behind" check, for a notebook's last cell. Tasks still ending are
    waited for up to ``settle`` seconds.

    Example::

        leftovers = await chatlib.stop_all()
        assert leftovers == [], leftovers
    """
    await stop_servers_where(lambda server: True)
    for client in open_clients():
        if not client.loop.is_closed():
            await client.aclose()
        client.close()
        forget_client(client)
    for closer in list(_closers):
        await closer()
    ending = server_tasks()
    if ending:
        await asyncio.wait(ending, timeout=settle)
    return server_tasks()
