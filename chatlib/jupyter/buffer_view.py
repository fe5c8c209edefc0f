"""BufferView: the server's offset buffer and kept sessions, live in the notebook."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from .labels import Labels, resolve_labels, seconds
from .launcher import ChatServer
from .tasks import TaskGroup, error_html

_TABLE = "border-collapse:collapse;font-size:0.9em;line-height:1.3;margin:2px 0 8px 0"
_CELL = "border:1px solid #ddd;padding:1px 4px;text-align:left;vertical-align:top"
_REPLAY_ROW = " style='background:#fff3e0;color:#bf360c;font-weight:bold'"
# a sid (20 letters, monospace as in the chat widget) may break in two inside its cell,
# so the table fits beside the chats
_BREAKABLE = ("display:inline-block;min-width:10ch;word-break:break-all;"
              "font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:0.9em")
# a table still wider than its column scrolls right under itself, where the reader looks
# (contain: the table's width never widens the column around it)
_SCROLLER = "overflow-x:auto;contain:inline-size"


def _table(headings: Iterable[str], rows: list[list[str]], empty: str,
           marked: int | None = None, breakable: int | None = None) -> str:
    """An HTML table; a non-empty cell in column ``marked`` highlights its row (a replay).

    The text of column ``breakable`` may break anywhere (a sid), down to 10 letters a line.
    """
    head = "".join(f"<th style='{_CELL}'>{html.escape(h)}</th>" for h in headings)
    if not rows:
        return f"<div style='color:#888'>{html.escape(empty)}</div>"

    def cell(i: int, text: str) -> str:
        text = html.escape(text)
        return text if i != breakable else f"<span style='{_BREAKABLE}'>{text}</span>"

    body = "".join(
        f"<tr{_REPLAY_ROW if marked is not None and row[marked] else ''}>"
        + "".join(f"<td style='{_CELL}'>{cell(i, text)}</td>" for i, text in enumerate(row))
        + "</tr>"
        for row in rows)
    return f"<div style='{_SCROLLER}'><table style='{_TABLE}'><tr>{head}</tr>{body}</table></div>"


class BufferView(widgets.VBox):
    """What the server holds for recovery, and who would get what: live, in the notebook.

    Two tables, refreshed every ``interval`` seconds while the server runs:

    - the sessions, by widget name with the sid beside it: connected or
      kept, rooms, for a kept one the last offset its client holds, and the
      packets a restore would send it now;
    - the stored packets: offset, age, event, arguments, targets (everyone,
      or rooms; excluded sessions by name), and which kept sessions a
      restore now would send it to, marked "↻ Alice".

    When the server stops, the view says so and greys out. The same data is
    ``server.store.packets()``, ``server.store.sessions()`` (pids masked) and
    ``server.store.missed(namespace, sid)``.

    Example::

        server = await chatlib.start_chat_server(
            recovery=chatlib.Recovery(max_disconnection_duration=20))
        view = chatlib.BufferView(server)
        view                      # watch packets arrive, and expire after 20 s
        view.close()              # or await server.stop(): the refresh stops too
    """

    def __init__(self, server: ChatServer, interval: float = 0.5, labels: Labels = "en",
                 **kwargs: Any) -> None:
        if server.store is None:
            raise ValueError("this server has no recovery store (recovery=None)")
        self.server = server
        self.interval = interval
        self.labels = resolve_labels(labels)
        self.stopped = False
        self.sessions_html = widgets.HTML()
        self.packets_html = widgets.HTML()
        self.error_line = widgets.HTML()
        super().__init__([self.sessions_html, self.packets_html, self.error_line], **kwargs)
        self._tasks = TaskGroup(server.loop, self._show_error)
        self.refresh()
        server.attach(self)
        self._refresher = self._tasks.spawn(self._refresh_forever())

    @property
    def refreshing(self) -> bool:
        """Whether the periodic refresh is running."""
        return not self._refresher.done()

    def would_restore(self) -> dict[str, list[dict]]:
        """For each kept session (by sid): the rows a restore would send it now, in order.

        For a session of a ChatWidget this asks the store with the offset its
        client holds (what its CONNECT would present); for others, with none.
        """
        store = self.server.store
        widgets_by_sid = {widget.sid: widget for widget in self.server.clients}
        answer = {}
        for row in store.sessions():
            if row["connected"]:
                continue
            widget = widgets_by_sid.get(row["sid"])
            offset = None if widget is None else (widget.last_offset or "0")
            answer[row["sid"]] = store.missed(row["namespace"], row["sid"], offset)
        return answer

    def refresh(self) -> None:
        """Redraw both tables now from the store."""
        label = self.labels
        packets = self.server.store.packets()
        sessions = self.server.store.sessions()
        restores = self.would_restore()
        names = {widget.sid: widget.name for widget in self.server.clients}
        receivers: dict[str, list[str]] = {}
        for sid, missed in restores.items():
            for row in missed:
                receivers.setdefault(row["offset"], []).append(names.get(sid, sid))
        self.sessions_html.value = (
            self._heading("sessions", len(sessions))
            + _table([label[key] for key in ("name", "sid", "state", "rooms", "last_seen",
                                             "to_restore", "disconnected_for", "expires_in")],
                     [self._session_row(row, names, restores) for row in sessions],
                     label["none"], breakable=1))
        self.packets_html.value = (
            self._heading("packets", len(packets))
            + _table([label[key] for key in ("offset", "age", "event", "arguments", "targets",
                                             "would_get")],
                     [self._packet_row(row, names, receivers) for row in packets],
                     label["none"], marked=5))
        self._grey(self.stopped)

    def _heading(self, key: str, count: int) -> str:
        return f"<b>{html.escape(self.labels[key])}</b> ({count})"

    def _packet_row(self, row: dict, names: dict, receivers: dict) -> list[str]:
        label = self.labels
        targets = label["everyone"] if row["rooms"] is None else (
            f"{label['rooms']}: " + ", ".join(row["rooms"]))
        if row["exclude"]:
            targets += f" {label['except']} " + ", ".join(names.get(sid, sid)
                                                          for sid in row["exclude"])
        args = ", ".join(repr(arg) for arg in row.get("args", []))
        restore = " ".join(f"↻ {name}" for name in receivers.get(row["offset"], []))
        return [row["offset"], seconds(row["age"], self.labels), str(row.get("event", "")), args, targets,
                restore]

    def _session_row(self, row: dict, names: dict, restores: dict) -> list[str]:
        label = self.labels
        widget = next((w for w in self.server.clients if w.sid == row["sid"]), None)
        if row["connected"]:
            state, last, restore = label["session_connected"], "", ""
        else:
            state = label["kept"]
            last = (widget.last_offset or "–") if widget is not None else "–"
            missed = restores.get(row["sid"], [])
            restore = ", ".join(packet["offset"] for packet in missed) or label["none"]
        return [names.get(row["sid"], "–"), row["sid"], state, ", ".join(row["rooms"]), last,
                restore, seconds(row["disconnected_for"], label), seconds(row["expires_in"], label)]

    def _grey(self, grey: bool) -> None:
        for part in (self.sessions_html, self.packets_html):
            part.layout.opacity = "0.5" if grey else ""

    async def _refresh_forever(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(self.interval)

    def _show_error(self, error: BaseException) -> None:
        self.error_line.value = error_html(error, self.labels["error"])

    async def aclose(self) -> None:
        """Stop refreshing and detach from the server."""
        await self._tasks.cancel()
        self.server.detach(self)

    async def server_stopped(self) -> None:
        """Called by the server as it stops: a last refresh, then no more, greyed out."""
        await self._tasks.cancel()
        self.refresh()
        self.stopped = True
        self._grey(True)
        self.error_line.value = (f"<div style='color:#b00020;font-weight:bold;font-size:1.1em'>"
                                 f"■ {html.escape(self.labels['stopped_note'])}</div>")

    def close(self) -> None:
        """Close the widget and stop its refresh."""
        refresher = getattr(self, "_refresher", None)  # also called on a half-made widget
        if refresher is not None:
            refresher.cancel()
            self.server.detach(self)
        super().close()
