"""What a RecoveryServer does with what it is given: limits given twice, and what its
shutdown() leaves behind."""

from __future__ import annotations

import asyncio

import pytest
import socketio

import chatlib
from chatlib.sio import compat

WS = {"transports": ["websocket"]}


def test_limits_given_to_the_store_only_are_the_servers_limits(tmp_path):
    limits = chatlib.Recovery(max_disconnection_duration=7)
    sio = chatlib.RecoveryServer(async_mode="asgi",
                                 store=chatlib.SQLiteStore(str(tmp_path / "r.db"), recovery=limits))
    assert sio.recovery == limits and sio.store.recovery == limits
    sio.store.close()


def test_the_same_limits_given_to_server_and_store_are_taken():
    limits = chatlib.Recovery(max_buffered_packets=50)
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=limits,
                                 store=chatlib.MemoryStore(chatlib.Recovery(max_buffered_packets=50)))
    assert sio.store.recovery == limits


def test_different_limits_given_to_server_and_store_are_refused_not_silently_overridden():
    with pytest.raises(ValueError, match="give the limits once"):
        chatlib.RecoveryServer(async_mode="asgi", recovery=chatlib.Recovery(max_buffered_packets=10),
                               store=chatlib.MemoryStore(chatlib.Recovery(max_buffered_packets=99)))


def test_a_store_given_no_limits_takes_the_servers():
    limits = chatlib.Recovery(max_kept_sessions=3)
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=limits, store=chatlib.MemoryStore())
    assert sio.store.recovery == limits


@pytest.mark.parametrize("recovery", [chatlib.Recovery(), None], ids=["recovery", "plain"])
async def test_shutdown_ends_the_pubsub_listener_task(launch, clients, redis_server, redis_prefix,
                                                      recovery):
    manager = socketio.AsyncRedisManager(redis_server.url, channel=redis_prefix + "sio")
    sio = chatlib.RecoveryServer(async_mode="asgi", client_manager=manager, recovery=recovery)
    running = await launch(sio)
    client = clients(chatlib.RecoveryClient(reconnection=False))
    await client.connect(running.url, **WS)   # python-socketio starts listening on a first connection
    listener = compat.pubsub_listener(sio)
    assert listener is not None and not listener.done()
    await client.disconnect()
    await sio.shutdown()
    await asyncio.wait([listener], timeout=5)
    assert listener.done()


def test_the_chat_servers_take_the_limits_given_to_their_store_only(tmp_path):
    from chatlib.chat import ChatHistory, create_chat_io
    from chatlib.chat.step7 import create_step7_io

    limits = chatlib.Recovery(max_kept_sessions=3)
    assert create_chat_io(store=chatlib.MemoryStore(limits)).recovery == limits
    history = ChatHistory(":memory:")
    assert create_step7_io(history, store=chatlib.MemoryStore(limits)).recovery == limits
    history.close()
