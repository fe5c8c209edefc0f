"""chatlib against the official Socket.IO JS 4.8 client and server: connection state recovery.

Three pairings, one story: a client connects and receives an event (so it
has an offset), its network fails, the server broadcasts while it is away
(once the server has seen the drop), the client comes back. A user sees:
the same id, ``recovered`` on both sides, every missed event once and in
order, and an event sent to a room only where the room's members are. A
clean ``disconnect()`` is different, as in JS: not recovered, a new id, the
event sent meanwhile lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

import chatlib
from tests.helpers import eventually

pytestmark = pytest.mark.interop

WAIT = 10.0
DROP_WAIT = 5.0
EVENT = "chat message"


def texts(events: list[dict]) -> list:
    """The first argument of each event a Node client reported, in arrival order."""
    return [event["args"][0] for event in events]


# -- chatlib.RecoveryServer, observed the way an application would -----------


@dataclass
class PyServer:
    sio: chatlib.RecoveryServer
    url: str
    connects: list = field(default_factory=list)      # (sid, recovered)
    disconnects: list = field(default_factory=list)   # (sid, reason)
    received: list = field(default_factory=list)      # (sid, args) of events from clients

    async def join(self, sid: str, room: str) -> None:
        await self.sio.enter_room(sid, room)

    async def emit(self, text: str, to: str | None = None) -> None:
        await self.sio.emit(EVENT, text, to=to)

    async def disconnected(self, sid: str) -> None:
        """Wait until the server's disconnect handler ran for ``sid``."""
        await eventually(lambda: any(s == sid for s, _ in self.disconnects), WAIT,
                         f"the server's disconnect handler for {sid}")

    async def connections(self, sid: str, count: int) -> list[bool]:
        """``recovered`` as the connect handler saw it, for each of ``count`` connections of sid."""
        await eventually(lambda: len(self._connections(sid)) >= count, WAIT,
                         f"{count} connections of {sid}")
        return self._connections(sid)

    def _connections(self, sid: str) -> list[bool]:
        return [recovered for s, recovered in self.connects if s == sid]

    async def received_from(self, sid: str, text: str) -> None:
        await eventually(lambda: (sid, (text,)) in self.received, WAIT,
                         f"the server to receive {text!r} from {sid}")


@pytest.fixture
async def py_server(launch):
    """A chatlib.RecoveryServer (default Recovery) on uvicorn, on a free local port."""
    sio = chatlib.RecoveryServer(async_mode="asgi")
    server = PyServer(sio, (await launch(sio)).url)

    @sio.event
    async def connect(sid, environ, auth=None):
        server.connects.append((sid, sio.recovered(sid)))

    @sio.event
    async def disconnect(sid, reason):
        server.disconnects.append((sid, reason))

    @sio.on(EVENT)
    async def on_message(sid, *args):
        server.received.append((sid, args))

    return server


# -- chatlib.RecoveryClient, observed the way an application would -----------


@dataclass(eq=False)
class PyClient:
    client: chatlib.RecoveryClient
    received: list = field(default_factory=list)   # handler args, as tuples

    def texts(self) -> list:
        return [args[0] for args in self.received]

    async def receives(self, text: str) -> None:
        await eventually(lambda: text in self.texts(), WAIT, f"the client to receive {text!r}")


@pytest.fixture
async def py_clients():
    """A factory of connected RecoveryClients (default options); each is shut down after the test."""
    made: list[chatlib.RecoveryClient] = []

    async def connect(url: str, **connect_options: Any) -> PyClient:
        client = chatlib.RecoveryClient()
        made.append(client)
        wrapped = PyClient(client)

        @client.on(EVENT)
        async def on_message(*args):
            wrapped.received.append(args)

        await client.connect(url, **connect_options)
        return wrapped

    yield connect
    for client in made:
        read_loop = client.eio.read_loop_task
        if read_loop is not None and read_loop.cancelled():
            # a drop() that timed out took the read loop with it: shutdown() would await it
            await client.eio.disconnect(abort=True)
        elif client.eio.current_transport == "polling":
            # python-engineio's polling disconnect waits for the long poll to end (~20 s)
            await client.eio.disconnect(abort=True)
        else:
            await client.shutdown()


# -- the official socket.io 4.8 server, seen through server.js ----------------


class NodeServer:
    """server.js (socket.io 4.8, ``connectionStateRecovery: {}``) with PyServer's interface."""

    def __init__(self, node) -> None:
        self.node = node
        self.url = node.url

    async def join(self, sid: str, room: str) -> None:
        done = await self.node.request("join", sid=sid, room=room)
        assert done["joined"], f"the Node server has no connected socket {sid}"

    async def emit(self, text: str, to: str | None = None) -> None:
        await self.node.request("emit", event=EVENT, args=[text], to=to)

    async def disconnected(self, sid: str) -> None:
        await self.node.expect(type="disconnect", id=sid)

    async def connections(self, sid: str, count: int) -> list[bool]:
        await eventually(lambda: len(self.node.find(type="connection", id=sid)) >= count, WAIT,
                         f"{count} connections of {sid} on the Node server")
        return [m["recovered"] for m in self.node.find(type="connection", id=sid)]

    async def received_from(self, sid: str, text: str) -> None:
        await self.node.expect(type="event", id=sid, event=EVENT, args=[text])


# -- Node socket.io-client against chatlib.RecoveryServer --------------------

TRANSPORTS = [
    pytest.param({}, id="polling-then-websocket"),
    pytest.param({"transports": ["websocket"]}, id="websocket"),
    pytest.param({"transports": ["polling"]}, id="polling"),
]


async def node_receives(node, first_arg: Any) -> None:
    await eventually(lambda: first_arg in texts(node.find(type="event")), WAIT,
                     f"{node.name} to receive {first_arg!r}")


@pytest.mark.parametrize("io_options", TRANSPORTS)
async def test_js_client_recovers_from_chatlib_server(py_server, node_client, io_options):
    member = await node_client(py_server.url, "member", **io_options)
    outsider = await node_client(py_server.url, "outsider", **io_options)
    ids = {}
    for node in (member, outsider):
        connected = await node.expect(type="connect")
        assert connected["recovered"] is False
        ids[node] = connected["id"]
    await py_server.join(ids[member], "room")
    await py_server.emit("before")
    for node in (member, outsider):
        await node_receives(node, "before")

    for node in (member, outsider):
        await node.request("drop")
        await py_server.disconnected(ids[node])
    await py_server.emit("missed 1")
    await py_server.emit("missed 2")
    await py_server.emit("for the room", to="room")
    await member.request("emit", event=EVENT, args=["typed while away"])

    for node in (member, outsider):
        back = await node.request("reconnect")
        assert back["recovered"] is True
        assert back["id"] == ids[node]
        assert py_server.sio.recovered(ids[node])
        assert await py_server.connections(ids[node], 2) == [False, True]

    await py_server.emit("after")
    for node in (member, outsider):
        await node_receives(node, "after")
    assert texts(member.find(type="event")) == [
        "before", "missed 1", "missed 2", "for the room", "after"]
    assert texts(outsider.find(type="event")) == ["before", "missed 1", "missed 2", "after"]
    # the JS client appends nothing to what it sends; its buffered emit arrives once recovered
    await py_server.received_from(ids[member], "typed while away")


async def test_js_client_recovers_by_itself_after_engine_close(py_server, node_client):
    """No reconnect command: the Manager's own reconnection (after its delay) recovers."""
    node = await node_client(py_server.url, transports=["websocket"])
    sid = (await node.expect(type="connect"))["id"]
    await py_server.emit("before")
    await node_receives(node, "before")

    since = node.mark()
    await node.request("drop-auto")
    await py_server.disconnected(sid)
    await py_server.emit("missed")
    back = await node.expect(since, type="connect")
    assert back["recovered"] is True
    assert back["id"] == sid
    await py_server.emit("after")
    await node_receives(node, "after")
    assert texts(node.find(type="event")) == ["before", "missed", "after"]
    assert await py_server.connections(sid, 2) == [False, True]


@pytest.mark.parametrize("io_options", TRANSPORTS)
async def test_js_client_clean_disconnect_is_not_recovered(py_server, node_client, io_options):
    node = await node_client(py_server.url, **io_options)
    sid = (await node.expect(type="connect"))["id"]
    await py_server.emit("before")
    await node_receives(node, "before")

    await node.request("disconnect")
    await py_server.disconnected(sid)
    await py_server.emit("while away")
    back = await node.request("connect")
    assert back["recovered"] is False
    assert back["id"] != sid
    assert await py_server.connections(back["id"], 1) == [False]
    await py_server.emit("after")
    await node_receives(node, "after")
    assert texts(node.find(type="event")) == ["before", "after"]


async def test_js_client_clean_disconnect_after_a_recovery_is_not_recovered(py_server,
                                                                            node_client):
    """socket.io 4.8.4 restores this from the copy kept at the first drop; chatlib does not."""
    node = await node_client(py_server.url, transports=["websocket"])
    sid = (await node.expect(type="connect"))["id"]
    await py_server.emit("before")
    await node_receives(node, "before")
    await node.request("drop")
    await py_server.disconnected(sid)
    assert (await node.request("reconnect"))["recovered"] is True

    await node.request("disconnect")
    await eventually(lambda: len([s for s, _ in py_server.disconnects if s == sid]) == 2, WAIT,
                     "the server's second disconnect handler")
    await py_server.emit("while away")
    back = await node.request("connect")
    assert back["recovered"] is False
    assert back["id"] != sid
    await py_server.emit("after")
    await node_receives(node, "after")
    assert texts(node.find(type="event")) == ["before", "after"]


# -- chatlib.RecoveryClient against the Node server and against chatlib ------


async def python_clients_recover(server, py_clients, options: dict) -> None:
    member = await py_clients(server.url, **options)
    outsider = await py_clients(server.url, **options)
    sids = {client: client.client.get_sid() for client in (member, outsider)}
    assert not member.client.recovered and not outsider.client.recovered
    await server.join(sids[member], "room")
    await server.emit("before")
    for client in (member, outsider):
        await client.receives("before")

    for client in (member, outsider):
        await asyncio.wait_for(client.client.drop(), DROP_WAIT)
        await server.disconnected(sids[client])
    await server.emit("missed 1")
    await server.emit("missed 2")
    await server.emit("for the room", to="room")
    await member.client.emit(EVENT, "typed while away")

    for client in (member, outsider):
        await client.client.reconnect()
        assert client.client.recovered
        assert client.client.get_sid() == sids[client]
        assert await server.connections(sids[client], 2) == [False, True]

    await server.emit("after")
    for client in (member, outsider):
        await client.receives("after")
    # exact tuples: each handler got what the server emitted, no offset appended
    assert member.received == [
        ("before",), ("missed 1",), ("missed 2",), ("for the room",), ("after",)]
    assert outsider.received == [("before",), ("missed 1",), ("missed 2",), ("after",)]
    await server.received_from(sids[member], "typed while away")


async def python_client_clean_disconnect_is_not_recovered(server, py_clients) -> None:
    client = await py_clients(server.url)
    sid = client.client.get_sid()
    await server.emit("before")
    await client.receives("before")

    await client.client.disconnect()
    await server.disconnected(sid)
    await server.emit("while away")
    await client.client.connect(server.url)
    new_sid = client.client.get_sid()
    assert not client.client.recovered
    assert new_sid != sid
    assert await server.connections(new_sid, 1) == [False]
    await server.emit("after")
    await client.receives("after")
    assert client.received == [("before",), ("after",)]


PY_TRANSPORTS = [
    pytest.param({}, id="polling-then-websocket"),
    pytest.param({"transports": ["websocket"]}, id="websocket"),
    pytest.param({"transports": ["polling"]}, id="polling"),
]


@pytest.mark.parametrize("options", PY_TRANSPORTS)
async def test_python_client_recovers_from_js_server(node_server, py_clients, options):
    await python_clients_recover(NodeServer(node_server), py_clients, options)


@pytest.mark.parametrize("options", PY_TRANSPORTS)
async def test_python_client_recovers_from_chatlib_server(py_server, py_clients, options):
    await python_clients_recover(py_server, py_clients, options)
    sids = {sid for sid, _ in py_server.connects}
    assert len(sids) == 2 and all(py_server.sio.recovered(sid) for sid in sids)


async def test_python_client_clean_disconnect_on_js_server(node_server, py_clients):
    await python_client_clean_disconnect_is_not_recovered(NodeServer(node_server), py_clients)


async def test_python_client_clean_disconnect_on_chatlib_server(py_server, py_clients):
    await python_client_clean_disconnect_is_not_recovered(py_server, py_clients)


# -- binary events: the offset follows the attachments -----------------------


async def test_js_client_recovers_binary_events_from_chatlib_server(py_server, node_client):
    node = await node_client(py_server.url, transports=["websocket"])
    sid = (await node.expect(type="connect"))["id"]
    await py_server.sio.emit(EVENT, b"\x00before")
    await node_receives(node, {"type": "Buffer", "data": [0, *b"before"]})

    await node.request("drop")
    await py_server.disconnected(sid)
    await py_server.sio.emit(EVENT, b"\x00missed")
    await py_server.sio.emit(EVENT, ("caption", b"\x01\x02"))
    assert (await node.request("reconnect"))["recovered"] is True
    await py_server.emit("after")
    await node_receives(node, "after")
    args = [event["args"][:-1] for event in node.find(type="event")]
    assert args == [
        [{"type": "Buffer", "data": [0, *b"before"]}],
        [{"type": "Buffer", "data": [0, *b"missed"]}],
        ["caption", {"type": "Buffer", "data": [1, 2]}],
        ["after"],
    ]


async def test_python_client_recovers_binary_events_from_js_server(node_server, py_clients):
    server = NodeServer(node_server)
    client = await py_clients(server.url, transports=["websocket"])
    received = []
    client.client.on("binary", lambda *args: received.append(args))
    sid = client.client.get_sid()
    await node_server.request("emit-binary", event="binary", args=["before"])
    await eventually(lambda: received, WAIT, "the first binary event")

    await asyncio.wait_for(client.client.drop(), DROP_WAIT)
    await server.disconnected(sid)
    await node_server.request("emit-binary", event="binary", args=["missed"])
    await client.client.reconnect()
    assert client.client.recovered
    await server.emit("after")
    await client.receives("after")
    assert received == [(b"before",), (b"missed",)]
