"""Every check answers whatever a learner types: wrong values, wrong types, extra or missing
keys, a function that raises, a coroutine, None, too many arguments. The answer is "Not yet"
and a reason, never a traceback; and ``hint()`` gives the next hint not shown yet.

The exercises run on real chat servers (and a real redis-server for step 9), without a kernel.
"""

from __future__ import annotations

import shutil

import pytest
import socketio

import chatlib
from chatlib.lesson import step6, step7, step8, step9
from chatlib.lesson.exercises import Correct, Exercise, NotYet
from tests.services import require


@pytest.fixture(autouse=True)
async def nothing_left_behind():
    yield
    assert await chatlib.stop_all() == []


async def answers(exercise, *attempts):
    """Check each attempt (a tuple of arguments) in turn; return the verdicts."""
    for attempt in attempts:
        await exercise.check(*attempt)
    return exercise.verdicts[-len(attempts):]


def assert_not_yet_with_a_reason(verdicts):
    for verdict in verdicts:
        assert isinstance(verdict, NotYet), verdict
        assert len(verdict.why.split()) >= 4, verdict   # a reason, in words


async def an_async_function():
    return ["3", "4", "5"]


def raises(*_args):
    raise RuntimeError("my bug")


# -- the engine -----------------------------------------------------------------------


async def test_hint_gives_hint_1_first_even_after_a_check_showed_hint_2(capsys):
    ex = Exercise("Exercise 0", lambda answer: NotYet("no", hint=1), hints=["first", "second"],
                  solution="42", name="ex0")
    await ex.check(41)
    assert "Hint: second" in capsys.readouterr().out
    ex.hint()
    assert "Hint 1/2: first" in capsys.readouterr().out
    ex.hint()       # both shown: the last one again, with the way to the solution
    shown = capsys.readouterr().out
    assert "Hint 2/2: second" in shown and "ex0.solution()" in shown


async def test_the_engine_turns_arguments_coroutines_raises_and_bad_verdicts_into_not_yet(capsys):
    ex = Exercise("Exercise 0", lambda answer: 1 / 0 if answer == 0 else "not a verdict",
                  hints=[], solution="", name="ex0")
    coroutine = an_async_function()
    verdicts = await answers(ex, (), (1, 2), (coroutine,), (0,), (5,))
    assert_not_yet_with_a_reason(verdicts)
    why = [verdict.why for verdict in verdicts]
    assert "await ex0.check(answer)" in why[0] and "await ex0.check(answer)" in why[1]
    assert "coroutine" in why[2] and coroutine.cr_frame is None   # closed: no warning later
    assert "ZeroDivisionError: division by zero" in why[3]
    assert "Traceback" not in capsys.readouterr().out


# -- step 6 ------------------------------------------------------------------------------


async def test_step_6_offsets_wrong_shapes_then_a_list_of_numbers_is_right():
    ex = await step6.offsets_exercise("en")
    verdicts = await answers(ex, (None,), ({"3": 1},), (["1", "2", "3"],), (["3", "4"],),
                             (3.5,), (raises,), ("a", "b"))
    assert_not_yet_with_a_reason(verdicts)
    await ex.check([3, 4, 5])
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
    await ex.check(["3", "4", "5"])   # the right answer run again: still right
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]


async def test_step_6_offsets_takes_them_as_one_text_too():
    ex = await step6.offsets_exercise("es")
    await ex.check("3, 4, 5")
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]


async def test_step_6_rooms_wrong_shapes():
    ex = await step6.rooms_exercise("es")
    verdicts = await answers(ex, ({"reservo mesa": 1},), (["reservo mesa"],), (42,),
                             (["¿comemos a las doce?", "reservo mesa", "extra"],), (None,))
    assert_not_yet_with_a_reason(verdicts)


async def test_step_6_countdown_takes_no_answer_and_says_so():
    ex = await step6.countdown_exercise("en")
    verdicts = await answers(ex, ("now",), (), (None, None))
    assert_not_yet_with_a_reason(verdicts)
    assert "await ex3.check()" in verdicts[0].why


async def test_step_6_resync_handlers_that_raise_hang_or_are_not_functions(monkeypatch):
    monkeypatch.setattr(step6, "HANDLER_SECONDS", 0.5)
    ex = await step6.resync_exercise("en")

    def one_argument(client):
        pass

    async def forever(client, resynchronise):
        import asyncio
        await asyncio.sleep(3600)

    def on_connect(client, resynchronise):
        if not client.recovered:
            resynchronise()

    verdicts = await answers(ex, (None,), ("resynchronise",), (raises,), (one_argument,),
                             (forever,), (123,))
    assert_not_yet_with_a_reason(verdicts)
    assert "RuntimeError: my bug" in verdicts[2].why
    assert "TypeError" in verdicts[3].why and "0.5 s" in verdicts[4].why
    await ex.check(on_connect)
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]


# -- steps 7, 8 and 9 -------------------------------------------------------------------------


async def test_step_7_wrong_shapes_then_right_and_right_again():
    ex = await step7.catch_up_exercise("es")
    verdicts = await answers(ex, (None,), ({3: "tres"},), ("345x",), ([True, 4, 5],),
                             ([3.5, 4, 5],), ([1, 2],))
    assert_not_yet_with_a_reason(verdicts)
    await ex.check("3, 4, 5")
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
    await ex.check([3, 4, 5])     # running the right answer again: still right
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]


async def test_step_8_wrong_shapes_are_refused_before_anything_runs():
    ex = await step8.exactly_once_exercise("en")
    verdicts = await answers(ex, (None,), ([("retries", 3)],), ({"retries": "3"},),
                             ({"retry": 3},), ({"retries": 3, "ack_timeout": -1},),
                             ({"client_offset": "yes"},), ({1: 2},))
    assert_not_yet_with_a_reason(verdicts)
    assert "retry" in verdicts[3].why and "retries" in verdicts[3].why


async def test_step_8_plays_an_incomplete_answer_in_the_readers_language():
    ex = await step8.exactly_once_exercise("es")
    await ex.check({"retries": 3, "ack_timeout": 0.3})
    verdict = ex.verdicts[-1]
    assert isinstance(verdict, NotYet) and "«segundo» 2" in verdict.why, verdict


@pytest.fixture
def redis_installed():
    require("redis-server", shutil.which("redis-server") is not None,
            "apt-get install redis-server")


async def test_step_9_wrong_shapes_then_the_notebooks_own_options(redis_installed, capsys):
    ex = await step9.third_server_exercise("en")

    async def async_options(url):
        return {"store": chatlib.RedisStore(url),
                "client_manager": socketio.AsyncRedisManager(url)}

    verdicts = await answers(ex, (None,), ({"store": None},), (lambda url: None,),
                             (raises,), (lambda url: {"step": 6},),
                             (lambda url: {"ping_interval": "soon"},),
                             (lambda url: {"client_manager": socketio.AsyncRedisManager(url)},))
    assert_not_yet_with_a_reason(verdicts)
    assert "RuntimeError: my bug" in verdicts[3].why
    assert "recovered False" in verdicts[-1].why
    db = "chat.db"   # what the notebook's own servers pass, step and db included
    await ex.check(lambda url: {"step": 7, "db": db, "store": chatlib.RedisStore(url),
                                "client_manager": socketio.AsyncRedisManager(url)})
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
    await ex.check(async_options)
    assert isinstance(ex.verdicts[-1], Correct), ex.verdicts[-1]
    assert "Traceback" not in capsys.readouterr().out
