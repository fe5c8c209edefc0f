"""WireView: every Socket.IO packet between the in-kernel server and its clients, live."""

from __future__ import annotations

import asyncio
import html
import itertools
import time
from typing import Any

import ipywidgets as widgets

from ..sio.observe import ObservedPacket
from .labels import Labels, elapsed, number, resolve_labels
from .launcher import ChatServer
from .tasks import TaskGroup, error_html
from .wire_picture import COLORS, STYLE, describe, draw

_REDRAW_DELAY = 0.1   # seconds: packets that come together are drawn together
_SILENCE_CHECK = 0.25  # seconds between looks at the widgets for a client gone silent
_AT_ONCE = 0.1  # seconds: a drop noticed sooner after the client's loss was not a silence
_uids = itertools.count(1)


#: the tallest the picture is shown (px); taller, it scrolls in its own box
PICTURE_HEIGHT = 240


class WireView(widgets.VBox):
    """A live timeline of the packets of a chat server: one lane per client, named after its widget.

    It shows each CONNECT (on a reconnect with its ``{"pid", "offset"}``, the
    pid masked) and its reply (``recovered`` or not), each EVENT with its
    offset, ACKs, DISCONNECT both ways, and each connection lost without a
    DISCONNECT (DROP) at the moment the server notices it, with how: at once
    ("transport close") or at the ping timeout for a client gone silent.
    Replayed packets (written by a restore) are orange, dashed and marked ↻.
    Hover a packet to read its encoded text, e.g.
    ``42["chat message","realtime","2"]``. The server's ping interval and
    timeout are shown above the picture; a row's time is since the view was
    made (milliseconds below a second). The picture is as wide as its
    container and its text is never scaled down: below about 540 px it
    scrolls sideways. Choose a packet in the list below the picture
    (:attr:`inspector`) to read it whole, with its details, in :attr:`detail`. The picture shows the last
    ``max_drawn`` packets; :attr:`rows` keeps them all.

    The data comes from ``server.io.add_packet_observer``: no widget is
    reached into, except to name a lane and to know when a client's own
    side went silent (the server cannot know that).

    Example::

        server = await chatlib.start_chat_server()
        wire = chatlib.WireView(server)
        alice, bob = chatlib.ChatWidget(server, "Alice"), chatlib.ChatWidget(server, "Bob")
        display(alice, bob, wire)
        ...
        [row["type"] for row in wire.rows if row["client"] == "Alice"]
        # ['CONNECT', 'CONNECT', 'EVENT', 'DROP', 'CONNECT', 'CONNECT', 'EVENT']
    """

    def __init__(self, server: ChatServer, labels: Labels = "en", max_drawn: int = 40,
                 name: str | None = None, **kwargs: Any) -> None:
        self.server = server
        #: the server's name in the title ("What goes over the wire · east"); by default
        #: the server's own name, if it has one, else its address
        self.server_name = name or getattr(server, "name", None) or f"{server.host}:{server.port}"
        self.labels = resolve_labels(labels)
        self.max_drawn = max_drawn
        #: every packet seen, oldest first: dicts with t, client, direction, type, offset,
        #: replay, text (pids masked), and sid, namespace, event, reason, recovered, silent_for
        self.rows: list[dict] = []
        self._started = time.monotonic()
        self._names: dict[str, str] = {}   # Engine.IO sid -> lane name
        self._uid = f"chatlib-wire-{next(_uids)}"
        self._redraw: asyncio.TimerHandle | None = None
        self._stopped = False
        self._drawn_silences: dict = {}
        self._tasks = TaskGroup(server.loop, self._show_error)
        self.title = widgets.HTML()
        self.picture = widgets.HTML()
        #: the drawn packets, to choose one and read it whole in :attr:`detail` (an HTML
        #: widget runs no script, so a click in the picture cannot show it); value: its index
        #: in :attr:`rows`
        self.inspector = widgets.Dropdown(
            options=[], value=None, description=self.labels["inspect"],
            layout=widgets.Layout(width="auto"), style={"description_width": "initial"})
        self.detail = widgets.HTML()
        self._listing = False
        self.inspector.observe(self._show_detail, names="value")
        super().__init__([self.title, self.picture, self.inspector, self.detail], **kwargs)
        server.io.add_packet_observer(self._observe)
        server.attach(self)
        self.refresh()
        # a silent client sends nothing, so no packet would redraw the picture
        self._tasks.spawn(self._watch_silences())

    # -- what cells read -------------------------------------------------

    def rows_of(self, client: str) -> list[dict]:
        """The rows of one client (its widget's name, or its sid), oldest first."""
        return [row for row in self.rows if row["client"] == client]

    # -- observing -------------------------------------------------------

    def _observe(self, packet: ObservedPacket) -> None:
        client = self._name(packet)
        row = {
            "t": packet.time - self._started, "client": client,
            "direction": packet.direction, "type": packet.type, "offset": packet.offset,
            "replay": packet.replay, "text": packet.text, "sid": packet.sid,
            "namespace": packet.namespace, "event": packet.event, "reason": packet.reason,
            "recovered": packet.recovered, "silent_for": None, "silent_since": None,
        }
        if packet.type == "DROP":
            lost_at = self._lost_at(client)
            if lost_at is not None and packet.time - lost_at > _AT_ONCE:
                row["silent_for"] = packet.time - lost_at
                row["silent_since"] = lost_at - self._started
        self.rows.append(row)
        self._schedule_redraw()

    def _name(self, packet: ObservedPacket) -> str:
        name = self.server.name_of(sid=packet.sid, eio_sid=packet.eio_sid)
        cached = self._names.get(packet.eio_sid)
        if name is None and cached is not None and cached != packet.eio_sid:
            name = cached  # a widget already gone (its goodbye as the server stops)
        elif name is None:
            # a client without a widget (the chat page): named by its sid, once known
            name = packet.sid or packet.eio_sid
            if cached == packet.eio_sid and name != cached:
                for row in self.rows:
                    if row["client"] == cached:
                        row["client"] = name
        self._names[packet.eio_sid] = name
        return name

    def _lost_at(self, client: str) -> float | None:
        for widget in self.server.clients:
            if widget.name == client:
                return widget.lost_at
        return None

    # -- drawing ---------------------------------------------------------

    def _schedule_redraw(self) -> None:
        if self._redraw is None and not self._stopped:
            self._redraw = self.server.loop.call_later(_REDRAW_DELAY, self.refresh)

    def refresh(self) -> None:
        """Redraw the picture now."""
        self._redraw = None
        label = self.labels
        ping = label["ping"].format(interval=number(self.server.ping_interval, label),
                                    timeout=number(self.server.ping_timeout, label),
                                    total=number(self.server.ping_interval + self.server.ping_timeout,
                                                 label))
        # spaces between the entries: the line may wrap there (never inside one)
        legend = " ".join(
            f"<span style='color:{COLORS[key]}'>{html.escape(label[text])}</span>"
            for key, text in (("in", "legend_in"), ("out", "legend_out"),
                              ("replay", "legend_replay"), ("drop", "legend_drop"),
                              ("muted", "legend_time")))
        stopped = (f" · <b style='color:{COLORS['drop']}'>{html.escape(label['server_stopped'])}"
                   f"</b>" if self._stopped else "")
        title = f"{label['wire_title']} · {self.server_name}"
        self.title.value = (f"{STYLE}<div class='chatlib-wire'><b>{html.escape(title)}"
                            f"</b> <small>({html.escape(self.server.url)} · {html.escape(ping)})"
                            f"</small>{stopped}<div class='legend'>{legend}</div></div>")
        shown = self.rows[-self.max_drawn:]
        earlier = len(self.rows) - len(shown)
        note = (f"<div style='color:{COLORS['muted']}'>"
                f"{html.escape(label['earlier'].format(count=earlier))}</div>" if earlier else "")
        self._drawn_silences = self._silent_now()
        if not shown and not self._drawn_silences:
            body = f"<div style='color:{COLORS['muted']}'>{html.escape(label['no_packets'])}</div>"
        else:
            body = draw(shown, label, self._uid, self._drawn_silences)
        opacity = "opacity:0.55;filter:grayscale(1);" if self._stopped else ""
        # the picture fills its container's width; only below its narrowest it scrolls,
        # in this box (contain: the picture's width never widens the column around it).
        # Its height is capped too, so that what is drawn below it (a buffer view) stays
        # in sight as packets come: it scrolls, held at its newest rows (column-reverse
        # starts a scroll box at its end)
        self.picture.value = (f"<div class='chatlib-wire' style='{opacity}overflow:auto;"
                              f"contain:inline-size;max-height:{PICTURE_HEIGHT}px;"
                              f"display:flex;flex-direction:column-reverse'>"
                              f"<div>{note}{body}</div></div>")
        self._list_packets(shown, earlier)

    def _list_packets(self, shown: list[dict], first: int) -> None:
        """The inspector's choices: the drawn packets; the one chosen stays chosen."""
        label = self.labels
        options = []
        for i, row in enumerate(shown, start=first):
            arrow = (f"{row['client']} → {label['server']}" if row["direction"] == "in"
                     else f"{label['server']} → {row['client']}")
            options.append((f"{elapsed(row['t'], label)} · {arrow} · {row['text'] or row['type']}", i))
        if tuple(options) == tuple(self.inspector.options):
            return
        chosen = self.inspector.value
        self._listing = True  # new options would select the first one: not a reader's choice
        try:
            self.inspector.index = None
            self.inspector.options = options
            self.inspector.value = chosen if chosen in (value for _, value in options) else None
        finally:
            self._listing = False
        self._show_detail()

    def _show_detail(self, _change: Any = None) -> None:
        if self._listing:
            return
        chosen = self.inspector.value
        if chosen is None:
            self.detail.value = ""
            return
        row = self.rows[chosen]
        self.detail.value = (f"<div class='chatlib-wire'><pre style='white-space:pre-wrap;"
                             f"word-break:break-all;margin:0;line-height:1.3;"
                             f"color:{COLORS['text']}'>{html.escape(describe(row, self.labels))}"
                             f"</pre></div>")

    def _silent_now(self) -> dict:
        """Clients gone silent that the server has not taken as gone yet: name -> t."""
        silent = {}
        for widget in self.server.clients:
            if (widget.lost_at is not None and widget.mode == "silent" and not self._stopped
                    and not any(row["type"] == "DROP" and row["client"] == widget.name
                                and row["silent_since"] is not None
                                and row["t"] >= widget.lost_at - self._started
                                for row in self.rows)):
                silent[widget.name] = widget.lost_at - self._started
        return silent

    def _show_error(self, error: BaseException) -> None:
        self.title.value += f"<div>{error_html(error, self.labels['error'])}</div>"

    async def _watch_silences(self) -> None:
        while True:
            await asyncio.sleep(_SILENCE_CHECK)
            if self._silent_now() != self._drawn_silences:
                self.refresh()

    # -- lifetime --------------------------------------------------------

    def _stop_observing(self) -> None:
        for task in list(self._tasks.tasks):
            task.cancel()
        self.server.io.remove_packet_observer(self._observe)
        if self._redraw is not None:
            self._redraw.cancel()
            self._redraw = None

    async def server_stopped(self) -> None:
        """Called by the server as it stops: draw the last state, greyed out."""
        self._stop_observing()
        self._stopped = True
        self.refresh()

    async def aclose(self) -> None:
        """Stop observing and detach from the server."""
        self.close()

    def close(self) -> None:
        """Close the widget; it stops observing the server."""
        if getattr(self, "server", None) is not None:
            self._stop_observing()
            self.server.detach(self)
        super().close()
