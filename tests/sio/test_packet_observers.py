"""RecoveryServer's packet observers over a real uvicorn: what an app tracing packets sees."""

import chatlib
from tests.helpers import eventually, server_saw_drop

WS = {"transports": ["websocket"]}


def recovery_server():
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=chatlib.Recovery())

    @sio.on("ask")
    async def ask(sid, question):
        return f"answer to {question}"

    return sio


async def connected(clients, url):
    client = clients(chatlib.RecoveryClient(reconnection=False))
    client.on("m", lambda *args: None)
    await client.connect(url, **WS)
    return client


def summary(seen, sid=None):
    return [(p.direction, p.type, p.offset, p.replay) for p in seen if sid in (None, p.sid)]


async def test_every_packet_of_a_recovery_is_seen_with_offsets_and_replays(launch, clients):
    sio = recovery_server()
    seen = []
    sio.add_packet_observer(seen.append)
    running = await launch(sio)
    client = await connected(clients, running.url)
    sid = client.get_sid()
    await sio.emit("m", "live")
    await eventually(lambda: client.last_offset == "1")
    await client.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", "missed")
    await client.reconnect()
    await eventually(lambda: client.last_offset == "2")
    assert await client.call("ask", "life") == "answer to life"
    pid = client.pid
    await client.disconnect()
    await eventually(lambda: seen[-1].type == "DISCONNECT")

    assert summary(seen) == [
        ("in", "CONNECT", None, False), ("out", "CONNECT", None, False),
        ("out", "EVENT", "1", False),
        ("in", "DROP", None, False),
        ("in", "CONNECT", "1", False), ("out", "CONNECT", None, False),
        ("out", "EVENT", "2", True),
        ("in", "EVENT", None, False), ("out", "ACK", None, False),
        ("in", "DISCONNECT", None, False)]
    drop = seen[3]
    assert (drop.sid, drop.reason, drop.text) == (sid, "transport close", "")
    assert seen[6].text == '42["m","missed","2"]' and seen[6].event == "m"
    assert [p.recovered for p in seen if p.type == "CONNECT" and p.direction == "out"] == [
        False, True]
    assert all(pid not in p.text for p in seen)
    assert '"pid":"' + pid[:4] + '…"' in seen[4].text  # masked as store.sessions() does
    assert [p.time for p in seen] == sorted(p.time for p in seen)


async def test_a_server_side_disconnect_is_seen_going_out_and_is_no_drop(launch, clients):
    sio = recovery_server()
    seen = []
    sio.add_packet_observer(seen.append)
    running = await launch(sio)
    client = await connected(clients, running.url)
    await sio.disconnect(client.get_sid())
    await eventually(lambda: not client.connected)
    assert summary(seen)[-1] == ("out", "DISCONNECT", None, False)
    assert "DROP" not in [p.type for p in seen]


async def test_nothing_is_wrapped_without_observers_and_a_failing_observer_breaks_nothing(
        launch, clients):
    sio = recovery_server()
    plain_send = sio.eio.send_packet
    seen = []

    def failing(packet):
        raise RuntimeError("a broken tracer")

    sio.add_packet_observer(failing)
    sio.add_packet_observer(seen.append)
    assert sio.eio.send_packet is not plain_send
    running = await launch(sio)
    client = await connected(clients, running.url)
    await sio.emit("m", "still delivered")
    await eventually(lambda: client.last_offset == "1")
    assert "EVENT" in [p.type for p in seen]
    sio.remove_packet_observer(failing)
    sio.remove_packet_observer(seen.append)
    sio.remove_packet_observer(seen.append)  # not registered any more: a no-op
    assert sio.eio.send_packet == plain_send and not sio.packet_observers
    count = len(seen)
    await sio.emit("m", "unobserved")
    await eventually(lambda: client.last_offset == "2")
    assert len(seen) == count
