"""The tutorial's steps 7 and 8 on chatlib: SQLite, serverOffset, the catch-up, exactly once.

Real uvicorn servers and RecoveryClients. A user sees: a recovered reconnect gets
what it missed from the recovery, and the server runs no catch-up for it; a
reconnect that is not recovered (the server restarted with its state in memory, or
the drop outlasted max_disconnection_duration) gets the same messages from the
catch-up query; a message sent again with the same client offset is acknowledged
and stored once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

import chatlib
from chatlib.chat.step7 import ChatHistory, ServerOffset, create_step7_app, server_offset
from chatlib.serving import serve
from tests.helpers import eventually, server_saw_drop

WS = {"transports": ["websocket"]}


class ChatServer:
    """A step-7 app on uvicorn; ``restart()`` replaces it by a new process-like server on the
    same port and database file, with a new (empty) memory recovery store."""

    def __init__(self, db_path: str, **recovery) -> None:
        self.db_path = db_path
        self.recovery = chatlib.Recovery(**recovery)
        self.port = 0
        self.running = None

    async def start(self, history: ChatHistory | None = None) -> None:
        self.history = history or ChatHistory(self.db_path)
        self.app = create_step7_app(self.history, recovery=self.recovery)
        self.running = await serve(self.app, port=self.port)
        self.port = self.running.port
        self.url = self.running.url

    async def stop(self) -> None:
        await self.app.io.shutdown()
        await self.running.stop()
        self.history.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def io(self) -> chatlib.RecoveryServer:
        return self.app.io

    def catch_ups_of(self, sid: str) -> list:
        return [(offset, ids) for s, offset, ids in self.io.catch_ups if s == sid]


class Member:
    """A chat member: a RecoveryClient with the step-7 client (serverOffset in its auth)."""

    def __init__(self, retries=None, ack_timeout=None) -> None:
        self.offset = ServerOffset()
        self.messages: list = []
        self.client = chatlib.RecoveryClient(reconnection=False, retries=retries,
                                             ack_timeout=ack_timeout)
        self.client.on("chat message", self.offset.handler(self.messages.append))

    async def connect(self, url: str) -> None:
        await self.client.connect(url, auth=self.offset.auth, **WS)

    async def receives(self, *texts: str) -> None:
        await eventually(lambda: self.messages[-len(texts):] == list(texts), 5,
                         f"{texts}, got {self.messages}")


@pytest.fixture
async def chat(tmp_path):
    made: list = []

    async def start(**recovery) -> ChatServer:
        server = ChatServer(str(tmp_path / "chat.db"), **recovery)
        await server.start()
        made.append(server)
        return server

    yield start
    for server in made:
        if server.running.running:
            await server.stop()


@pytest.fixture
async def members():
    made: list[Member] = []

    async def join(url: str, **options) -> Member:
        member = Member(**options)
        made.append(member)
        await member.connect(url)
        return member

    yield join
    for member in made:
        await member.client.shutdown()


async def test_a_recovered_reconnect_needs_no_catch_up(chat, members):
    server = await chat(max_disconnection_duration=30)
    alice, bob = await members(server.url), await members(server.url)
    sid = alice.client.get_sid()
    await bob.client.emit("chat message", "hello")
    await alice.receives("hello")

    await alice.client.drop()
    await server_saw_drop(server.io, sid)
    await bob.client.emit("chat message", "realtime")
    await bob.receives("realtime")
    await alice.client.reconnect()

    assert alice.client.recovered
    await alice.receives("hello", "realtime")
    assert alice.messages == ["hello", "realtime"]
    assert server.catch_ups_of(sid) == [(0, [])]  # the first connect only, with nothing to send
    assert alice.offset.value == 2


async def test_after_a_restart_with_the_memory_store_the_catch_up_sends_what_was_missed(
        chat, members):
    server = await chat(max_disconnection_duration=30)
    alice, bob = await members(server.url), await members(server.url)
    await bob.client.emit("chat message", "hello")
    await alice.receives("hello")
    await alice.client.drop()
    await bob.client.disconnect()

    await server.restart()  # the recovery state was in memory: it is gone; chat.db stays
    carol = await members(server.url)
    await carol.client.emit("chat message", "while away")
    await carol.receives("while away")
    await alice.client.reconnect()

    assert not alice.client.recovered
    await alice.receives("hello", "while away")
    assert alice.messages == ["hello", "while away"]
    assert server.catch_ups_of(alice.client.get_sid()) == [(1, [2])]
    # a new client (serverOffset 0, the tutorial's "full page refresh") gets the whole history
    assert carol.messages == ["hello", "while away"]


async def test_a_drop_longer_than_max_disconnection_duration_is_caught_up(chat, members):
    duration = 0.5
    server = await chat(max_disconnection_duration=duration)
    alice, bob = await members(server.url), await members(server.url)
    sid = alice.client.get_sid()
    await bob.client.emit("chat message", "hello")
    await alice.receives("hello")

    await alice.client.drop()
    await server_saw_drop(server.io, sid)
    dropped = time.monotonic()
    await bob.client.emit("chat message", "late news")
    await bob.receives("late news")
    # the scenario is the passing of time: stay away longer than the server keeps the session
    await asyncio.sleep(max(0.0, dropped + 2 * duration - time.monotonic()))
    await alice.client.reconnect()

    assert not alice.client.recovered and alice.client.get_sid() != sid
    await alice.receives("hello", "late news")
    assert alice.messages == ["hello", "late news"]
    assert server.catch_ups_of(alice.client.get_sid()) == [(1, [2])]


async def test_the_same_client_offset_twice_is_acknowledged_and_stored_once(chat, members):
    server = await chat()
    alice, bob = await members(server.url), await members(server.url)

    assert await alice.client.call("chat message", ("hi", "alice-0")) is None
    assert await alice.client.call("chat message", ("hi", "alice-0")) is None  # acked
    await alice.client.call("chat message", ("next", "alice-1"))
    await bob.receives("hi", "next")
    assert bob.messages == ["hi", "next"]
    assert await server.history.since(0) == [(1, "hi"), (2, "next")]


class SlowFirstWrite(ChatHistory):
    """A database whose first write takes longer than the client's ack_timeout."""

    def __init__(self, path: str, delay: float) -> None:
        super().__init__(path)
        self.delay = delay
        self.writes = 0

    def _add(self, content, client_offset):
        self.writes += 1
        if self.writes == 1:
            time.sleep(self.delay)  # in the worker thread: the event loop runs on
        return super()._add(content, client_offset)


async def test_retries_with_a_client_offset_deliver_exactly_once(tmp_path, members):
    ack_timeout = 0.3
    server = ChatServer(str(tmp_path / "chat.db"))
    history = SlowFirstWrite(server.db_path, delay=3 * ack_timeout)
    await server.start(history)
    try:
        alice = await members(server.url, retries=3, ack_timeout=ack_timeout)
        bob = await members(server.url)

        await alice.client.call("chat message", ("hello", "alice-0"))
        assert history.writes >= 2  # the first try's ack came too late: the client sent it again
        assert await history.since(0) == [(1, "hello")]
        await bob.receives("hello")
        # another round trip: had the copy been broadcast, bob would have it by now
        await alice.client.call("chat message", ("bye", "alice-1"))
        await bob.receives("bye")
        assert bob.messages == ["hello", "bye"]
    finally:
        await server.stop()


async def test_without_a_client_offset_a_retry_is_stored_twice(tmp_path, members):
    ack_timeout = 0.3
    server = ChatServer(str(tmp_path / "chat.db"))
    history = SlowFirstWrite(server.db_path, delay=3 * ack_timeout)
    await server.start(history)
    try:
        alice = await members(server.url, retries=3, ack_timeout=ack_timeout)
        await alice.client.call("chat message", "hello")
        stored = [content for _, content in await history.since(0)]
        assert len(stored) >= 2 and set(stored) == {"hello"}  # at least once, not exactly once
    finally:
        await server.stop()


async def test_bad_input_is_refused_without_an_ack_and_nothing_is_stored(chat, members):
    server = await chat()
    alice = await members(server.url, retries=1, ack_timeout=0.3)

    with pytest.raises(chatlib.DeliveryError):
        await alice.client.call("chat message", {"not": "text"})
    assert await server.history.since(0) == []
    assert await alice.client.call("chat message", "fine") is None


@pytest.mark.parametrize("auth, expected", [
    ({"serverOffset": 5}, 5), ({"serverOffset": "7"}, 7), ({"serverOffset": -3}, 0),
    ({"serverOffset": True}, 0), ({"serverOffset": "x"}, 0), ({}, 0), (None, 0), ("text", 0),
])
def test_server_offset_from_any_auth(auth, expected):
    assert server_offset(auth) == expected


def test_history_outlives_its_process(tmp_path):
    path = str(tmp_path / "chat.db")
    first = ChatHistory(path)
    asyncio.run(first.add("kept"))
    first.close()
    again = ChatHistory(path)
    assert asyncio.run(again.since(0)) == [(1, "kept")]
    again.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
