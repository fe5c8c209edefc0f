"""RedisStore on Redis Sentinel: a real primary, replica and three sentinels on loopback.

The primary is SIGKILLed and the sentinels promote the replica. Replication is asynchronous,
so the promoted replica may lack writes the old primary answered: here it does for sure (its
link is cut first), and the clients that got those packets, or dropped before them, must be
told (``recovered`` false): no silent gap, no packet twice, no offset given to two packets.
"""

from __future__ import annotations

import asyncio

import pytest
import socketio

import chatlib
from chatlib.stores.redis import RedisStore
from tests.helpers import eventually, server_saw_drop
from tests.stores.ha import SentinelGroup

WS = {"transports": ["websocket"]}


@pytest.fixture
def sentinel_group(tmp_path):
    group = SentinelGroup(tmp_path)
    yield group
    group.stop()


class Client:
    """A RecoveryClient that reconnects by itself, and what it saw: its numbers with their
    offsets, and for each connection whether it was recovered."""

    def __init__(self, clients, name: str) -> None:
        self.name = name
        self.client = clients(chatlib.RecoveryClient(
            reconnection=True, reconnection_delay=0.05, reconnection_delay_max=0.3,
            randomization_factor=0))
        self.events: list[tuple] = []
        self.client.on("m", self._message)
        self.client.on("connect", lambda: self.events.append(("c", self.client.recovered)))

    def _message(self, number: int) -> None:
        self.events.append(("m", number, self.client.last_offset))

    async def connect(self, url: str) -> None:
        await self.client.connect(url, **WS)

    def numbers(self) -> list[int]:
        return [event[1] for event in self.events if event[0] == "m"]

    def connects(self) -> list[bool]:
        return [event[1] for event in self.events if event[0] == "c"]

    def silent_gaps(self) -> list[str]:
        """Numbers missing from its log without a ``recovered`` false just before them."""
        gaps, last, told = [], None, False
        for event in self.events:
            if event[0] == "c":
                told = told or not event[1]
                continue
            if last is not None and event[1] > last + 1 and not told:
                gaps.append(f"{self.name}: {last + 1}..{event[1] - 1}")
            last, told = event[1], False
        return gaps


def make_server(url: str, prefix: str) -> chatlib.RecoveryServer:
    store = RedisStore(url, prefix=prefix, dead_after=0.5)
    return chatlib.RecoveryServer(
        async_mode="asgi", store=store, recovery=chatlib.Recovery(sweep_interval=0.1),
        client_manager=socketio.AsyncRedisManager(url, channel=prefix + "sio"))


async def broadcast(server: chatlib.RecoveryServer, numbers, *everyone: Client) -> None:
    for n in numbers:
        await server.emit("m", n)
    await server.wait_stored()
    for client in everyone:
        await eventually(lambda client=client: numbers[-1] in client.numbers(), 20,
                         f"{client.name} to get {numbers[-1]}: {client.events[-5:]}")


async def test_packets_the_promoted_replica_lacks_are_told_never_replayed_as_a_gap(
        sentinel_group, launch, clients):
    """Without the failover detection (resync.lua's jump and gap) it fails waiting for alice
    to be cut off and told: the new primary gives the lost packets' offsets out again, the
    feeds skip what is stored under them, and nobody learns; before RedisStore took Sentinel
    URLs it fails at once, on the URL."""
    a = await launch(make_server(sentinel_group.url, "ha:"))
    b = await launch(make_server(sentinel_group.url, "ha:"))
    alice, bob, carol = Client(clients, "alice"), Client(clients, "bob"), Client(clients, "carol")
    await alice.connect(a.url)
    await bob.connect(b.url)
    await carol.connect(a.url)
    await broadcast(a.sio, range(0, 5), alice, bob, carol)
    carol_sid = carol.client.get_sid()
    carol.client.reconnection = False
    await carol.client.drop()  # kept, at offset of 4: it will miss 5 to 9
    await server_saw_drop(a.sio, carol_sid)

    # written and delivered, acknowledged by the primary, never replicated
    sentinel_group.cut_replication()
    await broadcast(b.sio, range(5, 10), alice, bob)
    await asyncio.to_thread(sentinel_group.kill_primary)

    # both servers and their feeds move to the new primary; the clients that got 5..9 are cut
    # off there and told on reconnecting (a restore could not give them what came next)
    for client in (alice, bob):
        await eventually(lambda client=client: len(client.connects()) >= 2, 30,
                         f"{client.name} to reconnect after the failover: {client.events[-3:]}")
        assert client.connects()[1:] == [False] * (len(client.connects()) - 1), client.events
    await carol.client.reconnect(url=b.url)
    assert not carol.client.recovered, "carol missed 5..9 with the old primary: she must be told"

    # a server stores again once its store reached the new primary (until then its packets
    # reach its own clients only, and the others' clients are told: not what is tested here)
    await eventually(lambda: a.sio.store.available and b.sio.store.available, 30,
                     "both servers to reach the new primary")
    await broadcast(a.sio, range(10, 15), alice, bob, carol)
    await broadcast(b.sio, range(15, 20), alice, bob, carol)
    everyone = (alice, bob, carol)
    offsets: dict[str, set] = {}
    for client in everyone:
        for event in client.events:
            if event[0] == "m":
                offsets.setdefault(event[2], set()).add(event[1])
    reused = {offset: numbers for offset, numbers in offsets.items() if len(numbers) > 1}
    assert not reused, f"offsets given to two packets: {reused}"
    duplicated = {c.name: c.numbers() for c in everyone if len(set(c.numbers())) != len(c.numbers())}
    assert not duplicated, duplicated
    assert not [gap for c in everyone for gap in c.silent_gaps()]
    assert alice.numbers()[:10] == bob.numbers()[:10] == list(range(10))
    assert carol.numbers()[-10:] == alice.numbers()[-10:] == list(range(10, 20))
    assert sentinel_group.failovers == 1
