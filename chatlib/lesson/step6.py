"""The step-6 lesson's exercises, in English and Spanish: each sets up its own live scene.

Each function starts a chat server of its own beside the lesson's (``replace=False``),
makes the widgets the question is about, shows them, and returns an
:class:`~chatlib.lesson.exercises.Exercise` whose check plays the reader's answer on
that scene when it is right. ``chatlib.stop_all()`` stops them with everything else.

Example (in a notebook cell)::

    from chatlib.lesson import step6
    ex1 = await step6.offsets_exercise("en")
    await ex1.check(["3", "4", "5"])
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from IPython.display import display

from ..core import Recovery
from ..jupyter.buffer_view import BufferView
from ..jupyter.labels import Labels, language_of, resolve_labels, seconds
from ..jupyter.launcher import start_chat_server
from ..jupyter.widget import ChatWidget
from ..jupyter.wire_view import WireView
from .exercises import Correct, Exercise, NotYet, describe
from .scratch import scratch_path as scratch_path  # notebooks call step6.scratch_path
from .strip import Strip
from .texts import texts

NAMESPACE = "/"


def _seconds(value: float, labels: Labels) -> str:
    return seconds(value, resolve_labels(language_of(labels)))


def _as_list(answer: Any) -> list[str] | None:
    """The reader's answer as a list of texts: a list, a tuple, one value, or "3, 4, 5"."""
    if answer is None:
        return []
    if isinstance(answer, str):
        parts = answer.split(",") if "," in answer else [answer]
        return [part.strip() for part in parts if part.strip()]
    if isinstance(answer, (int, float)):
        return [str(answer)]
    if isinstance(answer, dict):
        return None
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
    return BufferView(server, labels=labels), WireView(server, labels=labels)


def _replayed_offsets(wire: Any, name: str, since: float) -> list[str]:
    return [row["offset"] for row in wire.rows
            if row["client"] == name and row["type"] == "EVENT" and row["replay"]
            and row["t"] >= since]


async def _away(widget: ChatWidget) -> None:
    if widget.client.get_sid(NAMESPACE) is not None:
        await widget.disconnect()


# -- Exercise: which offsets come back ---------------------------------------



async def offsets_exercise(labels: Labels = "en", name: str = "ex1") -> Exercise:
    """Bob has sent two messages, Alice received both and dropped; Bob will send three more.

    Which offsets will the server replay to Alice? ``check`` takes a list of offsets; when
    it is right, Bob sends three and Alice reconnects, and the wire shows the replay.
    """
    text = texts("step6_offsets", labels)
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

    played: list[tuple[list[str], Correct]] = []   # the right answer and verdict, once played

    async def check(answer: Any = None) -> Any:
        given = _as_list(answer)
        if played and given == played[0][0]:   # right again: the replay has been played
            return played[0][1]
        await _away(alice)
        right = expected()
        if given is None:
            return NotYet(text["not_list"], hint=0)
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
        played.append((given, Correct(text["right"].format(
            offsets=", ".join(_replayed_offsets(wire, "Alice", since))))))
        return played[0][1]

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


# -- Exercise: rooms -----------------------------------------------------------



async def rooms_exercise(labels: Labels = "en", name: str = "ex2") -> Exercise:
    """Alice and Bob in #general, Carol in #random; Alice drops, Bob and Carol send.

    Which messages does Alice get back? ``check`` takes a list of texts; when it is right,
    Alice reconnects and the wire shows the replay.
    """
    text = texts("step6_rooms", labels)
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
        if given is None:
            return NotYet(text["not_list"], hint=0)
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


COUNTDOWN_SECONDS = 10


async def countdown_exercise(labels: Labels = "en", name: str = "ex3") -> Exercise:
    """A server that keeps dropped sessions for 10 s: come back in time, then too late.

    ``check()`` looks at Alice's last drop and reconnection on the wire.
    """
    text = texts("step6_countdown", labels)
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
            return NotYet(text["still_away"].format(away=_seconds(away, labels)), hint=0)
        away = back[0]["t"] - left["t"]
        tries["recovered" if alice.client.recovered else "new"] = away
        if len(tries) == 2:
            return Correct(text["both"].format(fast=_seconds(tries["recovered"], labels),
                                               slow=_seconds(tries["new"], labels)))
        key = "in_time" if alice.client.recovered else "too_late"
        return NotYet(text[key].format(away=_seconds(away, labels),
                                       limit=COUNTDOWN_SECONDS), hint=1)

    return Exercise(text["title"], check, text["hints"], text["solution"],
                    text["explanation"], name=name, labels=labels)


# -- Exercise: the tip's handler -------------------------------------------------

#: how long the check waits for an async handler
HANDLER_SECONDS = 5


async def resync_exercise(labels: Labels = "en", name: str = "ex4") -> Exercise:
    """Dana drops (recovered), Eve disconnects cleanly (a new session): whom to resynchronise?

    ``check(on_connect)`` reconnects both and calls ``on_connect(client, resynchronise)``
    after each reconnection, as a ``connect`` handler would be.
    """
    text = texts("step6_resync", labels)
    server = await start_chat_server(replace=False)
    dana, eve, bob = await _widgets(server, labels, ("Dana", {}), ("Eve", {"mode": "clean"}),
                                    ("Bob", {}))
    await bob.send(text["hello"])
    await dana.wait_for_message(text["hello"])
    await eve.wait_for_message(text["hello"])
    display(Strip(dana, eve, bob))

    async def check(on_connect: Callable[..., Any] | None = None) -> Any:
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
            try:
                outcome = on_connect(widget.client, lambda calls=calls: calls.append(True))
                if inspect.isawaitable(outcome):
                    await asyncio.wait_for(outcome, HANDLER_SECONDS)
            except TimeoutError:
                return NotYet(text["too_slow"].format(who=widget.name,
                                                      seconds=HANDLER_SECONDS))
            except Exception as error:
                return NotYet(text["raised"].format(who=widget.name, error=describe(error)),
                              hint=1)
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
