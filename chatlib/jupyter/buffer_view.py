"""BufferView: the server's offset buffer and kept sessions, live in the notebook."""

from __future__ import annotations

import asyncio
import html
from typing import Any, Iterable, Optional

import ipywidgets as widgets

from .labels import Labels, resolve_labels
from .launcher import ChatServer
from .tasks import TaskGroup

_TABLE = "border-collapse:collapse;font-size:0.9em;margin:2px 0 8px 0"
_CELL = "border:1px solid #ddd;padding:1px 6px;text-align:left;vertical-align:top"


def _seconds(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _table(headings: Iterable[str], rows: list[list[str]], empty: str) -> str:
    head = "".join(f"<th style='{_CELL}'>{html.escape(h)}</th>" for h in headings)
    if not rows:
        return f"<div style='color:#888'>{html.escape(empty)}</div>"
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{html.escape(cell)}</td>"
                                    for cell in row) + "</tr>" for row in rows)
    return f"<table style='{_TABLE}'><tr>{head}</tr>{body}</table>"


class BufferView(widgets.VBox):
    """The stored packets (offset, age, event, arguments, targets) and the sessions
    (sid, rooms, disconnected for, expires in) of a chat server, refreshed every
    ``interval`` seconds while the server runs.

    The same data, as lists of dicts, is ``server.store.packets()`` and
    ``server.store.sessions()`` (pids are masked there and here).

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
        self.packets_html = widgets.HTML()
        self.sessions_html = widgets.HTML()
        self.error_line = widgets.HTML()
        super().__init__([self.packets_html, self.sessions_html, self.error_line], **kwargs)
        self._tasks = TaskGroup(server.loop, self._show_error)
        self.refresh()
        server.attach(self)
        self._refresher = self._tasks.spawn(self._refresh_forever())

    @property
    def refreshing(self) -> bool:
        """Whether the periodic refresh is running."""
        return not self._refresher.done()

    def refresh(self) -> None:
        """Redraw both tables now from the store."""
        label = self.labels
        packets = self.server.store.packets()
        sessions = self.server.store.sessions()
        self.packets_html.value = (
            f"<b>{html.escape(label['packets'])}</b> ({len(packets)})"
            + _table([label[key] for key in ("offset", "age", "event", "arguments", "targets")],
                     [self._packet_row(row) for row in packets], label["none"]))
        self.sessions_html.value = (
            f"<b>{html.escape(label['sessions'])}</b> ({len(sessions)})"
            + _table([label[key] for key in ("sid", "state", "rooms", "disconnected_for",
                                             "expires_in")],
                     [self._session_row(row) for row in sessions], label["none"]))

    def _packet_row(self, row: dict) -> list[str]:
        label = self.labels
        targets = label["everyone"] if row["rooms"] is None else ", ".join(row["rooms"])
        if row["exclude"]:
            targets += f" {label['except']} " + ", ".join(row["exclude"])
        args = ", ".join(repr(arg) for arg in row.get("args", []))
        return [row["offset"], _seconds(row["age"]), str(row.get("event", "")), args, targets]

    def _session_row(self, row: dict) -> list[str]:
        label = self.labels
        state = label["connected"] if row["connected"] else label["kept"]
        return [row["sid"], state, ", ".join(row["rooms"]),
                _seconds(row["disconnected_for"]), _seconds(row["expires_in"])]

    async def _refresh_forever(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(self.interval)

    def _show_error(self, error: BaseException) -> None:
        self.error_line.value = (f"<span style='color:#b00020'>{html.escape(self.labels['error'])}"
                                 f": {html.escape(repr(error))}</span>")

    async def aclose(self) -> None:
        """Stop refreshing and detach from the server."""
        await self._tasks.cancel()
        self.server.detach(self)

    async def server_stopped(self) -> None:
        """Called by the server as it stops: a last refresh, then no more."""
        await self._tasks.cancel()
        self.refresh()
        self.error_line.value = f"<i>{html.escape(self.labels['server_stopped'])}</i>"

    def close(self) -> None:
        """Close the widget and stop its refresh."""
        refresher = getattr(self, "_refresher", None)  # also called on a half-made widget
        if refresher is not None:
            refresher.cancel()
            self.server.detach(self)
        super().close()
