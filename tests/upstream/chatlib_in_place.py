"""A pytest plugin: python-socketio's own tests, run on chatlib's classes.

test_parity.py loads it (``-p chatlib_in_place``) into a pytest run inside
the fetched suite. Before the test modules are imported it puts chatlib's
classes where those tests construct python-socketio's:

- ``socketio.AsyncServer`` and ``socketio.async_server.AsyncServer``:
  ``RecoveryServer``, with ``recovery=None`` in the ``plain`` mode and the
  default ``Recovery()`` in the ``recovery`` mode;
- ``socketio.AsyncClient`` and ``socketio.async_client.AsyncClient``:
  ``RecoveryClient`` (it has no recovery switch: the same in both modes);
- in the ``recovery`` mode only, in the manager tests: the ``AsyncManager``
  and ``AsyncPubSubManager`` they build get recovery attached the way
  ``RecoveryServer`` attaches it to its ``client_manager``, with a memory store.

The threaded classes are put in place the same way: ``socketio.Server`` (and
``socketio.server.Server``) is ``chatlib.sync.RecoveryServer``, ``socketio.Client``
``chatlib.sync.RecoveryClient``, and in the ``recovery`` mode the ``Manager`` of
``tests/common/test_manager.py`` gets recovery attached as that server attaches it.

Each test's outcome goes to a JSON file, by node id, with the line that
failed. The environment says where (``CHATLIB_UPSTREAM_RESULTS``) and which
mode (``CHATLIB_UPSTREAM_MODE``).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import socketio
from socketio import async_client, async_manager, async_pubsub_manager, async_server
from socketio import client as sync_client
from socketio import manager as sync_manager
from socketio import server as sync_server

import chatlib.sync
from chatlib import MemoryStore, Recovery, RecoveryClient, RecoveryServer
from chatlib.sio.hooks import attach
from chatlib.sio.manager import RecoveryRouter
from chatlib.sio.sync_manager import SyncRouter, attach_sync

MODE = os.environ.get("CHATLIB_UPSTREAM_MODE", "plain")
if MODE not in ("plain", "recovery"):
    raise ValueError(f"CHATLIB_UPSTREAM_MODE is 'plain' or 'recovery', not {MODE!r}")
RECOVERY = MODE == "recovery"

_STOCK_SERVER = inspect.signature(socketio.AsyncServer.__init__)
_STOCK_SYNC_SERVER = inspect.signature(socketio.Server.__init__)
_STOCK_MANAGER = async_manager.AsyncManager
_STOCK_PUBSUB = async_pubsub_manager.AsyncPubSubManager
_STOCK_SYNC_MANAGER = sync_manager.Manager


def _store() -> MemoryStore:
    recovery = Recovery()
    store = MemoryStore(recovery)
    store.configure(recovery)
    return store


def _by_name(signature: inspect.Signature, server: Any, args: tuple, kwargs: dict) -> dict:
    """The arguments a test gives a server, all by name (chatlib's servers take keywords)."""
    bound = signature.bind(server, *args, **kwargs)
    named = {name: value for name, value in bound.arguments.items()
             if name not in ("self", "kwargs")}
    named.update(bound.arguments.get("kwargs", {}))
    return named


class Server(RecoveryServer):
    """``RecoveryServer`` built from the arguments a test gives ``AsyncServer``.

    RecoveryServer takes its arguments by keyword when recovery is on; the
    upstream tests may pass them by position, so they are named here first.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(recovery=Recovery() if RECOVERY else None,
                         **_by_name(_STOCK_SERVER, self, args, kwargs))
        if RECOVERY and isinstance(self.eio, mock.Mock):
            _complete_mocked_engineio(self.eio)


class SyncServer(chatlib.sync.RecoveryServer):
    """``chatlib.sync.RecoveryServer`` built from the arguments a test gives ``Server``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(recovery=Recovery() if RECOVERY else None,
                         **_by_name(_STOCK_SYNC_SERVER, self, args, kwargs))
        if RECOVERY and isinstance(self.eio, mock.Mock):
            socket = self.eio.sockets.get.return_value
            socket.closed = socket.closing = False


def _with_recovery(stock: type, threaded: bool = False) -> Callable[..., Any]:
    """Build ``stock`` managers that get recovery when a test gives them a server.

    A ``RecoveryServer`` attaches recovery to its ``client_manager`` itself; a
    manager tested on its own (``set_server`` with a mock server) gets it
    attached here, the same way, with a memory store.
    """

    def build(*args: Any, **kwargs: Any) -> Any:
        manager = stock(*args, **kwargs)
        stock_set_server = manager.set_server

        def set_server(server: Any) -> None:
            stock_set_server(server)
            if threaded and not isinstance(server, chatlib.sync.RecoveryServer):
                attach_sync(manager, SyncRouter(server, manager, _store()))
            elif not threaded and not isinstance(server, RecoveryServer):
                attach(manager, RecoveryRouter(server, manager, _store()))

        manager.set_server = set_server
        return manager

    return build


def _complete_mocked_engineio(eio: mock.Mock) -> None:
    """Give the tests' mocked ``engineio.AsyncServer`` what chatlib reads of a real one.

    With recovery on, chatlib checks that an Engine.IO socket is still open
    before a connection goes live, and awaits ``disconnect`` to close a
    connection that sent a malformed packet; python-socketio reads neither,
    so the upstream tests leave them as plain MagicMocks (a socket that reads
    as closed, a ``disconnect`` that cannot be awaited).
    """
    socket = eio.sockets.get.return_value
    socket.closed = socket.closing = False
    if not isinstance(eio.disconnect, mock.AsyncMock):
        eio.disconnect = mock.AsyncMock()


def pytest_configure(config: pytest.Config) -> None:
    for module in (socketio, async_server):
        module.AsyncServer = Server
    for module in (socketio, async_client):
        module.AsyncClient = RecoveryClient
    for module in (socketio, sync_server):
        module.Server = SyncServer
    for module in (socketio, sync_client):
        module.Client = chatlib.sync.RecoveryClient


@pytest.fixture(autouse=True)
def _chatlib_managers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the manager tests get chatlib's managers: the other modules patch the stock ones."""
    if not RECOVERY:
        return
    path = Path(str(request.node.fspath))
    name = path.name
    if name == "test_manager.py" and path.parent.name == "common":
        monkeypatch.setattr(sync_manager, "Manager", _with_recovery(_STOCK_SYNC_MANAGER, True))
    elif name == "test_manager.py":
        monkeypatch.setattr(async_manager, "AsyncManager", _with_recovery(_STOCK_MANAGER))
    elif name == "test_pubsub_manager.py":
        monkeypatch.setattr(async_pubsub_manager, "AsyncPubSubManager",
                            _with_recovery(_STOCK_PUBSUB))


_outcomes: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed", "failure": ""})
    if report.failed and entry["outcome"] != "failed":
        crash = getattr(report.longrepr, "reprcrash", None)
        entry["outcome"] = "failed"
        entry["failure"] = (f"{report.when}: {crash.message}" if crash is not None
                            else f"{report.when}: {str(report.longrepr).splitlines()[-1]}")
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:  # a module that does not even import: its tests never ran
        _outcomes[report.nodeid] = {"outcome": "failed",
                                    "failure": f"collect: {str(report.longrepr).splitlines()[-1]}"}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("CHATLIB_UPSTREAM_RESULTS")
    if path:
        Path(path).write_text(json.dumps({"mode": MODE, "exitstatus": int(exitstatus),
                                          "tests": _outcomes}, indent=1))
