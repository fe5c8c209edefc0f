"""RedisStore on a real Redis Cluster (three primaries, three replicas, on loopback).

Every key of one store carries its prefix's hash tag, so each script runs on one slot; the
primary serving it is SIGKILLed and its replica takes over, with the same rule as Sentinel:
packets the replica lacks are told, never a silent gap, never an offset given twice.
python-socketio's manager talks to one node: classic PUBLISH reaches every node.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import socketio

import chatlib
from chatlib.core.store import Restored
from chatlib.stores.redis import RedisStore
from tests.helpers import eventually, server_saw_drop
from tests.stores.ha import ClusterGroup, Node
from tests.stores.test_sentinel import Client, broadcast

PREFIX = "ha:"  # becomes "{ha}:" on a cluster


@pytest.fixture
def cluster(tmp_path):
    group = ClusterGroup(tmp_path)
    yield group
    group.stop()


def test_classic_publish_reaches_a_subscriber_on_every_node(cluster):
    """What python-socketio's AsyncRedisManager relies on when its servers talk to different
    nodes of one cluster."""
    subscribers = []
    for node in cluster.nodes:
        pubsub = node.client().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe("socketio")
        subscribers.append(pubsub)
    cluster.nodes[0].client().publish("socketio", "hello")
    try:
        for pubsub in subscribers:
            message = None
            for _ in range(50):
                message = pubsub.get_message(timeout=0.1)
                if message:
                    break
            assert message and message["data"] == b"hello"
    finally:
        for pubsub in subscribers:
            pubsub.close()


def test_every_script_names_a_key_of_its_slot_and_keeps_to_it(cluster):
    """On a cluster every key of one store is in one slot, the one its scripts are routed by.
    Fails before the scripts named a key: a cluster client sends a script without keys to a
    random node, which refuses the keys of a slot it does not serve."""
    store = RedisStore(cluster.url, prefix=PREFIX, cluster=True)
    try:
        assert store.prefix == "{ha}:"
        store.open_session("/", "sid", "pid")
        store.join("/", "sid", "kitchen")
        for _ in range(5):
            store.append("/", None, None, lambda offset: json.dumps(["m", offset]))
        store.keep("/", "sid", {})
        restored = store.restore("/", "pid", None)
        # a script sent to a node that does not serve the slot fails: STORE_UNAVAILABLE
        assert isinstance(restored, Restored), restored
        assert len(restored.missed) == 5
        owner = cluster.owner(store.prefix + "seq")
        slot = owner.client().cluster("keyslot", store.prefix + "seq")
        keys = owner.client().keys(store.prefix + "*")
        assert keys and {owner.client().cluster("keyslot", key.decode()) for key in keys} == {slot}
    finally:
        store.close()


def _manager_node(cluster: ClusterGroup, avoid: Node, index: int) -> str:
    others = [node for node in cluster.nodes if node is not avoid
              and node.client().info("replication")["role"] == "master"]
    return f"redis://127.0.0.1:{others[index % len(others)].port}/0"


def make_server(cluster: ClusterGroup, manager_url: str) -> chatlib.RecoveryServer:
    store = RedisStore(cluster.url, prefix=PREFIX, dead_after=0.5, cluster=True)
    return chatlib.RecoveryServer(
        async_mode="asgi", store=store, recovery=chatlib.Recovery(sweep_interval=0.1),
        client_manager=socketio.AsyncRedisManager(manager_url, channel="ha:sio"))


async def test_packets_a_promoted_cluster_replica_lacks_are_told_never_replayed_as_a_gap(
        cluster, launch, clients):
    """Two servers on the cluster, their managers on two other primaries. Fails before the
    cluster support (RedisStore made a single-node client: MOVED for the store's keys) and,
    without the failover detection, as the Sentinel test does."""
    owner = cluster.owner("{ha}:seq")
    a = await launch(make_server(cluster, _manager_node(cluster, owner, 0)))
    b = await launch(make_server(cluster, _manager_node(cluster, owner, 1)))
    alice, bob, carol = Client(clients, "alice"), Client(clients, "bob"), Client(clients, "carol")
    await alice.connect(a.url)
    await bob.connect(b.url)
    await carol.connect(b.url)
    await broadcast(a.sio, range(0, 5), alice, bob, carol)
    carol_sid = carol.client.get_sid()
    carol.client.reconnection = False
    await carol.client.drop()
    await server_saw_drop(b.sio, carol_sid)
    # a client on A recovers on B, across the cluster, before anything goes wrong
    dave = Client(clients, "dave")
    dave.client.reconnection = False
    await dave.connect(a.url)
    dave_sid = dave.client.get_sid()
    await dave.client.drop()
    await server_saw_drop(a.sio, dave_sid)
    await broadcast(b.sio, [5], alice, bob)
    await dave.client.reconnect(url=b.url)
    assert dave.client.recovered
    await eventually(lambda: dave.numbers() == [5], 10, f"dave's replay: {dave.events}")
    dave.client.reconnection = True

    cluster.cut_replication_of("{ha}:seq")
    await broadcast(b.sio, range(6, 10), alice, bob, dave)
    await asyncio.to_thread(cluster.kill_primary_of, "{ha}:seq")

    for client in (alice, bob, dave):
        await eventually(lambda client=client: len(client.connects()) >= 2, 30,
                         f"{client.name} to reconnect after the failover: {client.events[-3:]}")
        assert False in client.connects()[1:], client.events
    await carol.client.reconnect(url=a.url)
    assert not carol.client.recovered

    # a server stores again once its store reached the new primary (until then its packets
    # reach its own clients only, and the others' clients are told: not what is tested here)
    await eventually(lambda: a.sio.store.available and b.sio.store.available, 30,
                     "both servers to reach the new primary")
    await broadcast(a.sio, range(10, 15), alice, bob, carol, dave)
    await broadcast(b.sio, range(15, 20), alice, bob, carol, dave)
    everyone = (alice, bob, carol, dave)
    offsets: dict[str, set] = {}
    for client in everyone:
        for event in client.events:
            if event[0] == "m":
                offsets.setdefault(event[2], set()).add(event[1])
    reused = {offset: numbers for offset, numbers in offsets.items() if len(numbers) > 1}
    assert not reused, f"offsets given to two packets: {reused}"
    assert not {c.name: c.numbers() for c in everyone if len(set(c.numbers())) != len(c.numbers())}
    assert not [gap for c in everyone for gap in c.silent_gaps()]
    assert alice.numbers()[-10:] == carol.numbers()[-10:] == list(range(10, 20))
    assert cluster.failovers == 1

