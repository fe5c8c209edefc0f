"""The step-9 lesson's exercise (scaling horizontally), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.lesson import step9
    ex1 = await step9.third_server_exercise("en")
    await ex1.check(lambda url: {"store": chatlib.RedisStore(url),
                                 "client_manager": socketio.AsyncRedisManager(url)})
"""

from __future__ import annotations

import contextlib
import inspect
import secrets
from typing import Any

import socketio
from IPython.display import display

from ..jupyter.labels import Labels
from ..jupyter.launcher import start_chat_server
from ..jupyter.widget import ChatWidget
from ..jupyter.wire_view import WireView
from ..stores.redis import RedisStore
from .exercises import Correct, Exercise, NotYet, describe
from .local_redis import redis_server
from .scratch import scratch_path
from .strip import Strip
from .texts import texts

_WAIT = 3.0
#: options the exercise sets itself for north, as for east and west; a reader's are ignored
_SET_BY_THE_EXERCISE = ("db", "replace", "port", "host")


async def third_server_exercise(labels: Labels = "en",
                                name: str = "ex1") -> Exercise | None:
    """A cluster of its own: a Redis, servers "east" and "west" on it, one SQLite file.

    The check starts "north" with the options the reader's ``options(url)`` returns for
    that Redis: Kim drops from east, Jon sends on west, Kim comes back on north, Jon sends
    again. None (after saying how to install it) when redis-server is missing.
    """
    text = texts("step9", labels)
    redis = await redis_server(labels)
    if redis is None:
        return None
    # a file of its own each time the cell runs: a second run starts from no messages
    url, db = redis.url, scratch_path(f"{name}-cluster-{secrets.token_hex(4)}.db")

    async def member() -> Any:
        return await start_chat_server(step=7, db=db, replace=False, store=RedisStore(url),
                                       client_manager=socketio.AsyncRedisManager(url))

    east, west = await member(), await member()

    async def chosen_options(options: Any) -> Any:
        """The reader's options for north, or a NotYet saying why they are not options."""
        if not callable(options):
            return NotYet(text["not_function"])
        try:
            chosen = options(url)
            if inspect.isawaitable(chosen):
                chosen = await chosen
        except Exception as error:
            return NotYet(text["raised"].format(error=describe(error)))
        if not isinstance(chosen, dict) or not all(isinstance(key, str) for key in chosen):
            return NotYet(text["not_dict"].format(got=type(chosen).__name__))
        chosen = dict(chosen)
        if chosen.pop("step", 7) != 7:
            return NotYet(text["step"])
        for key in _SET_BY_THE_EXERCISE:
            chosen.pop(key, None)
        return chosen

    async def check(options: Any = None) -> Any:
        chosen = await chosen_options(options)
        if isinstance(chosen, NotYet):
            return chosen
        try:
            north = await start_chat_server(step=7, db=db, replace=False, **chosen)
        except Exception as error:
            return NotYet(text["refused"].format(error=describe(error)), hint=0)
        kim = ChatWidget(east, "Kim", labels=labels)
        jon = ChatWidget(west, "Jon", labels=labels)
        display(Strip(kim, jon, WireView(north, labels=labels)))
        recovered = crossed = False
        try:
            for widget in (kim, jon):
                await widget.connect()
            await kim.disconnect()
            await jon.send(text["while_away"])
            await jon.wait_for_message(text["while_away"])
            await kim.connect(north)
            with contextlib.suppress(TimeoutError):   # a restore, or the catch-up
                await kim.wait_for_message(text["while_away"], timeout=_WAIT)
            recovered = bool(kim.client.recovered)
            await jon.send(text["hello_north"])
            try:
                await kim.wait_for_message(text["hello_north"], timeout=_WAIT)
                crossed = True
            except TimeoutError:
                crossed = False
        finally:
            await kim.aclose()
            await jon.aclose()
            await north.stop()
        said = (text["crossed"].format(crossed=crossed) + " "
                + text["recovered"].format(recovered=recovered))
        if not crossed:
            return NotYet(said, hint=0)
        if not recovered:
            return NotYet(said, hint=1)
        return Correct(f"{said} {text['right']}")

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)
