"""The step-7 lesson's exercise (server delivery), in English and Spanish.

Example (in a notebook cell)::

    from chatlib.jupyter import step7
    ex1 = await step7.catch_up_exercise("en")
    await ex1.check([3, 4, 5])
"""

from __future__ import annotations

from typing import Any

from IPython.display import display

from .exercises import Correct, Exercise, NotYet
from .labels import Labels
from .launcher import start_chat_server
from .step6 import _language, scratch_path
from .strip import Strip
from .widget import ChatWidget

TEXTS = {
    "en": {
        "title": "Exercise 1: what the catch-up sends",
        "hints": ["Alice's serverOffset (on her status line) is the id of the last message she "
                  "received; the catch-up query asks for every id above it.",
                  "Every stored message takes the next id: Bob's two first messages are 1 and "
                  "2, and he sent three more while Alice was away."],
        "solution": "answer = [3, 4, 5]",
        "explanation": "Alice received ids 1 and 2, so she connects with serverOffset 2. Her "
                       "session was not kept (a clean disconnect), so the connect handler runs "
                       "the query `id > 2` and sends 3, 4 and 5, each with its id.",
        "not_ids": "Give the ids as a list of numbers, e.g. [1, 2].",
        "wrong": "The catch-up would send other ids than these.",
        "right": "Alice came back with serverOffset {offset}, not recovered; the catch-up sent "
                 "ids {ids}: {texts}.",
    },
    "es": {
        "title": "Ejercicio 1: lo que envía la puesta al día",
        "hints": ["El serverOffset de Alice (en su línea de estado) es el id del último "
                  "mensaje que recibió; la consulta pide todos los ids mayores.",
                  "Cada mensaje guardado toma el id siguiente: los dos primeros de Bob son 1 "
                  "y 2, y envió tres más mientras Alice no estaba."],
        "solution": "respuesta = [3, 4, 5]",
        "explanation": "Alice recibió los ids 1 y 2, así que se conecta con serverOffset 2. "
                       "Su sesión no se guardó (una desconexión limpia), así que el manejador "
                       "de conexión ejecuta la consulta `id > 2` y envía 3, 4 y 5, cada uno con "
                       "su id.",
        "not_ids": "Da los ids como una lista de números, p. ej. [1, 2].",
        "wrong": "La puesta al día enviaría otros ids.",
        "right": "Alice volvió con serverOffset {offset}, sin recuperar; la puesta al día "
                 "envió los ids {ids}: {texts}.",
    },
}


def _ids(answer: Any) -> Any:
    try:
        return [int(item) for item in answer]
    except (TypeError, ValueError):
        return None


async def catch_up_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """A step-7 server of its own: Alice left cleanly after ids 1-2; Bob then sent 3 more."""
    language = _language(labels)
    text = TEXTS[language]
    server = await start_chat_server(step=7, db=scratch_path(f"{name}.db"), replace=False)
    alice = ChatWidget(server, "Alice", mode="clean", labels=labels)
    bob = ChatWidget(server, "Bob", labels=labels)
    for widget in (alice, bob):
        await widget.connect()
    for message in ("one", "two"):
        await bob.send(message)
        await alice.wait_for_message(message)
    await alice.disconnect()
    for message in ("three", "four", "five"):
        await bob.send(message)
        await bob.wait_for_message(message)
    display(Strip(alice, bob))

    async def check(answer: Any) -> Any:
        ids = _ids(answer)
        if ids is None:
            return NotYet(text["not_ids"])
        expected = [row[0] for row in await server.history.since(alice.offset.value)]
        if ids != expected:
            return NotYet(text["wrong"], hint=0 if len(ids) != 3 else 1)
        offset = alice.offset.value
        await alice.connect()
        await alice.wait_for_message("five")
        sent = catch_up(server, alice) or []
        texts = [item["text"] for item in alice.history if item["id"] in sent]
        return Correct(text["right"].format(offset=offset, ids=sent, texts=", ".join(texts)))

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


def catch_up(server: Any, widget: ChatWidget) -> Any:
    """The ids the step-7 catch-up sent to ``widget``'s current connection; None if it ran
    none (a recovered connection needs none).

    Example::

        await alice.connect()
        step7.catch_up(server, alice)     # None when recovered, else e.g. [2, 3]
    """
    if widget.client.recovered:
        return None  # the server's connect handler returned before the query
    return next((ids for sid, _offset, ids in reversed(server.io.catch_ups)
                 if sid == widget.sid), None)


def said(server: Any, widget: ChatWidget, language: str = "en") -> str:
    """One line on ``widget``'s last connection: recovered, and what the catch-up sent."""
    sent = catch_up(server, widget)
    if language == "es":
        what = "no hizo falta" if sent is None else (f"ids {sent}" if sent else "nada")
        return f"{widget.name}: recovered {widget.client.recovered} | puesta al día: {what}"
    what = "not needed" if sent is None else (f"ids {sent}" if sent else "nothing")
    return f"{widget.name}: recovered {widget.client.recovered} | catch-up: {what}"
