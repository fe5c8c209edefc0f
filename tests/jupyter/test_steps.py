"""Steps 7, 8 and 9 in the Jupyter layer, on real servers (and a real redis-server for 9).

What a reader of the notebooks relies on: a step-7 widget presents its serverOffset and is
caught up when not recovered; the step-8 faults make the three guarantees visible; several
servers on one Redis carry messages and recover a client on another server; the lessons'
exercises answer right and wrong answers as they say; nothing is left running.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
import socketio

import chatlib
from chatlib.lesson import local_redis, step7, step8, step9
from chatlib.lesson.exercises import Correct, NotYet
from tests.services import require


@pytest.fixture(autouse=True)
async def nothing_left_behind():
    yield
    assert await chatlib.stop_all() == []


@pytest.fixture
async def redis():
    require("redis-server", shutil.which("redis-server") is not None,
            "apt-get install redis-server")
    server = await chatlib.redis_server()
    yield server
    await chatlib.stop_all()   # the chat servers first, then their Redis


async def test_a_step_7_widget_is_caught_up_after_a_restart_and_not_after_a_recovery(tmp_path):
    db = str(tmp_path / "chat.db")
    server = await chatlib.start_chat_server(step=7, db=db)
    alice = chatlib.ChatWidget(server.url, "Alice", server_offset=True)
    bob = chatlib.ChatWidget(server, "Bob")
    for widget in (alice, bob):
        await widget.connect()
    await bob.send("one")
    await alice.wait_for_message("one")
    assert alice.offset.value == 1 and alice.history[-1]["id"] == 1
    assert "serverOffset" in alice.status.value

    await alice.disconnect()
    await bob.send("two")
    await alice.connect()
    await alice.wait_for_message("two")
    assert alice.client.recovered and step7.catch_up(server, alice) is None

    await alice.disconnect()
    await bob.send("three")
    await bob.wait_for_message("three")
    await server.stop()
    again = await chatlib.start_chat_server(step=7, db=db, port=server.port)
    await alice.connect(again)
    await alice.wait_for_message("three")
    assert not alice.client.recovered
    assert step7.catch_up(again, alice) == [3]
    assert alice.messages == ["one", "two", "three"]
    assert "catch-up: ids [3]" in step7.said(again, alice)


async def test_a_step_server_closes_the_database_it_opened():
    server = await chatlib.start_chat_server(step=8)
    await server.stop()
    with pytest.raises(sqlite3.ProgrammingError):   # "Cannot operate on a closed database"
        await server.history.since(0)
    with pytest.raises(ValueError):
        await chatlib.start_chat_server(step=5)


async def test_the_three_guarantees_of_step_8():
    server = await chatlib.start_chat_server(step=8)
    faults = chatlib.Faults(server)
    plain = chatlib.ChatWidget(server, "Plain", client_offset=False)
    retrying = chatlib.ChatWidget(server, "Retrying", retries=3, ack_timeout=0.3,
                                  client_offset=False)
    once = chatlib.ChatWidget(server, "Once", retries=3, ack_timeout=0.3)
    reader = chatlib.ChatWidget(server, "Reader")
    for widget in (plain, retrying, once, reader):
        await widget.connect()

    faults.lose_next()
    await plain.send("at most once")
    await retrying.send("marker")             # queued behind nothing: arrives
    await reader.wait_for_message("marker")
    assert "at most once" not in reader.messages and plain.pending == []

    faults.delay_next_ack(0.8)
    await retrying.send("at least once")
    await reader.wait_for_message("at least once")
    while retrying.pending:
        await asyncio.sleep(0.05)
    assert reader.messages.count("at least once") == 2

    faults.delay_next_ack(0.8)
    await once.send("exactly once")
    while once.pending:
        await asyncio.sleep(0.05)
    rows = [row for row in await server.history.since(0) if row[1] == "exactly once"]
    assert len(rows) == 1 and reader.messages.count("exactly once") == 1
    assert once.errors == []


async def test_a_message_given_up_shows_as_an_error_in_the_widget():
    server = await chatlib.start_chat_server(step=8)
    faults = chatlib.Faults(server)
    widget = chatlib.ChatWidget(server, "Alice", retries=1, ack_timeout=0.2)
    await widget.connect()
    faults.lose_next(2)
    await widget.send("never")
    while widget.pending:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0)
    assert isinstance(widget.errors[-1], chatlib.DeliveryError)
    assert "DeliveryError" in widget.error_line.value


async def test_servers_on_one_redis_carry_messages_and_recover_on_another_server(redis,
                                                                                 tmp_path):
    db = str(tmp_path / "chat.db")

    async def member():
        return await chatlib.start_chat_server(step=7, db=db, store=chatlib.RedisStore(redis.url),
                                               client_manager=socketio.AsyncRedisManager(redis.url))

    east, west = await member(), await member()
    ines, jon = chatlib.ChatWidget(east, "Ines"), chatlib.ChatWidget(west, "Jon")
    for widget in (ines, jon):
        await widget.connect()
    await jon.send("crosses")
    await ines.wait_for_message("crosses")
    sid = ines.sid
    await ines.disconnect()
    await jon.send("missed")
    await jon.wait_for_message("missed")
    await ines.connect(west)
    await ines.wait_for_message("missed")
    assert ines.client.recovered and ines.sid == sid and ines.messages == ["crosses", "missed"]
    assert step7.catch_up(west, ines) is None


async def test_stop_all_stops_the_redis_it_started(redis):
    assert redis.running and "6379" not in repr(redis)
    await chatlib.stop_all()
    assert not redis.running and local_redis._started == []


async def test_without_redis_server_the_lesson_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert await chatlib.redis_server("es") is None
    assert "redis-server no está instalado" in capsys.readouterr().out


async def test_the_step_7_exercise(capsys):
    ex = await step7.catch_up_exercise("en")
    await ex.check([4, 5])
    assert isinstance(ex.verdicts[-1], NotYet)
    await ex.check([3, 4, 5])
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
    assert "catch-up sent ids [3, 4, 5]" in capsys.readouterr().out


async def test_the_step_8_exercise():
    ex = await step8.exactly_once_exercise("es")
    await ex.check({"retries": 3, "ack_timeout": 0.3})
    assert isinstance(ex.verdicts[-1], NotYet) and "dos veces" in ex.verdicts[-1].why
    await ex.check({"retries": 3, "ack_timeout": 0.3, "client_offset": True})
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]


async def test_the_step_9_exercise(redis):
    ex = await step9.third_server_exercise()      # a Redis and east, west of its own
    await ex.check(lambda url: {"client_manager": socketio.AsyncRedisManager(url)})
    assert isinstance(ex.verdicts[-1], NotYet) and "recovered False" in ex.verdicts[-1].why
    await ex.check(lambda url: {"store": chatlib.RedisStore(url),
                                "client_manager": socketio.AsyncRedisManager(url)})
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
