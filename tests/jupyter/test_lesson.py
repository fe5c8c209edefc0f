"""The lesson's pieces on real servers: the click-along story, the exercises' checks, clean-up.

Each exercise is answered wrong (not yet, with a hint) and right (correct, after the
check has played the answer on its live scene), as a reader would answer it.
"""

from __future__ import annotations

import asyncio

import pytest

import chatlib
from chatlib.lesson import step6
from chatlib.lesson.exercises import Correct, Exercise, NotYet


@pytest.fixture(autouse=True)
async def nothing_left_behind():
    yield
    assert await chatlib.stop_all() == []


def last_verdict(exercise):
    return exercise.verdicts[-1]


async def test_an_exercise_says_not_yet_with_the_fitting_hint_then_correct(capsys):
    ex = Exercise("Exercise 0", lambda answer: Correct("yes") if answer == 42
                  else NotYet("no", hint=1), hints=["first", "second"], solution="42",
                  name="ex0")
    await ex.check(41)
    shown = capsys.readouterr().out
    assert "Not yet: no Hint: second" in shown and "ex0.hint()" in shown
    assert not ex.solved
    await ex.check(42)
    assert "✓ Correct: yes" in capsys.readouterr().out and ex.solved
    ex.hint()
    assert "Hint 1/2: first" in capsys.readouterr().out   # the one not shown yet
    ex.solution()
    assert "42" in capsys.readouterr().out


async def test_the_spanish_words_of_an_exercise():
    ex = Exercise("Ejercicio 0", lambda: NotYet("no"), hints=[], solution="", labels="es",
                  name="ej0")
    await ex.check()
    assert isinstance(last_verdict(ex), NotYet) and ex.words["not_yet"] == "Todavía no"


async def test_the_click_along_story_plays_itself_and_confirms_a_readers_clicks(capsys):
    server = await chatlib.start_chat_server()
    alice, bob = chatlib.ChatWidget(server, "Alice"), chatlib.ChatWidget(server, "Bob")
    wire = chatlib.WireView(server)
    await alice.connect()
    await bob.connect()
    story = chatlib.ClickAlong(server, alice, bob, wire=wire)

    await story.sent(bob, "hello")                     # nobody typed: the story does it
    assert "Not yet" in capsys.readouterr().out
    await alice.disconnect()                           # the reader clicks Disconnect
    await story.disconnected(alice)
    said = capsys.readouterr().out
    assert said.startswith("✓ You clicked Disconnect on Alice.") and "is True" in said
    await bob.send("realtime")                         # the reader sends from Bob
    await bob.wait_for_message("realtime")
    await story.sent_while_away(bob, alice, "ignored")
    assert "2 “realtime”" in capsys.readouterr().out
    await story.reconnected(alice)
    said = capsys.readouterr().out
    assert "recovered: True; same id as before: yes" in said
    assert "presented offset 1" in said and "Replayed to Alice" in said and "“realtime”" in said
    assert alice.messages == ["hello", "realtime"]


async def test_offsets_exercise_wrong_then_right_plays_the_replay():
    ex = await step6.offsets_exercise("en")
    await ex.check(["1", "2", "3"])
    assert isinstance(last_verdict(ex), NotYet)
    await ex.check(["3", "4", "5"])
    verdict = last_verdict(ex)
    assert isinstance(verdict, Correct) and "↻ 3, 4, 5" in verdict.why


async def test_rooms_exercise_counts_only_the_room_alice_is_in():
    ex = await step6.rooms_exercise("es")
    await ex.check(["¿comemos a las doce?", "¿quién se llevó mi grapadora?", "reservo mesa"])
    assert isinstance(last_verdict(ex), NotYet)
    await ex.check(["¿comemos a las doce?", "reservo mesa"])
    assert isinstance(last_verdict(ex), Correct)


async def test_countdown_exercise_wants_one_recovery_in_time_and_one_too_late(monkeypatch):
    monkeypatch.setattr(step6, "COUNTDOWN_SECONDS", 1)
    ex = await step6.countdown_exercise("en")
    alice = next(w for w in chatlib.jupyter.lifecycle.running_servers()[-1].clients
                 if w.name == "Alice")
    await ex.check()
    assert last_verdict(ex) == NotYet("Alice has not left yet.", hint=0)
    await alice.disconnect()
    await alice.connect()
    await ex.check()
    assert isinstance(last_verdict(ex), NotYet) and "recovered" in last_verdict(ex).why
    await alice.disconnect()
    server, sid = alice.server, alice.sid
    async with asyncio.timeout(10):                 # expiry is not an event: look again
        while server.is_kept(sid):
            await asyncio.sleep(0.1)
    await alice.connect()
    await ex.check()
    assert isinstance(last_verdict(ex), Correct)


async def test_resync_exercise_runs_the_readers_handler_on_each_reconnection(capsys):
    ex = await step6.resync_exercise("en")
    await ex.check(lambda client, resynchronise: None)
    assert isinstance(last_verdict(ex), NotYet)
    assert "Eve reconnected (recovered: False); your handler did not" in capsys.readouterr().out

    def on_connect(client, resynchronise):
        if not client.recovered:
            resynchronise()

    await ex.check(on_connect)
    assert isinstance(last_verdict(ex), Correct)


async def test_the_clean_up_button_stops_every_server():
    server = await chatlib.start_chat_server()
    chatlib.ChatWidget(server, "Alice")
    clean_up = chatlib.CleanUp()
    clean_up.button.click()
    await clean_up._tasks.wait(10)
    assert not server.running and clean_up.left_behind == []
    assert "left behind: 0" in clean_up.line.value
