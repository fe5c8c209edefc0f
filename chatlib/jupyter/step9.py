"""The step-9 lesson's exercise (scaling horizontally), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.jupyter import step9
    ex1 = step9.third_server_exercise(redis.url, east, west, db, "en")
    await ex1.check(lambda url: {"store": chatlib.RedisStore(url),
                                 "client_manager": socketio.AsyncRedisManager(url)})
"""

from __future__ import annotations

from typing import Any, Callable

from .exercises import Correct, Exercise, NotYet
from .labels import Labels
from .launcher import start_chat_server
from .step6 import _language
from .widget import ChatWidget

TEXTS = {
    "en": {
        "title": "Exercise 1: a third server joins",
        "hints": ["Messages cross servers through the client manager: every server must "
                  "publish to, and listen on, the same Redis.",
                  "Recovery on another server needs the sessions and the packets where every "
                  "server finds them: the recovery store too must be in that Redis."],
        "solution": 'def options(url):\n    return {"store": chatlib.RedisStore(url),\n'
                    '            "client_manager": socketio.AsyncRedisManager(url)}',
        "explanation": "AsyncRedisManager carries every emit to the other servers; RedisStore "
                       "keeps the sessions and packets in the same Redis, so north can give "
                       "Kim back the session east kept for her.",
        "not_function": "Give a function: options(url) returns the server's options as a dict.",
        "crossed": "Jon's message on west reached Kim on north: {crossed}.",
        "recovered": "Kim dropped from east and came back on north: recovered {recovered}.",
        "right": "Messages cross, and north restored Kim's session with what she missed, "
                 "without a catch-up.",
    },
    "es": {
        "title": "Ejercicio 1: llega un tercer servidor",
        "hints": ["Los mensajes pasan de un servidor a otro por el gestor de clientes "
                  "(client manager): todos deben publicar en el mismo Redis y escucharlo.",
                  "Recuperar en otro servidor necesita las sesiones y los paquetes donde todos "
                  "los servidores los encuentren: el almacén de recuperación también debe estar "
                  "en ese Redis."],
        "solution": 'def opciones(url):\n    return {"store": chatlib.RedisStore(url),\n'
                    '            "client_manager": socketio.AsyncRedisManager(url)}',
        "explanation": "AsyncRedisManager lleva cada emit a los demás servidores; RedisStore "
                       "guarda las sesiones y los paquetes en el mismo Redis, así que north "
                       "puede devolver a Kim la sesión que east le guardó.",
        "not_function": "Da una función: opciones(url) devuelve las opciones del servidor "
                        "como un dict.",
        "crossed": "El mensaje de Jon en west llegó a Kim en north: {crossed}.",
        "recovered": "Kim se cayó de east y volvió en north: recovered {recovered}.",
        "right": "Los mensajes cruzan, y north restauró la sesión de Kim con lo que se perdió, "
                 "sin puesta al día.",
    },
}

_WAIT = 3.0


def third_server_exercise(url: str, east: Any, west: Any, db: str, labels: Labels = "en",
                          name: str = "ex1") -> Exercise:
    """The lesson's Redis ``url``, servers and database. The check starts "north" with the
    reader's options: Kim drops from east, Jon sends on west, Kim comes back on north."""
    language = _language(labels)
    text = TEXTS[language]

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
