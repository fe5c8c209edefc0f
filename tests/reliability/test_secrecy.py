"""Session secrecy and takeover: the pid is a bearer secret.

- it reaches no other client (raw observers record every frame they are sent), no inspection data
  (``store.sessions()``/``packets()``, what BufferView shows), no log record at any level;
- presenting a live session's pid gives a new session, never that one;
- a restored session's pid cannot be restored again while it is connected, and one drop is
  restored at most once even when several connections present the pid at the same moment.
"""

from __future__ import annotations

import asyncio
import logging

import chatlib
from tests.helpers import Inbox, eventually, server_saw_drop
from tests.reliability.support import RawConnection

WS = {"transports": ["websocket"]}


def secrecy_server() -> chatlib.RecoveryServer:
    sio = chatlib.RecoveryServer(async_mode="asgi", logger=True, engineio_logger=True)
    sio.connects = []

    @sio.event
    async def connect(sid, environ, auth):
        sio.connects.append((sid, sio.recovered(sid)))
        if not sio.recovered(sid):
            await sio.enter_room(sid, "lobby")

    @sio.on("join")
    async def join(sid, room):
        await sio.enter_room(sid, room)

    @sio.on("chat")
    async def chat(sid, text):
        await sio.emit("chat", {"from": sid, "text": text}, to="lobby")
        async with sio.session(sid) as session:
            session["said"] = text

    return sio


class Observer:
    """A bare Engine.IO connection in the lobby that records every frame sent to it."""

    def __init__(self, connection: RawConnection, pid: str, sid: str) -> None:
        self.connection = connection
        self.pid = pid
        self.sid = sid
        self.frames: list = []
        self.task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def join(cls, url: str) -> Observer:
        connection = await RawConnection.open_to(url)
        _, data = await connection.connect_namespace({})
        return cls(connection, data["pid"], data["sid"])

    async def _read(self) -> None:
        try:
            while True:
                self.frames.append(await self.connection.recv(timeout=3600))
        except Exception:
            return

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.connection.close(clean=True)


def contains(frames: list, secret: str) -> bool:
    return any(secret in (frame if isinstance(frame, str) else frame.decode("latin-1"))
               for frame in frames)


async def test_the_pid_reaches_no_other_client_no_inspection_data_and_no_log(
        launch, clients, caplog, figures):
    # python-socketio and python-engineio set their loggers to ERROR the first time a server or
    # client is made without logging, for the whole process: open them up explicitly
    for name in (None, "socketio.server", "engineio.server", "socketio.client", "engineio.client",
                 "chatlib"):
        caplog.set_level(logging.DEBUG, logger=name)
    sio = secrecy_server()
    running = await launch(sio)
    observers = [await Observer.join(running.url) for _ in range(2)]
    alice_inbox = Inbox()
    alice = clients(chatlib.RecoveryClient(reconnection=False, logger=True, engineio_logger=True))
    alice.on("chat", alice_inbox)
    await alice.connect(running.url, **WS)
    sid, pid = alice.get_sid(), alice.pid
    await alice.call("join", "kitchen")
    await alice.emit("chat", "hello")
    await alice_inbox.wait_for(1)
    await alice.drop()
    await server_saw_drop(sio, sid)
    await sio.emit("chat", {"from": "server", "text": "while alice was away"}, to="lobby")
    await alice.reconnect()
    assert alice.recovered and alice.pid == pid
    await alice.emit("chat", "back")
    await alice_inbox.wait_for(3)
    # a thief presents alice's pid while she is connected: it gets its own session
    thief = await RawConnection.open_to(running.url)
    kind, data = await thief.connect_namespace({"pid": pid, "offset": alice.last_offset})
    assert kind == "connect" and data["sid"] != sid and data["pid"] != pid
    await thief.close(clean=True)
    await sio.emit("chat", {"from": "server", "text": "the end"}, to="lobby")
    for observer in observers:
        await eventually(lambda observer=observer: contains(observer.frames, "the end"), 5,
                         "the observers' last frame")
    for observer in observers:
        await observer.close()

    secrets_ = [pid, data["pid"]] + [observer.pid for observer in observers]
    leaks = []
    for observer in observers:
        for secret in secrets_:
            if secret != observer.pid and contains(observer.frames, secret):
                leaks.append(f"an observer was sent another session's pid {secret[:4]}…")
    inspection = repr(sio.store.sessions()) + repr(sio.store.packets())
    leaks += [f"inspection data shows pid {s[:4]}…" for s in secrets_ if s in inspection]
    # the observers' and thief's own WebSocket library logs its frames at DEBUG: it is this
    # test's tool, not a part of the system under test
    messages = [(record.levelno, record.getMessage(), record.name) for record in caplog.records
                if not record.name.startswith("websockets.client")]
    leaks += [f"a log record at {logging.getLevelName(level)} shows pid {s[:4]}…: {name}: "
              + message.replace(s, "<pid>")[:150]
              for level, message, name in messages for s in secrets_ if s in message]
    figures(frames_observed=sum(len(o.frames) for o in observers), pids_checked=len(secrets_),
            log_records_scanned=len(messages),
            log_records_at_info_or_above=sum(1 for level, _, _ in messages
                                             if level >= logging.INFO),
            redacted_records=sum(1 for _, m, _ in messages if '"pid":"<redacted>"' in m),
            leaks=len(leaks))
    assert not leaks, leaks
    assert any('"pid":"<redacted>"' in message for _, message, _ in messages)


async def test_a_live_or_restored_pid_cannot_be_taken_over(launch, clients, figures):
    sio = secrecy_server()
    running = await launch(sio)
    inbox = Inbox()
    alice = clients(chatlib.RecoveryClient(reconnection=False))
    alice.on("chat", inbox)
    await alice.connect(running.url, **WS)
    sid, pid = alice.get_sid(), alice.pid
    await alice.call("join", "kitchen")
    await sio.emit("chat", "one", to="kitchen")
    await inbox.wait_for(1)
    attempts, takeovers = 0, []

    async def try_pid(offset) -> dict:
        nonlocal attempts
        attempts += 1
        thief = await RawConnection.open_to(running.url)
        _kind, data = await thief.connect_namespace({"pid": pid, "offset": offset})
        frames = []
        await sio.emit("chat", "probe", to="kitchen")
        try:
            while True:
                frames.append(await thief.recv(timeout=0.3))
        except TimeoutError:
            pass   # nothing more is coming: the probe went to the kitchen only
        await thief.close(clean=True)
        taken = data.get("sid") == sid or sio.recovered(data.get("sid", ""))
        if taken or contains(frames, "probe"):
            takeovers.append((offset, data))
        return data

    # while the session is live
    for offset in (alice.last_offset, None, "0"):
        await try_pid(offset)
    assert alice.connected and alice.get_sid() == sid
    # after it was restored once, and while it is connected again
    await alice.drop()
    await server_saw_drop(sio, sid)
    await alice.reconnect()
    assert alice.recovered and alice.get_sid() == sid
    for offset in (alice.last_offset, None):
        await try_pid(offset)
    assert alice.connected and alice.get_sid() == sid
    await sio.emit("chat", "still hers", to="kitchen")
    await eventually(lambda: inbox.items[-1:] == ["still hers"], 5, "alice's message")

    # one drop, several connections presenting the pid at once: one restore at most
    await alice.drop()
    await server_saw_drop(sio, sid)
    racers = [await RawConnection.open_to(running.url) for _ in range(5)]
    replies = await asyncio.gather(*(r.connect_namespace({"pid": pid, "offset": alice.last_offset})
                                     for r in racers))
    restored = [data for kind, data in replies if kind == "connect" and data["sid"] == sid]
    for racer in racers:
        await racer.close(clean=True)
    figures(takeover_attempts=attempts + len(racers), takeovers=len(takeovers),
            racers=len(racers), racers_restored=len(restored))
    assert not takeovers, takeovers
    assert len(restored) == 1, replies
