"""The step-9 lesson's exercise (scaling horizontally), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.lesson import step9
    ex1 = step9.third_server_exercise(redis.url, east, west, db, "en")
    await ex1.check(lambda url: {"store": chatlib.RedisStore(url),
                                 "client_manager": socketio.AsyncRedisManager(url)})
"""

from __future__ import annotations

from typing import Any, Callable

from ..jupyter.labels import Labels
from ..jupyter.launcher import start_chat_server
from ..jupyter.widget import ChatWidget
from .exercises import Correct, Exercise, NotYet
from .texts import texts

_WAIT = 3.0


def third_server_exercise(url: str, east: Any, west: Any, db: str, labels: Labels = "en",
                          name: str = "ex1") -> Exercise:
    """The lesson's Redis ``url``, servers and database. The check starts "north" with the
    reader's options: Kim drops from east, Jon sends on west, Kim comes back on north."""
    text = texts("step9", labels)

    async def check(options: Callable[[str], dict]) -> Any:
        if not callable(options):
            return NotYet(text["not_function"])
        chosen = options(url)
        if not isinstance(chosen, dict):
            return NotYet(text["not_function"])
        north = await start_chat_server(step=7, db=db, replace=False, **chosen)
        kim = ChatWidget(east, "Kim", labels=labels)
        jon = ChatWidget(west, "Jon", labels=labels)
        try:
            for widget in (kim, jon):
                await widget.connect()
            await kim.disconnect()
            await jon.send("while Kim was away")
            await jon.wait_for_message("while Kim was away")
            await kim.connect(north)
            await kim.wait_for_message("while Kim was away")   # a restore, or the catch-up
            recovered = kim.client.recovered
            await jon.send("hello north")
            try:
                await kim.wait_for_message("hello north", timeout=_WAIT)
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
