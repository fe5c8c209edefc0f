"""RecoveryServer and RecoveryClient over a real uvicorn: what a user of the library sees."""

import logging

import pytest
import socketio

import chatlib
from tests.helpers import Inbox, eventually, server_saw_drop, session_row

WS = {"transports": ["websocket"]}


def recovery_server(**limits):
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=chatlib.Recovery(**limits))
    sio.connects = []

    @sio.event
    async def connect(sid, environ, auth):
        sio.connects.append((sid, sio.recovered(sid), auth))

    @sio.on("join")
    async def join(sid, room):
        await sio.enter_room(sid, room)

    @sio.on("remember")
    async def remember(sid, value):
        async with sio.session(sid) as session:
            session["remembered"] = value

    @sio.on("recall")
    async def recall(sid):
        return (await sio.get_session(sid)).get("remembered")

    return sio


async def connected_client(clients, url, inbox=None, event="m", **kwargs):
    client = clients(chatlib.RecoveryClient(reconnection=False))
    if inbox is not None:
        client.on(event, inbox)
    await client.connect(url, **{**WS, **kwargs})
    return client


async def test_a_dropped_client_gets_its_sid_rooms_session_and_missed_events_back(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await alice.call("join", "kitchen")
    await alice.call("remember", {"name": "Alice"})
    await sio.emit("m", "before")
    await inbox.wait_for(1)

    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", "one")
    await sio.emit("m", ("two", 2), to="kitchen")
    await sio.emit("m", "not for alice", to="garden")
    await sio.emit("m", {"three": [3]}, to=sid)
    await alice.reconnect()

    assert alice.recovered and alice.get_sid() == sid
    assert sio.recovered(sid) and sio.connects[-1][:2] == (sid, True)
    await inbox.wait_for(4)
    assert inbox.items == ["before", "one", ("two", 2), {"three": [3]}]
    assert await alice.call("recall") == {"name": "Alice"}
    await sio.emit("m", "kitchen is still joined", to="kitchen")
    await inbox.wait_for(5)
    assert inbox.items[-1] == "kitchen is still joined"


async def test_the_offset_is_on_the_wire_but_not_in_handler_arguments(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    raw = clients(socketio.AsyncClient())
    raw_inbox, inbox = Inbox(), Inbox()
    raw.on("m", raw_inbox)
    await raw.connect(running.url, **WS)
    alice = await connected_client(clients, running.url, inbox)
    await sio.emit("m", ("a", 1))
    await raw_inbox.wait_for(1)
    await inbox.wait_for(1)
    offset = sio.store.packets()[-1]["offset"]
    assert raw_inbox.items == [("a", 1, offset)]
    assert inbox.items == [("a", 1)] and alice.last_offset == offset


async def test_a_clean_disconnect_is_not_recovered_as_in_js(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await sio.emit("m", "seen")
    await inbox.wait_for(1)
    await alice.disconnect()
    await eventually(lambda: session_row(sio, sid) is None, what="the session to be forgotten")
    await sio.emit("m", "missed for good")
    await alice.connect(running.url, **WS)
    assert not alice.recovered and alice.get_sid() != sid
    assert not sio.recovered(alice.get_sid())
    await sio.emit("m", "after")
    await inbox.wait_for(2)
    assert inbox.items == ["seen", "after"]


async def test_a_server_side_disconnect_is_not_recovered(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid = alice.get_sid()
    await sio.disconnect(sid)
    await eventually(lambda: alice.eio.state == "disconnected", what="alice to be disconnected")
    assert session_row(sio, sid) is None
    await alice.connect(running.url, **WS)
    assert not alice.recovered and alice.get_sid() != sid


async def test_events_with_an_ack_are_neither_stored_nor_given_an_offset(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    alice.on("ask", lambda *args: list(args))
    sid = alice.get_sid()
    assert await sio.call("ask", ("x", 1), to=sid) == ["x", 1]
    assert sio.store.packets() == []


async def test_a_second_client_with_the_same_pid_gets_a_new_session(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid = alice.get_sid()
    thief = clients(chatlib.RecoveryClient(reconnection=False))
    thief_inbox = Inbox()
    thief.on("m", thief_inbox)
    await thief.connect(running.url, auth={"pid": alice.pid}, **WS)
    assert thief.get_sid() != sid and not thief.recovered
    assert not sio.recovered(thief.get_sid())
    await sio.emit("m", "to everyone")
    await thief_inbox.wait_for(1)
    assert len(sio.manager.rooms["/"][None]) == 2


async def test_one_drop_is_restored_at_most_once(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid, pid = alice.get_sid(), alice.pid
    await alice.drop()
    await server_saw_drop(sio, sid)
    await alice.reconnect()
    copycat = clients(socketio.AsyncClient(reconnection=False))
    await copycat.connect(running.url, auth={"pid": pid}, **WS)
    assert alice.recovered and alice.get_sid() == sid
    assert copycat.get_sid() != sid
    assert [recovered for _, recovered, _ in sio.connects] == [False, True, False]


async def test_a_restored_session_does_not_linger_after_a_later_clean_disconnect(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    await alice.reconnect()
    await alice.call("join", "joined-after-recovery")
    await alice.disconnect()
    await alice.connect(running.url, **WS)
    assert not alice.recovered and alice.get_sid() != sid
    assert sio.manager.get_rooms(alice.get_sid(), "/") == [alice.get_sid()]


async def test_a_client_that_received_no_event_still_recovers(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await alice.call("join", "kitchen")
    await alice.call("remember", "kept")
    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", "first ever", to="kitchen")
    await alice.reconnect()
    assert alice.recovered and alice.get_sid() == sid
    assert await inbox.wait_for(1) == ["first ever"]
    assert await alice.call("recall") == "kept"


async def test_an_expired_last_packet_recovers_when_nothing_was_lost(launch, clients):
    sio = recovery_server(max_buffered_packets=5)
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await sio.emit("m", "last one alice saw")
    await inbox.wait_for(1)
    await alice.drop()
    await server_saw_drop(sio, sid)
    for n in range(10):
        await sio.emit("m", n, to="garden")
    await alice.reconnect()
    assert alice.recovered and alice.get_sid() == sid


async def test_recovery_fails_rather_than_silently_losing_an_evicted_event(launch, clients):
    sio = recovery_server(max_buffered_packets=5)
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", "meant for alice, then evicted")
    for n in range(10):
        await sio.emit("m", n, to="garden")
    await alice.reconnect()
    assert not alice.recovered and alice.get_sid() != sid


async def test_expired_sessions_are_swept_in_the_background(launch, clients):
    sio = recovery_server(max_disconnection_duration=0.3, sweep_interval=0.05)
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid = alice.get_sid()
    await sio.emit("m", "soon gone")
    await alice.drop()
    await server_saw_drop(sio, sid)
    await eventually(lambda: session_row(sio, sid) is None and not sio.store.packets(),
                     what="the sweep to expire the session and the packet")
    await alice.reconnect()
    assert not alice.recovered


async def test_emits_made_while_disconnected_are_sent_after_reconnecting(launch, clients):
    sio = recovery_server()
    heard = Inbox()
    sio.on("chat message", lambda sid, text: heard(text))
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    await alice.drop()
    await alice.emit("chat message", "written offline")
    assert [item.data for item in alice.pending] == ["written offline"]
    assert heard.items == []
    await alice.reconnect()
    assert await heard.wait_for(1) == ["written offline"]
    assert alice.pending == []


async def test_binary_events_are_recovered(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", (b"\x00\x01binary", "text"))
    await alice.reconnect()
    assert await inbox.wait_for(1) == [(b"\x00\x01binary", "text")]


async def test_the_users_auth_is_merged_and_the_handler_never_sees_the_pid(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    calls = []
    alice = await connected_client(clients, running.url, auth=lambda: calls.append(1) or {"token": "t"})
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    await alice.reconnect()
    assert alice.recovered and len(calls) == 2
    assert [auth for _, _, auth in sio.connects] == [{"token": "t"}, {"token": "t"}]


async def test_a_recovery_refused_by_the_connect_handler_keeps_the_session(launch, clients):
    sio = recovery_server()
    original_connect = sio.handlers["/"]["connect"]

    async def connect(sid, environ, auth):
        await original_connect(sid, environ, auth)
        if auth and auth.get("token") == "bad":
            return False

    sio.on("connect", connect)
    running = await launch(sio)
    alice = await connected_client(clients, running.url)
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await alice.reconnect(auth={"token": "bad"})
    assert session_row(sio, sid)["connected"] is False
    await alice.reconnect(auth={"token": "good"})
    assert alice.recovered and alice.get_sid() == sid


async def test_always_connect_mode_recovers_too(launch, clients):
    sio = chatlib.RecoveryServer(async_mode="asgi", always_connect=True)
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    sid = alice.get_sid()
    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("m", "missed")
    await alice.reconnect()
    assert alice.recovered and alice.get_sid() == sid
    assert await inbox.wait_for(1) == ["missed"]


async def test_other_namespaces_recover_on_their_own(launch, clients):
    sio = recovery_server()
    sio.on("connect", lambda sid, environ, auth: None, namespace="/chat")
    running = await launch(sio)
    inbox = Inbox()
    alice = clients(chatlib.RecoveryClient(reconnection=False))
    alice.on("m", inbox, namespace="/chat")
    await alice.connect(running.url, namespaces=["/", "/chat"], **WS)
    chat_sid = alice.get_sid("/chat")
    await alice.drop()
    await server_saw_drop(sio, chat_sid, "/chat")
    await sio.emit("m", "in /chat", namespace="/chat")
    await sio.emit("m", "in /")
    await alice.reconnect()
    assert alice.state("/chat").recovered and alice.get_sid("/chat") == chat_sid
    assert await inbox.wait_for(1) == ["in /chat"]


async def test_recovery_none_is_plain_python_socketio(launch, clients):
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=None)
    running = await launch(sio)
    raw = clients(socketio.AsyncClient())
    inbox = Inbox()
    raw.on("m", inbox)
    await raw.connect(running.url, **WS)
    await sio.emit("m", "plain")
    assert await inbox.wait_for(1) == ["plain"]
    assert sio.store is None and not sio.recovered(raw.get_sid())


async def test_a_recovery_client_against_a_server_without_recovery_strips_nothing(launch, clients):
    sio = socketio.AsyncServer(async_mode="asgi")
    running = await launch(sio)
    inbox = Inbox()
    alice = await connected_client(clients, running.url, inbox)
    await sio.emit("m", ("a", "string last"))
    assert await inbox.wait_for(1) == [("a", "string last")]
    assert alice.pid is None and alice.last_offset is None
    await alice.drop()
    await alice.reconnect()
    assert not alice.recovered


BAD_VALUES = [None, "", 0, -1, 1.5, True, [], {}, ["x"], {"a": 1}, "x" * 900_000, "\u0000\ud7ff☃", "1" * 30]


@pytest.mark.parametrize("field", ["pid", "offset"])
async def test_bad_recovery_fields_give_a_new_session_and_lose_nothing(launch, clients, caplog, field):
    sio = recovery_server()
    running = await launch(sio)
    victim = await connected_client(clients, running.url)
    victim_sid = victim.get_sid()
    await sio.emit("m", "victim saw this")
    await victim.drop()
    await server_saw_drop(sio, victim_sid)
    caplog.set_level(logging.WARNING)
    for value in BAD_VALUES:
        if field == "offset" and value is None:
            continue  # the right pid and no offset is a client that received nothing: it recovers
        auth = {"pid": victim.pid, "offset": value} if field == "offset" else {"pid": value, "offset": "1"}
        raw = clients(socketio.AsyncClient(reconnection=False))
        await raw.connect(running.url, auth=auth, wait_timeout=10, **WS)
        assert raw.get_sid() != victim_sid and not sio.recovered(raw.get_sid())
        await raw.disconnect()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    await victim.reconnect()
    assert victim.recovered and victim.get_sid() == victim_sid


async def test_the_pid_reaches_no_log_even_with_every_logger_on(launch, clients, caplog):
    caplog.set_level(logging.DEBUG)
    loggers = {name: logging.getLogger(f"chatlib-test.{name}") for name in ("sio", "eio", "c", "ce")}
    for logger in loggers.values():
        logger.setLevel(logging.DEBUG)
    sio = chatlib.RecoveryServer(async_mode="asgi", logger=loggers["sio"], engineio_logger=loggers["eio"])
    running = await launch(sio)
    alice = clients(chatlib.RecoveryClient(reconnection=False, logger=loggers["c"],
                                           engineio_logger=loggers["ce"]))
    await alice.connect(running.url, **WS)
    sid = alice.get_sid()
    await sio.emit("m", "x")
    await alice.drop()
    await server_saw_drop(sio, sid)
    await alice.reconnect()
    assert alice.recovered
    messages = [record.getMessage() for record in caplog.records]
    assert any('"pid":"<redacted>"' in message for message in messages)
    assert not [message for message in messages if alice.pid in message]


async def test_a_connect_larger_than_the_buffer_limit_is_rejected_and_loses_nothing(launch, clients):
    sio = recovery_server()
    running = await launch(sio)
    victim = await connected_client(clients, running.url)
    victim_sid = victim.get_sid()
    await victim.drop()
    await server_saw_drop(sio, victim_sid)
    huge = clients(socketio.AsyncClient(reconnection=False))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await huge.connect(running.url, auth={"pid": "x" * 2_000_000}, wait_timeout=5, **WS)
    await victim.reconnect()
    assert victim.recovered and victim.get_sid() == victim_sid


@pytest.mark.parametrize("frames", [
    ['42["chat message", unquoted]'],
    # a binary event that announces no attachment, then a frame python-socketio would take
    # as its attachment and raise on (found by tests/reliability/test_hostile_fuzz.py)
    ['45["chat message"]', b"\x01"],
], ids=["bad JSON", "binary event without attachments"])
async def test_a_malformed_packet_closes_that_connection_and_keeps_nothing(launch, caplog, frames):
    import json as _json

    import websockets

    sio = recovery_server()
    running = await launch(sio)
    caplog.set_level(logging.WARNING)
    url = running.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url) as ws:
        assert (await ws.recv()).startswith("0")
        await ws.send("40")
        reply = await ws.recv()
        assert reply.startswith("40") and "pid" in _json.loads(reply[2:])
        for frame in frames:
            await ws.send(frame)
        await eventually(lambda: ws.close_code is not None or not sio.manager.rooms,
                         what="the server to close the connection")
    await eventually(lambda: sio.store.sessions() == [], what="the session to be forgotten")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_shutdown_leaves_the_apps_own_background_tasks_running(launch, clients):
    # python-socketio's shutdown() does not cancel what the app started; recovery's shutdown
    # ends only python-engineio's ping tasks (they would outlive the server)
    sio = recovery_server()
    running = await launch(sio)
    await connected_client(clients, running.url, **WS)
    finished = []

    async def work():
        await sio.sleep(0.2)
        finished.append(True)

    task = sio.start_background_task(work)
    await sio.shutdown()
    await task
    assert finished == [True]
