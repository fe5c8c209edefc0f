"""The lesson's first demo as a story the reader clicks: each step cell confirms what the
reader did, or, if the reader has not done it yet, says so and does it for them.

So a reader who clicks sees each cell confirm their click; *Run All* (and a notebook
test) plays the whole story alone. The confirmations are the facts a reader can check
in the widgets and views: where each message went, its offset, whether the server keeps
a session, what was replayed. Every step shows the strip again, so its effect is in view.

Example::

    story = ClickAlong(server, alice, bob, strip=Strip(alice, bob, buffer, wire))
    await story.sent(bob, "hello")           # Bob sends; both receive it at offset 1
    await story.disconnected(alice)          # Alice clicks Disconnect; the server keeps her
    await story.sent_while_away(bob, alice, "realtime")
    await story.reconnected(alice)           # "realtime" comes back to her, replayed
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from IPython.display import display

from ..jupyter.labels import Labels, language_of, number, resolve_labels
from .texts import texts

NAMESPACE = "/"

_POLL = 0.1     # how often a step looks again at what the server holds (s)
_MARGIN = 3.0   # beyond the stated limit, for a loaded machine (s)




class ClickAlong:
    """The first demo's steps; each one confirms the reader's click or makes it.

    ``server`` is a :func:`chatlib.start_chat_server` server; the widgets are
    :class:`chatlib.ChatWidget` on it; ``wire`` is its :class:`chatlib.WireView` (for what
    went over the wire); ``strip`` is shown again after each step.
    """

    def __init__(self, server: Any, *widgets: Any, wire: Any = None, strip: Any = None,
                 labels: Labels = "en", clicks: bool = True) -> None:
        self.server = server
        #: whether the reader is asked to click (else the steps just act, for a shown demo)
        self.clicks = clicks
        self.widgets = widgets
        self.wire = wire
        self.strip = strip
        self.labels = resolve_labels(language_of(labels))
        self.text = texts("story", labels)
        #: each widget's sid as last seen connected, before the step's action
        self._sids: dict[str, str] = {}
        self._missed: dict[str, list[Any]] = {}
        self._shown_in: Any = None
        self._remember_sids()

    def _remember_sids(self) -> None:
        for widget in self.widgets:
            if widget.connected:
                self._sids[widget.name] = widget.sid

    def _say(self, key: str, **values: Any) -> None:
        print(self.text[key].format(**values))

    def _say_click(self, key: str, **values: Any) -> None:
        """A line about who clicked: only when the reader is the one asked to click."""
        if self.clicks:
            self._say(key, **values)

    def _and(self, names: list[str]) -> str:
        word = self.text["and"]
        return ", ".join(names[:-1]) + word + names[-1] if len(names) > 1 else "".join(names)

    def _yes_no(self, value: bool) -> str:
        return self.labels["yes" if value else "no"]

    async def _delivered(self, sender: Any, text: Any, but: Any) -> None:
        # everyone connected has it before the next step acts, so no step races a delivery
        for widget in self.widgets:
            if widget is not but and widget.connected and self._reaches(sender, widget):
                await widget.wait_for_message(text)

    @staticmethod
    def _reaches(sender: Any, widget: Any) -> bool:
        """Whether the chat sends ``sender``'s messages to ``widget`` (its room, or everyone)."""
        room = getattr(sender, "room", None)
        return room is None or getattr(widget, "room", None) == room

    def _strip_shows(self, kind: str) -> bool:
        children = getattr(self.strip, "members", ())
        return any(type(child).__name__ == kind for child in children)

    def _show_strip(self) -> None:
        # once per cell: the copies are live, so a second one in the same output shows
        # nothing new and pushes the next lines out of view
        cell = _cell_number()
        if self.strip is not None and (cell is None or cell != self._shown_in):
            self._shown_in = cell
            display(self.strip)

    async def sent(self, sender: Any, suggestion: str) -> None:
        """Step: ``sender`` sends a message while everyone is connected."""
        self._remember_sids()
        packets = self.server.store.packets()
        if not packets:
            self._say_click("typing_for_you", sender=sender.name, text=suggestion)
            await sender.send(suggestion)
            await sender.wait_for_message(suggestion)
            packets = self.server.store.packets()
        else:
            self._say_click("you_sent", sender=sender.name, text=packets[-1]["args"][0])
        last = packets[-1]
        text = last["args"][0]
        for widget in self.widgets:
            if widget.connected:
                await widget.wait_for_message(text)
        names = [w.name for w in self.widgets if text in w.messages]
        self._say("stored", text=text, offset=last["offset"], names=self._and(names))
        self._say("last_offsets", offsets=", ".join(
            f"{w.name} {w.client.last_offset}" for w in self.widgets))
        self._show_strip()

    async def disconnected(self, widget: Any) -> None:
        """Step: ``widget`` clicks Disconnect; the server keeps its session (drop mode)."""
        self._remember_sids()
        sid = self._sids[widget.name]
        if widget.connected:
            self._say_click("still_connected", name=widget.name)
            await widget.disconnect()   # returns once the server has seen it
        else:
            self._say_click("you_disconnected", name=widget.name)
        mode = getattr(widget, "mode", "drop")
        kept = self.server.is_kept(sid)
        if mode == "silent":
            limit = self.server.ping_interval + self.server.ping_timeout
            self._say("noticed", name=widget.name, limit=self._number(limit), kept=kept,
                      drop=self.labels["legend_drop"])
        elif mode == "clean":
            self._say("forgotten_at_once", name=widget.name, kept=kept)
        else:
            self._say("kept", name=widget.name, kept=kept)
            if self._strip_shows("WireView"):
                self._say("on_the_wire", name=widget.name, drop=self.labels["legend_drop"])
        self._show_strip()

    def _number(self, value: float) -> str:
        return number(value, self.labels)

    def _quoted(self, said: list[Any]) -> str:
        return ", ".join(self.text["quoted"].format(text=text) for text in said) or self.text["nothing"]

    @staticmethod
    async def _until(condition: Any, limit: float) -> float:
        """Wait (up to ``limit`` seconds and a margin) until ``condition()``; return ``limit``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit + _MARGIN
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"not seen within {limit + _MARGIN:g} s")
            await asyncio.sleep(_POLL)
        return limit

    async def forgotten(self, widget: Any) -> None:
        """Step: time passes until the server forgets ``widget``'s kept session."""
        sid = self._sids[widget.name]
        duration = self.server.io.recovery.max_disconnection_duration
        await self._until(lambda: not self.server.is_kept(sid), float(duration))
        self._missed[widget.name] = []   # nothing will come back now
        self._say("expired", name=widget.name, duration=self._number(duration),
                  kept=self.server.is_kept(sid))
        if self._strip_shows("BufferView"):
            self._say("buffer_forgot", name=widget.name)
        self._show_strip()

    async def sent_while_away(self, sender: Any, away: Any, suggestion: str) -> None:
        """Step: ``sender`` sends while ``away`` is disconnected; the server keeps it for her."""
        if away.connected:
            await self.disconnected(away)
        sid = self._sids[away.name]
        if not self.server.is_kept(sid):
            await sender.send(suggestion)
            await self._delivered(sender, suggestion, but=away)
            self._missed[away.name] = []
            self._say("not_kept", name=away.name, sender=sender.name, text=suggestion)
            self._show_strip()
            return
        missed = self.server.store.missed(NAMESPACE, sid)
        if not missed:
            self._say_click("nothing_missed", name=away.name, sender=sender.name, text=suggestion)
            await sender.send(suggestion)
            await self._delivered(sender, suggestion, but=away)
            missed = self.server.store.missed(NAMESPACE, sid)
        self._missed[away.name] = [row["args"][0] for row in missed]
        rows = ", ".join(f"{row['offset']} {self._quoted(row['args'][:1])}"
                         for row in missed)
        self._say("missed", name=away.name, rows=rows)
        if self._strip_shows("BufferView"):
            self._say("in_buffer", name=away.name)
        if not any(text in away.messages for text in self._missed[away.name]):
            self._say("got_nothing", name=away.name)
        self._show_strip()

    async def reconnected(self, widget: Any) -> None:
        """Step: ``widget`` clicks Connect; its session is restored, the missed events replayed."""
        before = self._sids.get(widget.name)
        if not widget.connected:
            self._say_click("still_away", name=widget.name)
            await widget.connect()
        else:
            self._say_click("you_connected", name=widget.name)
        for text in self._missed.get(widget.name, []):
            await widget.wait_for_message(text)
        self._say("back", name=widget.name, recovered=widget.client.recovered,
                  same=self._yes_no(widget.sid == before))
        self._remember_sids()
        if self.wire is not None:
            rows = [row for row in self.wire.rows if row["client"] == widget.name]
            connects = [i for i, row in enumerate(rows)
                        if row["type"] == "CONNECT" and row["direction"] == "in"]
            since = rows[connects[-1]:] if connects else []
            if since and since[0]["offset"] is not None:
                self._say("presented", name=widget.name, offset=since[0]["offset"])
            replayed = [row for row in since if row["replay"] and row["type"] == "EVENT"]
            texts = [_event_text(row) for row in replayed]
            self._say("replayed", name=widget.name, texts=self._quoted(texts))
        self._show_strip()


def _cell_number() -> Any:
    """The id of the request running the current cell in a kernel, else None."""
    from IPython import get_ipython

    header = getattr(get_ipython(), "parent_header", None) or {}
    return header.get("header", {}).get("msg_id")


def _event_text(row: dict) -> Any:
    """The chat message of a wire EVENT row (``42["chat message","realtime","2"]``)."""
    body = row["text"]
    start = body.find("[")
    try:
        data = json.loads(body[start:])
    except (ValueError, TypeError):
        return body
    return data[1] if len(data) > 1 else ""
