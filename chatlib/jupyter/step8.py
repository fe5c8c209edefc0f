"""The step-8 lesson's exercise (client delivery), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.jupyter import step8
    ex1 = await step8.exactly_once_exercise("en")
    await ex1.check({"retries": 3, "ack_timeout": 0.5, "client_offset": True})
"""

from __future__ import annotations

import asyncio
from typing import Any

from .exercises import Correct, Exercise, NotYet
from .faults import Faults
from .labels import Labels
from .launcher import start_chat_server
from .step6 import _language
from .widget import ChatWidget

_LATE = 1.0   # seconds the second message's ack is late
_WAIT = 2.5   # seconds the check waits for each message to be stored

TEXTS = {
    "en": {
        "title": "Exercise 1: exactly once",
        "hints": ["A lost message comes back only if the client sends it again: that takes "
                  "retries, and an ack_timeout shorter than the wait (1 s here).",
                  "A retry of a message whose ack was only late is a second copy: the server "
                  "can refuse it only if it can recognise it, by its client offset."],
        "solution": 'answer = {"retries": 3, "ack_timeout": 0.5, "client_offset": True}',
        "explanation": "retries with an ack_timeout under 1 s send the lost message again "
                       "(at least once); the client offset lets the UNIQUE constraint refuse "
                       "the copy of the late one, and the server still acks it (exactly once).",
        "not_options": "Give the ChatWidget options as a dict, e.g. {\"retries\": 1}.",
        "stored": "Stored: “first” {first} time(s), “second” {second} time(s).",
        "lost": "“first” was lost on the way and never sent again.",
        "twice": "“second” was stored twice: the retry of a late ack is a new message to the "
                 "server.",
        "right": "Each message stored once: “first” was sent again after its loss, and the copy "
                 "of “second” was refused (UNIQUE) and acknowledged.",
    },
    "es": {
        "title": "Ejercicio 1: exactamente una vez",
        "hints": ["Un mensaje perdido solo vuelve si el cliente lo envía de nuevo: hace falta "
                  "retries, y un ack_timeout menor que la espera (1 s aquí).",
                  "El reintento de un mensaje cuyo ack solo llegó tarde es una segunda copia: el "
                  "servidor solo puede rechazarla si la reconoce, por su offset de cliente."],
        "solution": 'respuesta = {"retries": 3, "ack_timeout": 0.5, "client_offset": True}',
        "explanation": "retries con un ack_timeout menor que 1 s vuelve a enviar el mensaje "
                       "perdido (al menos una vez); el offset de cliente permite que la "
                       "restricción UNIQUE rechace la copia del tardío, y el servidor la "
                       "confirma igualmente (exactamente una vez).",
        "not_options": "Da las opciones de ChatWidget como un dict, p. ej. {\"retries\": 1}.",
        "stored": "Guardado: «first» {first} vez/veces, «second» {second} vez/veces.",
        "lost": "«first» se perdió por el camino y nunca se volvió a enviar.",
        "twice": "«second» se guardó dos veces: el reintento de un ack tardío es un mensaje "
                 "nuevo para el servidor.",
        "right": "Cada mensaje guardado una vez: «first» se volvió a enviar tras perderse, y la "
                 "copia de «second» se rechazó (UNIQUE) y se confirmó.",
    },
}

_ALLOWED = {"retries", "ack_timeout", "client_offset"}


async def _settled(server: Any, sender: ChatWidget, text: str) -> None:
    """Wait until ``text`` is stored and acknowledged, or ``_WAIT`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _WAIT
    while loop.time() < deadline:
        stored = [content for _id, content in await server.history.since(0)]
        if text in stored and not sender.pending:
            return
        await asyncio.sleep(0.1)


async def exactly_once_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """Each check: a step-8 server of its own loses "first" and acks "second" 1 s late."""
    language = _language(labels)
    text = TEXTS[language]

    async def check(options: Any) -> Any:
        if not isinstance(options, dict) or not set(options) <= _ALLOWED:
            return NotYet(text["not_options"])
        server = await start_chat_server(step=8, replace=False)
        faults = Faults(server)
        try:
            sender = ChatWidget(server, "Alice", labels=labels,
                                **{"client_offset": False, **options})
        except ValueError as error:
            await server.stop()
            return NotYet(str(error), hint=0)
        await sender.connect()
        faults.lose_next()
        await sender.send("first")
        await _settled(server, sender, "first")
        faults.delay_next_ack(_LATE)
        await sender.send("second")
        await _settled(server, sender, "second")
        await asyncio.sleep(_LATE)   # a copy sent late would be stored by now
        stored = [content for _id, content in await server.history.since(0)]
        counts = {"first": stored.count("first"), "second": stored.count("second")}
        await server.stop()
        summary = text["stored"].format(**counts)
        if counts["first"] == 0:
            return NotYet(f"{summary} {text['lost']}", hint=0)
        if counts["second"] > 1:
            return NotYet(f"{summary} {text['twice']}", hint=1)
        if counts != {"first": 1, "second": 1}:
            return NotYet(summary, hint=0)
        return Correct(f"{summary} {text['right']}")

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)
