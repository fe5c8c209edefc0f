"""The step-6 lesson's exercises, in English and Spanish: each sets up its own live scene.

Each function starts a chat server of its own beside the lesson's (``replace=False``),
makes the widgets the question is about, shows them, and returns an
:class:`~chatlib.jupyter.exercises.Exercise` whose check plays the reader's answer on
that scene when it is right. ``chatlib.stop_all()`` stops them with everything else.

Example (in a notebook cell)::

    from chatlib.jupyter import step6
    ex1 = await step6.offsets_exercise("en")
    await ex1.check(["3", "4", "5"])
"""

from __future__ import annotations

import inspect
import os
import tempfile
from typing import Any, Callable, Optional

from IPython.display import display

from ..core import Recovery
from .exercises import Correct, Exercise, NotYet
from .labels import Labels
from .launcher import start_chat_server
from .strip import Strip
from .widget import ChatWidget

NAMESPACE = "/"


_scratch: Optional[tempfile.TemporaryDirectory] = None


def scratch_path(name: str) -> str:
    """A path ``name`` in a temporary folder of this kernel, removed when the kernel exits.

    Example::

        store = chatlib.SQLiteStore(step6.scratch_path("recovery.db"))
    """
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="chatlib-lesson-")
    return os.path.join(_scratch.name, name)


def _language(labels: Labels) -> str:
    return labels if isinstance(labels, str) else dict(labels).get("language", "en")


def _seconds(value: float, language: str) -> str:
    text = f"{value:.1f} s"
    return text.replace(".", ",") if language == "es" else text


def _as_list(answer: Any) -> Optional[list[str]]:
    if answer is None or isinstance(answer, (str, int)):
        answer = [] if answer is None else [answer]
    try:
        return [str(item).strip() for item in answer]
    except TypeError:
        return None


async def _widgets(server: Any, labels: Labels, *specs: tuple) -> list[ChatWidget]:
    made = [ChatWidget(server, name, labels=labels, **options) for name, options in specs]
    for widget in made:
        await widget.connect()
    return made


def _views(server: Any, labels: Labels) -> tuple[Any, Any]:
    import chatlib  # the views are chatlib's lazy names, wherever they live

    return chatlib.BufferView(server, labels=labels), chatlib.WireView(server, labels=labels)


def _replayed_offsets(wire: Any, name: str, since: float) -> list[str]:
    return [row["offset"] for row in wire.rows
            if row["client"] == name and row["type"] == "EVENT" and row["replay"]
            and row["t"] >= since]


async def _away(widget: ChatWidget) -> None:
    if widget.client.get_sid(NAMESPACE) is not None:
        await widget.disconnect()


# -- Exercise: which offsets come back ---------------------------------------

OFFSETS = {
    "en": {
        "title": "Exercise 1: predict the offsets",
        "hints": ["The server numbers every event it stores, one after another, for the whole "
                  "server (not per client): look at the offsets of the packets stored so far.",
                  "Alice has received every event up to her last offset (on her status line); "
                  "she gets exactly the ones after it, and Bob is about to send three."],
        "solution": "answer = ['3', '4', '5']",
        "explanation": "Bob's two first messages were stored at offsets 1 and 2, and Alice "
                       "received both (her last offset is 2). His next three are stored at 3, "
                       "4 and 5 while she is away, so her reconnection presents offset 2 and "
                       "the server replays 3, 4 and 5.",
        "none": "That is no offset at all: Bob sends three messages while Alice is away.",
        "count": "Bob sends three messages, and each one is stored: that is three offsets.",
        "wrong": "Those are not the offsets the server will use.",
        "right": "Bob sent three messages and Alice reconnected: the wire shows ↻ {offsets} "
                 "on her lane, the replay of exactly what she missed.",
        "messages": ["first", "second", "three", "more", "messages"],
    },
    "es": {
        "title": "Ejercicio 1: predice los offsets",
        "hints": ["El servidor numera cada evento que guarda, uno tras otro, para todo el "
                  "servidor (no por cliente): mira los offsets de los paquetes guardados.",
                  "Alice ha recibido todos los eventos hasta su último offset (en su línea de "
                  "estado); recibe justo los siguientes, y Bob va a enviar tres."],
        "solution": "respuesta = ['3', '4', '5']",
        "explanation": "Los dos primeros mensajes de Bob se guardaron con los offsets 1 y 2, y "
                       "Alice recibió los dos (su último offset es 2). Los tres siguientes se "
                       "guardan con 3, 4 y 5 mientras ella no está: su reconexión presenta el "
                       "offset 2 y el servidor reenvía 3, 4 y 5.",
        "none": "Eso no es ningún offset: Bob envía tres mensajes mientras Alice no está.",
        "count": "Bob envía tres mensajes y cada uno se guarda: son tres offsets.",
        "wrong": "Esos no son los offsets que usará el servidor.",
        "right": "Bob envió tres mensajes y Alice se reconectó: la red muestra ↻ {offsets} "
                 "en su línea, el reenvío de justo lo que se perdió.",
        "messages": ["primero", "segundo", "tres", "mensajes", "más"],
    },
}


async def offsets_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """Bob has sent two messages, Alice received both and dropped; Bob will send three more.

    Which offsets will the server replay to Alice? ``check`` takes a list of offsets; when
    it is right, Bob sends three and Alice reconnects, and the wire shows the replay.
    """
    text = OFFSETS[_language(labels)]
    server = await start_chat_server(replace=False)
    alice, bob = await _widgets(server, labels, ("Alice", {}), ("Bob", {}))
    _, wire = _views(server, labels)
    for message in text["messages"][:2]:
        await bob.send(message)
        await alice.wait_for_message(message)
    await alice.disconnect()
    display(Strip(alice, bob, wire))

    def expected() -> list[str]:
        packets = server.store.packets()
        last = int(packets[-1]["offset"]) if packets else 0
        return [str(last + step) for step in (1, 2, 3)]

    async def check(answer: Any = None) -> Any:
        await _away(alice)
        given, right = _as_list(answer), expected()
        if not given:
            return NotYet(text["none"], hint=0)
        if len(given) != 3:
            return NotYet(text["count"], hint=0)
        if given != right:
            return NotYet(text["wrong"], hint=1)
        since = wire.rows[-1]["t"] if wire.rows else 0.0
        for message in text["messages"][2:]:
            await bob.send(message)
            await bob.wait_for_message(message)
        await alice.connect()
        await alice.wait_for_message(text["messages"][-1])
        return Correct(text["right"].format(
            offsets=", ".join(_replayed_offsets(wire, "Alice", since))))

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


# -- Exercise: rooms -----------------------------------------------------------

ROOMS = {
    "en": {
        "title": "Exercise 2: what comes back to a room",
        "hints": ["A message goes to the sender's room only, and the server kept Alice's "
                  "rooms while she was away: she is still in #general.",
                  "Carol is in #random, where Alice is not."],
        "solution": "answer = ['lunch at noon?', 'I will book a table']",
        "explanation": "Alice dropped from #general, and her kept session still lists "
                       "#general. Bob's two messages went to #general and were stored for it; "
                       "Carol's went to #random. A restore sends Alice what was sent to her "
                       "rooms (or to everyone) after her last offset: Bob's two, in order.",
        "none": "Some messages were sent to Alice's room while she was away.",
        "extra": "Alice would not receive all of those.",
        "missing": "Alice would receive more than that.",
        "right": "Alice reconnected, still in #general without joining again: the wire shows "
                 "↻ {offsets} on her lane, and nothing from #random.",
        "bob": ["lunch at noon?", "I will book a table"],
        "carol": "who took my stapler?",
    },
    "es": {
        "title": "Ejercicio 2: qué vuelve a una sala",
        "hints": ["Un mensaje va solo a la sala de quien lo envía, y el servidor guardó las "
                  "salas de Alice mientras no estaba: sigue en #general.",
                  "Carol está en #random, donde Alice no está."],
        "solution": "respuesta = ['¿comemos a las doce?', 'reservo mesa']",
        "explanation": "Alice se desconectó de #general, y su sesión guardada sigue incluyendo "
                       "#general. Los dos mensajes de Bob fueron a #general y se guardaron para "
                       "esa sala; el de Carol fue a #random. Una restauración envía a Alice lo "
                       "enviado a sus salas (o a todos) después de su último offset: los dos de "
                       "Bob, en orden.",
        "none": "Se enviaron mensajes a la sala de Alice mientras no estaba.",
        "extra": "Alice no recibiría todos esos.",
        "missing": "Alice recibiría más que eso.",
        "right": "Alice se reconectó, todavía en #general sin volver a unirse: la red "
                 "muestra ↻ {offsets} en su línea, y nada de #random.",
        "bob": ["¿comemos a las doce?", "reservo mesa"],
        "carol": "¿quién se llevó mi grapadora?",
    },
}


async def rooms_exercise(labels: Labels = "en", name: str = "ex2") -> Exercise:
    """Alice and Bob in #general, Carol in #random; Alice drops, Bob and Carol send.

    Which messages does Alice get back? ``check`` takes a list of texts; when it is right,
    Alice reconnects and the wire shows the replay.
    """
    text = ROOMS[_language(labels)]
    server = await start_chat_server(replace=False)
    alice, bob, carol = await _widgets(server, labels, ("Alice", {"room": "#general"}),
                                       ("Bob", {"room": "#general"}),
                                       ("Carol", {"room": "#random"}))
    _, wire = _views(server, labels)
    sid = alice.client.get_sid(NAMESPACE)
    await alice.disconnect()
    for sender, message in ((bob, text["bob"][0]), (carol, text["carol"]),
                            (bob, text["bob"][1])):
        await sender.send(message)
        await sender.wait_for_message(message)
    display(Strip(alice, bob, carol, wire))

    async def check(answer: Any = None) -> Any:
        given = _as_list(answer)
        if alice.client.get_sid(NAMESPACE) is not None:
            right = list(text["bob"])
        else:
            right = [row["args"][0] for row in server.store.missed(NAMESPACE, sid)]
        if not given:
            return NotYet(text["none"], hint=0)
        if text["carol"] in given or set(given) - set(right):
            return NotYet(text["extra"], hint=1)
        if given != right:
            return NotYet(text["missing"], hint=0)
        since = wire.rows[-1]["t"] if wire.rows else 0.0
        if alice.client.get_sid(NAMESPACE) is None:
            await alice.connect()
            await alice.wait_for_message(right[-1])
        return Correct(text["right"].format(
            offsets=", ".join(_replayed_offsets(wire, "Alice", since)) or "–"))

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


# -- Exercise: race the countdown -------------------------------------------------

COUNTDOWN = {
    "en": {
        "title": "Exercise 3: race the countdown",
        "hints": ["Click Disconnect on Alice, send something from Bob, and watch “expires in” "
                  "for Alice in the sessions table; click Connect before it reaches 0, then run "
                  "the check.",
                  "For the second try, click Disconnect and wait until Alice's session is gone "
                  "from the sessions table (more than 10 s); then click Connect and run the "
                  "check."],
        "solution": "# 1. Disconnect, Bob sends, Connect within 10 s  -> recovered: True\n"
                    "# 2. Disconnect, wait 11 s or more, Connect      -> recovered: False\n"
                    "await ex3.check()   # after each try",
        "explanation": "The server keeps a dropped session, and the packets, for "
                       "max_disconnection_duration (10 s here, 2 minutes by default). Back in "
                       "time, Alice recovers; later, the session is gone and she starts a new "
                       "one, with a new id and nothing replayed.",
        "not_left": "Alice has not left yet.",
        "still_away": "Alice has been away for {away} so far: click Connect.",
        "in_time": "Back after {away}: recovered. Now the other half: stay away longer than "
                   "{limit} s.",
        "too_late": "Back after {away}: not recovered (a new id). Now the other half: come "
                    "back within {limit} s.",
        "both": "You came back in time ({fast}: recovered) and too late ({slow}: a new "
                "session). The limit is max_disconnection_duration.",
    },
    "es": {
        "title": "Ejercicio 3: gánale a la cuenta atrás",
        "hints": ["Haz clic en Desconectar de Alice, envía algo desde Bob y mira «caduca en» "
                  "para Alice en la tabla de sesiones; haz clic en Conectar antes de que llegue "
                  "a 0 y ejecuta la comprobación.",
                  "Para el segundo intento, haz clic en Desconectar y espera a que la sesión de "
                  "Alice desaparezca de la tabla de sesiones (más de 10 s); luego haz clic en "
                  "Conectar y ejecuta la comprobación."],
        "solution": "# 1. Desconectar, Bob envía, Conectar antes de 10 s  -> recovered: True\n"
                    "# 2. Desconectar, esperar 11 s o más, Conectar       -> recovered: False\n"
                    "await ej3.check()   # después de cada intento",
        "explanation": "El servidor guarda una sesión desconectada, y los paquetes, durante "
                       "max_disconnection_duration (aquí 10 s; 2 minutos por defecto). Si "
                       "vuelve a tiempo, Alice se recupera; si tarda más, la sesión ya no "
                       "existe y empieza una nueva, con otro id y sin nada reenviado.",
        "not_left": "Alice todavía no se ha ido.",
        "still_away": "Alice lleva {away} fuera: haz clic en Conectar.",
        "in_time": "Volvió tras {away}: recuperada. Ahora la otra mitad: quédate fuera más de "
                   "{limit} s.",
        "too_late": "Volvió tras {away}: no recuperada (otro id). Ahora la otra mitad: vuelve "
                    "antes de {limit} s.",
        "both": "Volviste a tiempo ({fast}: recuperada) y tarde ({slow}: una sesión nueva). "
                "El límite es max_disconnection_duration.",
    },
}

COUNTDOWN_SECONDS = 10


async def countdown_exercise(labels: Labels = "en", name: str = "ex3") -> Exercise:
    """A server that keeps dropped sessions for 10 s: come back in time, then too late.

    ``check()`` looks at Alice's last drop and reconnection on the wire.
    """
    language = _language(labels)
    text = COUNTDOWN[language]
    server = await start_chat_server(
        replace=False, recovery=Recovery(max_disconnection_duration=COUNTDOWN_SECONDS,
                                         sweep_interval=0.5))
    alice, bob = await _widgets(server, labels, ("Alice", {}), ("Bob", {}))
    buffer, wire = _views(server, labels)
    display(Strip(alice, bob, buffer, wire))
    tries: dict[str, float] = {}

    def check() -> Any:
        rows = [row for row in wire.rows if row["client"] == "Alice"]
        drops = [i for i, row in enumerate(rows) if row["type"] == "DROP"]
        if not drops:
            return NotYet(text["not_left"], hint=0)
        left = rows[drops[-1]]
        back = [row for row in rows[drops[-1]:] if row["type"] == "CONNECT"
                and row["direction"] == "in"]
        if not back:
            away = wire.rows[-1]["t"] - left["t"] if wire.rows else 0.0
            return NotYet(text["still_away"].format(away=_seconds(away, language)), hint=0)
        away = back[0]["t"] - left["t"]
        tries["recovered" if alice.client.recovered else "new"] = away
        if len(tries) == 2:
            return Correct(text["both"].format(fast=_seconds(tries["recovered"], language),
                                               slow=_seconds(tries["new"], language)))
        key = "in_time" if alice.client.recovered else "too_late"
        return NotYet(text[key].format(away=_seconds(away, language),
                                       limit=COUNTDOWN_SECONDS), hint=1)

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


# -- Exercise: the tip's handler -------------------------------------------------

RESYNC = {
    "en": {
        "title": "Exercise 4: resynchronise only when needed",
        "hints": ["client.recovered is True when the session came back with its missed "
                  "events; then there is nothing to fetch.",
                  "if not client.recovered: resynchronise()"],
        "solution": "def on_connect(client, resynchronise):\n"
                    "    if not client.recovered:\n"
                    "        resynchronise()",
        "explanation": "After a recovered reconnection the server has already sent what was "
                       "missed; after a new session it has not, so only then does the app "
                       "fetch the state itself.",
        "not_function": "Pass your function: await {name}.check(on_connect).",
        "ran": "{who} reconnected (recovered: {recovered}); your handler {did}.",
        "did": "resynchronised", "did_not": "did not resynchronise",
        "missed_new": "Eve's new session needs a resynchronisation, and your handler did "
                      "not ask for one.",
        "extra": "Dana recovered: she already has what she missed, so a resynchronisation is "
                 "wasted work.",
        "right": "Dana recovered and needed nothing; Eve got a new session and your handler "
                 "resynchronised her.",
        "while_away": "sent while they were away",
    },
    "es": {
        "title": "Ejercicio 4: sincroniza solo cuando haga falta",
        "hints": ["client.recovered es True cuando la sesión volvió con sus eventos "
                  "perdidos; entonces no hay nada que pedir.",
                  "if not client.recovered: resynchronise()"],
        "solution": "def on_connect(client, resynchronise):\n"
                    "    if not client.recovered:\n"
                    "        resynchronise()",
        "explanation": "Tras una reconexión recuperada el servidor ya envió lo perdido; tras "
                       "una sesión nueva no, así que solo entonces la aplicación pide el "
                       "estado por su cuenta.",
        "not_function": "Pasa tu función: await {name}.check(on_connect).",
        "ran": "{who} se reconectó (recovered: {recovered}); tu manejador {did}.",
        "did": "sincronizó", "did_not": "no sincronizó",
        "missed_new": "La sesión nueva de Eve necesita una sincronización, y tu manejador no "
                      "la pidió.",
        "extra": "Dana se recuperó: ya tiene lo que se perdió, así que sincronizar es trabajo "
                 "perdido.",
        "right": "Dana se recuperó y no necesitó nada; Eve tuvo una sesión nueva y tu "
                 "manejador la sincronizó.",
        "while_away": "enviado mientras no estaban",
    },
}


async def resync_exercise(labels: Labels = "en", name: str = "ex4") -> Exercise:
    """Dana drops (recovered), Eve disconnects cleanly (a new session): whom to resynchronise?

    ``check(on_connect)`` reconnects both and calls ``on_connect(client, resynchronise)``
    after each reconnection, as a ``connect`` handler would be.
    """
    text = RESYNC[_language(labels)]
    server = await start_chat_server(replace=False)
    dana, eve, bob = await _widgets(server, labels, ("Dana", {}), ("Eve", {"mode": "clean"}),
                                    ("Bob", {}))
    await bob.send("hello")
    await dana.wait_for_message("hello")
    await eve.wait_for_message("hello")
    display(Strip(dana, eve, bob))

    async def check(on_connect: Optional[Callable[..., Any]] = None) -> Any:
        if not callable(on_connect):
            return NotYet(text["not_function"].format(name=name))
        asked: dict[str, bool] = {}
        for widget in (dana, eve):
            await _away(widget)
        await bob.send(text["while_away"])
        await bob.wait_for_message(text["while_away"])
        for widget in (dana, eve):
            await widget.connect()
            calls: list[bool] = []
            outcome = on_connect(widget.client, lambda calls=calls: calls.append(True))
            if inspect.isawaitable(outcome):
                await outcome
            asked[widget.name] = bool(calls)
            print(text["ran"].format(who=widget.name, recovered=widget.client.recovered,
                                     did=text["did"] if calls else text["did_not"]))
        if not asked["Eve"]:
            return NotYet(text["missed_new"], hint=0)
        if asked["Dana"]:
            return NotYet(text["extra"], hint=1)
        return Correct(text["right"])

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)
