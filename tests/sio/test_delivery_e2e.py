"""RecoveryClient(retries=N, ack_timeout=s) against a RecoveryServer on a real uvicorn.

What a user sees: emits reach the server one at a time and in order; an ack
that comes late makes the client send the packet again (the server has it
twice: at least once); a packet never acknowledged is reported, to ``call``
and to the future ``emit`` returns, and does not hold up the ones behind it;
emits made while disconnected, or in flight when the connection drops, go out
after the reconnect.
"""

from __future__ import annotations

import asyncio

import pytest

import chatlib
from tests.helpers import eventually, server_saw_drop
from tests.reliability.support import close_transport

WS = {"transports": ["websocket"]}
ACK_TIMEOUT = 0.3


class AckingServer:
    """A RecoveryServer whose ``note`` handler records each receipt and acks it.

    ``withhold[text] = n``: the first n receipts of ``text`` get no ack (their
    handler waits until the test ends). ``late[text] = n``: the first n receipts
    are acked only after ``LATE`` seconds, after the client's try timed out.
    ``gate``: when set to an Event, every receipt waits for it before its ack.
    """

    LATE = 3 * ACK_TIMEOUT

    def __init__(self) -> None:
        self.sio = chatlib.RecoveryServer(async_mode="asgi")
        self.received: list = []
        self.late_acks = 0
        self.withhold: dict = {}
        self.late: dict = {}
        self.gate: asyncio.Event | None = None
        self.released = asyncio.Event()
        self.sio.on("note", self._note)

    async def _note(self, sid, text, *rest):
        self.received.append(text)
        count = self.received.count(text)
        if count <= self.withhold.get(text, 0):
            await self.released.wait()
            return None
        if count <= self.late.get(text, 0):
            await asyncio.sleep(self.LATE)  # the server is slow: this ack comes after the timeout
            self.late_acks += 1
        if self.gate is not None:
            await self.gate.wait()
        return f"got {text}"


@pytest.fixture
async def server(launch):
    server = AckingServer()
    server.url = (await launch(server.sio)).url
    yield server
    server.released.set()


async def retrying_client(clients, url, retries=2, ack_timeout=ACK_TIMEOUT):
    client = clients(chatlib.RecoveryClient(reconnection=False, retries=retries,
                                            ack_timeout=ack_timeout))
    await client.connect(url, **WS)
    return client


async def test_call_returns_the_ack_and_emit_callbacks_get_it(server, clients):
    client = await retrying_client(clients, server.url)
    acks = []

    assert await client.call("note", "one") == "got one"
    outcome = await client.emit("note", "two", callback=acks.append)
    assert await outcome == "got two"
    assert acks == ["got two"]
    assert server.received == ["one", "two"]
    assert client.pending == []


async def test_emits_go_one_at_a_time_in_order(server, clients):
    client = await retrying_client(clients, server.url, ack_timeout=None)
    server.gate = asyncio.Event()
    outcomes = [await client.emit("note", text) for text in ("a", "b", "c")]

    await eventually(lambda: server.received == ["a"], what="the first emit")
    # "b" and "c" wait for the ack of "a", which the server holds
    assert [item.data for item in client.pending] == ["a", "b", "c"]
    assert server.received == ["a"]
    server.gate.set()
    assert await asyncio.gather(*outcomes) == ["got a", "got b", "got c"]
    assert server.received == ["a", "b", "c"]


async def test_a_late_ack_makes_the_client_send_again(server, clients):
    client = await retrying_client(clients, server.url, retries=2)
    acks = []
    server.late["hello"] = 1

    outcome = await client.emit("note", "hello", callback=acks.append)
    assert await outcome == "got hello"
    # at least once: the first try timed out, so the server has it twice
    assert server.received == ["hello", "hello"]
    await eventually(lambda: server.late_acks == 1, what="the late ack of the first try")
    # one connection keeps its order: once this ack is back, the late one was read too
    assert await client.call("note", "after") == "got after"
    assert acks == ["got hello"]


async def test_a_packet_never_acked_is_reported_and_the_next_one_goes_out(server, clients, caplog):
    client = await retrying_client(clients, server.url, retries=2)
    acks = []
    server.withhold["lost"] = 99

    lost = await client.emit("note", "lost", callback=acks.append)
    after = await client.emit("note", "after")
    with pytest.raises(chatlib.DeliveryError) as failure:
        await lost
    assert (failure.value.event, failure.value.tries, failure.value.reason) == \
        ("note", 3, "timed out")
    assert await after == "got after"
    assert server.received == ["lost", "lost", "lost", "after"]
    assert acks == []  # a callback gets acks, never the error
    assert "given up" in caplog.text

    with pytest.raises(chatlib.DeliveryError):
        await client.call("note", "lost")


async def test_call_timeout_is_the_wait_of_each_try(server, clients):
    client = await retrying_client(clients, server.url, retries=1, ack_timeout=10.0)
    server.withhold["quick"] = 99

    with pytest.raises(chatlib.DeliveryError):
        await asyncio.wait_for(client.call("note", "quick", timeout=ACK_TIMEOUT), 5)
    assert server.received == ["quick", "quick"]


async def test_emits_made_while_disconnected_go_out_after_the_reconnect(server, clients):
    client = await retrying_client(clients, server.url)
    sid = client.get_sid()
    await client.drop()
    await server_saw_drop(server.sio, sid)

    outcomes = [await client.emit("note", text) for text in ("x", "y")]
    assert [item.data for item in client.pending] == ["x", "y"]
    assert server.received == []
    await client.reconnect()

    assert client.recovered
    assert await asyncio.gather(*outcomes) == ["got x", "got y"]
    assert server.received == ["x", "y"]


async def test_a_try_cut_by_a_drop_is_sent_again_after_the_reconnect(server, clients):
    client = await retrying_client(clients, server.url, retries=3, ack_timeout=None)
    server.withhold["cut"] = 1

    outcome = await client.emit("note", "cut")
    await eventually(lambda: server.received == ["cut"], what="the first try")
    await client.drop()
    await client.reconnect()

    assert await outcome == "got cut"
    assert server.received == ["cut", "cut"]


async def test_without_retries_emit_is_python_socketios(server, clients):
    client = clients(chatlib.RecoveryClient(reconnection=False))
    await client.connect(server.url, **WS)

    assert await client.emit("note", "plain") is None
    assert await client.call("note", "plain") == "got plain"
    assert server.received == ["plain", "plain"]
    with pytest.raises(ValueError):
        chatlib.RecoveryClient(ack_timeout=1.0)


async def test_after_a_network_failure_the_automatic_reconnection_sends_it_again(server, clients):
    client = clients(chatlib.RecoveryClient(retries=3, ack_timeout=30.0,
                                            reconnection_delay=0.1, reconnection_delay_max=0.1))
    await client.connect(server.url, **WS)
    sid = client.get_sid()
    server.withhold["cut"] = 1

    call = asyncio.ensure_future(client.call("note", "cut"))
    await eventually(lambda: server.received == ["cut"], what="the first try")
    assert await close_transport(server.sio, sid)  # the network fails while the ack is awaited

    # well before ack_timeout: the lost connection, not a timeout, made it send again
    assert await asyncio.wait_for(call, 10) == "got cut"
    assert client.recovered and client.get_sid() == sid
    assert server.received == ["cut", "cut"]
