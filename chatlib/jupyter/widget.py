"""ChatWidget: the tutorial's chat page as an ipywidget, on a RecoveryClient."""

from __future__ import annotations

import asyncio
import html
from typing import Any, Literal, Optional, Union

import ipywidgets as widgets

from ..sio.client import RecoveryClient
from .labels import Labels, resolve_labels
from .launcher import ChatServer
from .tasks import TaskGroup

Mode = Literal["drop", "clean"]

_MESSAGES_STYLE = ("display:flex;flex-direction:column-reverse;overflow-y:auto;"
                   "height:11em;border:1px solid #ddd;margin:2px 0")
_LIST_STYLE = "list-style:none;margin:0;padding:0"
_ROW_COLORS = ("#ffffff", "#efefef")


class ChatWidget(widgets.VBox):
    """A chat client in the notebook: messages, a text box, Send, and Disconnect/Connect.

    ``mode="drop"`` makes Disconnect a network loss (:meth:`RecoveryClient.drop`),
    which connection state recovery survives; ``mode="clean"`` makes it
    ``disconnect()``, like the button of Socket.IO's tutorial, which is never
    recovered. Messages sent while disconnected wait (shown as pending) and go
    out on reconnect. The status line shows whether the client is connected,
    whether its last connection was recovered, its sid and its last offset.
    ``labels`` is ``"en"``, ``"es"`` or a dict replacing some labels.

    Buttons start tasks on the event loop and never block the kernel; an
    error shows in the widget. Cells can do the same with ``await``.

    Example::

        server = await chatlib.start_chat_server()
        alice = chatlib.ChatWidget(server, "Alice")
        bob = chatlib.ChatWidget(server, "Bob", labels="es")
        display(widgets.HBox([alice, bob]))
        await alice.disconnect()          # returns once the server keeps her session
        await bob.send("realtime")
        await alice.connect()
        await alice.wait_for_message("realtime")
        assert alice.client.recovered and alice.messages.count("realtime") == 1
    """

    def __init__(self, server: Union[ChatServer, str], name: str = "", mode: Mode = "drop",
                 labels: Labels = "en", connect: bool = True, **kwargs: Any) -> None:
        if mode not in ("drop", "clean"):
            raise ValueError("mode must be 'drop' or 'clean'")
        self.server = server if isinstance(server, ChatServer) else None
        self.url = server.url if isinstance(server, ChatServer) else server
        self.name = name
        self.mode: Mode = mode
        self.labels = resolve_labels(labels)
        #: every chat message received, in order
        self.messages: list[Any] = []
        #: errors raised by the widget's actions, newest last
        self.errors: list[BaseException] = []
        # RecoveryClient leaves SIGINT alone, so a kernel interrupt does not touch it
        self.client = RecoveryClient()
        self.client.on("chat message", self._on_message)
        self.client.on("connect", self._on_change)
        self.client.on("disconnect", self._on_change)
        loop = self.server.loop if self.server is not None else asyncio.get_running_loop()
        self._tasks = TaskGroup(loop, self._show_error)
        self._arrived = asyncio.Condition()
        self._online = connect
        self._connecting: Optional[asyncio.Task] = None
        self._stopped = False

        label = self.labels
        self.header = widgets.HTML(f"<b>{html.escape(name)}</b> "
                                  f"<small>{html.escape(label['mode_' + mode])}</small>")
        self.status = widgets.HTML()
        self.message_list = widgets.HTML()
        self.pending_list = widgets.HTML()
        self.text = widgets.Text(placeholder=label["placeholder"],
                                 layout=widgets.Layout(flex="1 1 auto"))
        self.send_button = widgets.Button(description=label["send"])
        self.toggle_button = widgets.Button()
        self.error_line = widgets.HTML()
        self.send_button.on_click(self._on_send_click)
        self.toggle_button.on_click(self._on_toggle_click)
        controls = widgets.HBox([self.text, self.send_button, self.toggle_button])
        super().__init__([self.header, self.status, self.message_list, self.pending_list,
                          controls, self.error_line], **kwargs)
        self._render()
        if self.server is not None:
            self.server.attach(self)
        if connect:
            self._tasks.spawn(self.connect())

    def __repr__(self) -> str:
        return f"<ChatWidget {self.name!r} {self.mode} {self.url}>"

    # -- what cells read -------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the client is connected to the chat's namespace."""
        return "/" in self.client.namespaces

    @property
    def sid(self) -> Optional[str]:
        """The sid of the current (or last) connection."""
        return self.client.state().sid

    # -- actions, for buttons and cells ----------------------------------

    async def send(self, text: str) -> None:
        """Send a chat message; while disconnected it waits and is sent on reconnect."""
        await self.client.emit("chat message", text)
        self._render()

    async def connect(self, timeout: float = 5.0) -> None:
        """Connect (again) and return once connected; after a drop the session is recovered."""
        self._online = True
        self._render()
        if self.connected:
            return
        if self._connecting is None or self._connecting.done():
            # one attempt shared by every caller; its error reaches each of them
            self._connecting = self._tasks.loop.create_task(self._open())
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._connecting)

    async def _open(self) -> None:
        if self.client.connection_url is None:
            await self.client.connect(self.url, transports=["websocket"])
        else:
            await self.client.reconnect()

    async def disconnect(self, timeout: float = 5.0) -> None:
        """Disconnect as ``mode`` says; return once the server has seen it.

        In drop mode that is when the server keeps the session, so that what
        is sent next is missed live and can only arrive by recovery. (A widget
        made from a URL instead of a server cannot watch the server's store: it
        returns once its own side is disconnected.)
        """
        self._online = False
        self._render()
        if self._connecting is not None and not self._connecting.done():
            await asyncio.wait_for(asyncio.shield(self._connecting), timeout)
        sid = self.client.get_sid("/")
        if sid is None:
            return
        if self.mode == "drop":
            await self.client.drop()
        else:
            await self.client.disconnect()
        if self.server is not None and self.server.store is not None:
            await self.server.wait_until(lambda: self._server_has_seen_disconnect(sid), timeout)
        self._render()

    def _server_has_seen_disconnect(self, sid: str) -> bool:
        row = self.server.session(sid)
        if self.mode == "drop":
            return row is not None and not row["connected"]  # kept for recovery
        return row is None  # forgotten

    def toggle(self) -> asyncio.Task:
        """What the toggle button does: start disconnecting or connecting; returns the task."""
        self._online = not self._online
        task = self._tasks.spawn(self.connect() if self._online else self.disconnect())
        self._render()
        return task

    async def wait_for_message(self, text: Any, timeout: float = 5.0) -> None:
        """Wait until ``text`` is among the received messages; ``TimeoutError`` otherwise."""
        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(lambda: text in self.messages)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until what the buttons started has finished.

        Example: ``alice.toggle_button.click()`` then ``await alice.wait_idle()``.
        """
        await self._tasks.wait(timeout)

    async def aclose(self) -> None:
        """Stop the client (a clean disconnect) and the widget's tasks; detach from the server."""
        self._stopped = True
        self._online = False
        await self._tasks.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        await self.client.shutdown()
        if self.server is not None:
            self.server.detach(self)
        self._render()

    async def server_stopped(self) -> None:
        """Called by the server as it stops: disconnect, and say so in the widget."""
        await self.aclose()
        self.error_line.value = f"<i>{html.escape(self.labels['server_stopped'])}</i>"

    def close(self) -> None:
        """Close the widget; its client disconnects in the background."""
        # also called on a half-made widget, and by the garbage collector after the loop ended
        if not getattr(self, "_stopped", True) and not self._tasks.loop.is_closed():
            self._stopped = True
            self._tasks.spawn(self.aclose())
        super().close()

    # -- callbacks -------------------------------------------------------

    def _on_send_click(self, _button: Any) -> None:
        text = self.text.value
        if text:
            self.text.value = ""
            self._tasks.spawn(self.send(text))

    def _on_toggle_click(self, _button: Any) -> None:
        self.toggle()

    async def _on_message(self, msg: Any = None, *_extra: Any) -> None:
        self.messages.append(msg)
        self._render()
        async with self._arrived:
            self._arrived.notify_all()

    async def _on_change(self, *_args: Any) -> None:
        self._render()

    def _show_error(self, error: BaseException) -> None:
        self.errors.append(error)
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        self.error_line.value = (f"<span style='color:#b00020'>{html.escape(self.labels['error'])}"
                                 f": {html.escape(text)}</span>")

    # -- drawing ---------------------------------------------------------

    def _render(self) -> None:
        label = self.labels
        self.toggle_button.description = label["disconnect" if self._online else "connect"]
        self.status.value = self._status_html()
        rows = "".join(
            f"<li style='padding:2px 8px;background:{_ROW_COLORS[i % 2]}'>"
            f"{html.escape(str(msg))}</li>" for i, msg in enumerate(self.messages))
        self.message_list.value = (f"<div style='{_MESSAGES_STYLE}'><ul style='{_LIST_STYLE}'>"
                                   f"{rows}</ul></div>")
        pending = [item.data for item in self.client.pending]
        self.pending_list.value = "".join(
            f"<div style='color:#888;font-style:italic'>{html.escape(str(data))} "
            f"({html.escape(label['pending'])})</div>" for data in pending)

    def _status_html(self) -> str:
        label = self.labels
        if self.connected:
            dot, state = "#2e7d32", label["connected"]
        elif self._online and not self._stopped:
            dot, state = "#f9a825", label["connecting"]
        else:
            dot, state = "#c62828", label["disconnected"]
        parts = [f"<span style='color:{dot}'>●</span> {html.escape(state)}",
                 f"{label['recovered']}: {label['yes'] if self.client.recovered else label['no']}",
                 f"{label['sid']}: <code>{html.escape(self.sid or '–')}</code>",
                 f"{label['last_offset']}: "
                 f"<code>{html.escape(self.client.last_offset or '–')}</code>"]
        return " · ".join(parts)
