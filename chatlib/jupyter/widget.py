"""ChatWidget: the tutorial's chat page as an ipywidget, on a RecoveryClient."""

from __future__ import annotations

import asyncio
import html
import time
from typing import Any, Literal

import ipywidgets as widgets

from ..chat.step7 import ServerOffset
from ..sio import compat
from ..sio.client import RecoveryClient
from ..sio.observe import ObservedPacket
from ..sio.silence import Silence
from . import lifecycle
from .labels import Labels, resolve_labels
from .launcher import ChatServer
from .message_box import MessageBox
from .tasks import TaskGroup, error_html

Mode = Literal["drop", "clean", "silent"]
_MODES = ("drop", "clean", "silent")

_MESSAGES_STYLE = ("display:flex;flex-direction:column-reverse;overflow-y:auto;"
                   "height:11em;border:1px solid #ddd;margin:2px 0")
_LIST_STYLE = "list-style:none;margin:0;padding:0"
_ROW_COLORS = ("#ffffff", "#efefef")
_REPLAY_COLOR = "#fff3e0"
_FIELD = "white-space:nowrap"
# ipywidgets gives an HTML widget's lines the height of a text box (28 px), so a header or
# status line that wraps looks like two paragraphs; a <style> applies page-wide, so the rule
# names the widget's own class
_CLASS = "chatlib-chat"
_STYLE = f"<style>.{_CLASS} .widget-html-content {{line-height: 1.4}}</style>"
_WAIT_MARGIN = 5.0  # seconds beyond the server's ping timeout for a silent client to be noticed

class ChatWidget(widgets.VBox):
    """A chat client in the notebook: messages, a text box, Send, and Disconnect/Connect.

    ``mode`` says what Disconnect does:

    - ``"drop"``: a network loss that closes the connection
      (:meth:`RecoveryClient.drop`); the server notices at once ("transport
      close") and keeps the session;
    - ``"silent"``: a network loss that closes nothing (Wi-Fi gone): the
      client stops answering, and the server notices only at its ping
      timeout, then keeps the session;
    - ``"clean"``: ``socket.disconnect()``, like the button of Socket.IO's
      tutorial: the session is not kept, so it is never recovered.

    ``room`` joins that room when the session starts (a restored session is
    back in it without joining again); the chat sends a message to the
    sender's room, or to everyone when the sender is in none.

    Messages sent while disconnected wait (shown as pending) and go out on
    reconnect; a message a restore replayed is marked ↻. The status line
    says whether the client is connected (and whether the server has noticed
    a silent drop yet), whether this connection was recovered ("–" while
    there is none), its sid and its last offset; a field never wraps inside.
    ``labels`` is ``"en"``,
    ``"es"`` or a dict replacing some labels. Enter in the text box sends.

    Buttons start tasks on the event loop and never block the kernel; an
    error shows in the widget. Cells can do the same with ``await``.

    The client of the tutorial's steps 7 and 8 (a server started with ``step=7``
    or ``8``): ``server_offset`` sends the id of the last message received as
    ``serverOffset`` in the auth of every connection (``self.offset``, shown on the
    status line) and skips a message id received before; ``client_offset`` sends
    each message with ``"<sid>-<counter>"``, as step 8 does. Both default to what
    the server's step uses (on for a step-8 server; from a URL, off).
    ``retries`` and ``ack_timeout`` are :class:`chatlib.RecoveryClient`'s (the JS
    client's ``retries`` and ``ackTimeout``): a message given up after its last try
    shows as an error in the widget.

    Example::

        server = await chatlib.start_chat_server()
        alice = chatlib.ChatWidget(server, "Alice", room="#general")
        bob = chatlib.ChatWidget(server, "Bob", room="#general", labels="es")
        display(widgets.HBox([alice, bob]))
        await alice.disconnect()          # returns once the server keeps her session
        await bob.send("realtime")
        await alice.connect()
        await alice.wait_for_message("realtime")
        assert alice.client.recovered and alice.messages.count("realtime") == 1
        assert alice.history[-1]["replay"]          # drawn with ↻

        step8 = await chatlib.start_chat_server(step=8)
        carol = chatlib.ChatWidget(step8, "Carol", retries=3, ack_timeout=1.0)
        carol.offset.value                          # serverOffset: the last id received
    """

    def __init__(self, server: ChatServer | str, name: str = "", mode: Mode = "drop",
                 room: str | None = None, labels: Labels = "en", connect: bool = True,
                 retries: int | None = None, ack_timeout: float | None = None,
                 server_offset: bool | None = None, client_offset: bool | None = None,
                 **kwargs: Any) -> None:
        if mode not in _MODES:
            raise ValueError("mode must be 'drop', 'silent' or 'clean'")
        if room is not None and (not isinstance(room, str) or not room):
            raise ValueError("room must be a non-empty string (or None: no room)")
        self.server = server if isinstance(server, ChatServer) else None
        self.url = server.url if isinstance(server, ChatServer) else server
        self.name = name
        self.mode: Mode = mode
        self.room = room
        self.labels = resolve_labels(labels)
        #: every chat message received, in order
        self.messages: list[Any] = []
        #: the same, as dicts: {"text", "offset", "replay"} (replay: sent by a restore); a
        #: client of steps 7 and 8 adds "id", the message's id (None: a message without one)
        self.history: list[dict] = []
        #: errors raised by the widget's actions, newest last
        self.errors: list[BaseException] = []
        #: ``time.monotonic()`` when Disconnect last cut (drop) or silenced the connection
        self.lost_at: float | None = None
        #: how many times the client connected (recovered or not)
        self.connections = 0
        step = self.server.step if self.server is not None else 6
        #: step 7's serverOffset (``offset.value``), or None
        self.offset: ServerOffset | None = ServerOffset() if (
            step >= 7 if server_offset is None else server_offset) else None
        self.client_offset = step >= 8 if client_offset is None else client_offset
        self._sent_count = 0  # step 8's counter of client offsets
        # RecoveryClient leaves SIGINT alone, so a kernel interrupt does not touch it
        self.client = RecoveryClient(retries=retries, ack_timeout=ack_timeout)
        self.client.on("chat message", self._on_message if self.offset is None
                       else self.offset.handler(self._on_message))
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_change)
        self._silence = Silence(self.client)
        self._unsent: list[Any] = []  # sent while silent: the client cannot take them yet
        self._replayed: set[str] = set()  # offsets a restore wrote to this client
        loop = self.server.loop if self.server is not None else asyncio.get_running_loop()
        #: the event loop the client runs on
        self.loop = loop
        self._tasks = TaskGroup(loop, self._show_error)
        self._arrived = asyncio.Condition()
        self._typed_in_order = asyncio.Lock()   # fair: messages typed go out in typing order
        self._online = connect
        self._connecting: asyncio.Task | None = None
        self._stopped = False

        label = self.labels
        self.header = widgets.HTML()
        self.status = widgets.HTML()
        self.message_list = widgets.HTML()
        self.pending_list = widgets.HTML()
        # Enter sends exactly what is in the box, at any typing speed (see MessageBox)
        self.text = MessageBox(placeholder=label["placeholder"],
                               layout=widgets.Layout(flex="1 1 auto"))
        self.send_button = widgets.Button(description=label["send"])
        self.toggle_button = widgets.Button()
        self.error_line = widgets.HTML()
        self.send_button.on_click(self._on_send_click)
        self.toggle_button.on_click(self._on_toggle_click)
        self.text.on_submit(self._send_typed)
        controls = widgets.HBox([self.text, self.send_button, self.toggle_button])
        super().__init__([self.header, self.status, self.message_list, self.pending_list,
                          controls, self.error_line], **kwargs)
        self.add_class(_CLASS)
        self._attach()
        lifecycle.add_client(self)
        self._render()
        if connect:
            self._tasks.spawn(self.connect())

    def __repr__(self) -> str:
        return f"<ChatWidget {self.name!r} {self.mode} {self.url}>"

    # -- what cells read -------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the client is connected to the chat's namespace (and not silenced)."""
        return "/" in self.client.namespaces and not self._silence.active

    @property
    def sid(self) -> str | None:
        """The sid of the current (or last) connection."""
        return self.client.state().sid

    @property
    def eio_sid(self) -> str | None:
        """The Engine.IO sid of the current (or last) connection."""
        return self.client.eio.sid

    @property
    def last_offset(self) -> str | None:
        """The recovery offset the client holds: that of the last stored event it received."""
        return self.client.last_offset

    @property
    def pending(self) -> list[Any]:
        """Messages waiting to be sent (with ``retries``: not yet acknowledged), oldest first."""
        sent = [item.data for item in self.client.pending]
        return self._unsent + [data[0] if isinstance(data, tuple) else data for data in sent]

    # -- actions, for buttons and cells ----------------------------------

    async def send(self, text: str) -> None:
        """Send a chat message; while disconnected it waits and is sent on reconnect."""
        if self._silence.active:
            self._unsent.append(text)
        else:
            await self._emit(text)
        self._render()

    async def _emit(self, text: str) -> None:
        data: Any = text
        if self.client_offset:
            # step 8: the tutorial's `${socket.id}-${counter++}`
            data = (text, f"{self.sid}-{self._sent_count}")
            self._sent_count += 1
        outcome = await self.client.emit("chat message", data)
        if outcome is not None:  # with retries: the ack, or DeliveryError, later
            outcome.add_done_callback(self._delivered)

    def _delivered(self, outcome: asyncio.Future) -> None:
        if not outcome.cancelled() and outcome.exception() is not None:
            self._show_error(outcome.exception())
        self._render()

    async def connect(self, url: ChatServer | str | None = None,
                      timeout: float = 5.0) -> None:
        """Connect (again) and return once connected; after a drop the session is recovered.

        ``url`` (a URL or a ChatServer) moves the widget to another server: it
        presents its pid and last offset there too, which only a store shared
        by both servers can honour. A URL of a chat server of this kernel is
        taken as that server (the widget then watches its store, and stops
        with it).

        Example::

            await alice.disconnect()
            await alice.connect(west)           # another server: recovered only if it shares the store
        """
        if url is not None:
            await self._move_to(url, timeout)
        self._online = True
        self._render()
        if self.connected:
            return
        if self._connecting is None or self._connecting.done():
            # one attempt shared by every caller; its error reaches each of them
            self._connecting = self._tasks.loop.create_task(self._open())
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._connecting)

    async def _move_to(self, target: ChatServer | str, timeout: float) -> None:
        new_url = target.url if isinstance(target, ChatServer) else target
        if new_url == self.url:
            return
        if self.connected or self._silence.active:
            await self.disconnect(timeout=timeout)
        self._detach()
        # a URL of a server of this kernel: watch that server as if it had been given
        self.server = target if isinstance(target, ChatServer) else next(
            (server for server in lifecycle.running_servers() if server.url == new_url), None)
        self.url = new_url
        self._attach()

    async def _open(self) -> None:
        await self._silence.end()
        if compat.last_connection(self.client)["url"] is None:
            auth = self._auth if self.offset is not None or self.room is not None else None
            await self.client.connect(self.url, transports=["websocket"], auth=auth)
        else:
            await self.client.reconnect(url=self.url)
        unsent, self._unsent = self._unsent, []
        for text in unsent:
            await self._emit(text)

    def _auth(self) -> dict:
        """The CONNECT's auth, made again for each connection: the room, step 7's serverOffset."""
        auth = {"room": self.room} if self.room is not None else {}
        if self.offset is not None:
            auth.update(self.offset.auth())
        return auth

    async def disconnect(self, timeout: float | None = None) -> None:
        """Disconnect as ``mode`` says; return once the server has seen it.

        In drop and silent modes that is when the server keeps the session, so
        that what is sent next is missed live and can only arrive by recovery
        (silent: after the server's ping timeout; ``timeout`` defaults to 5 s,
        and for silent to the server's ping interval + ping timeout + 5 s). A
        widget made from a URL instead of a server cannot watch the server's
        store: it returns once its own side is disconnected (or silent).
        """
        if timeout is None:
            timeout = _WAIT_MARGIN
            if self.mode == "silent" and self.server is not None:
                timeout += self.server.ping_interval + self.server.ping_timeout
        self._online = False
        self._render()
        if self._connecting is not None and not self._connecting.done():
            await asyncio.wait_for(asyncio.shield(self._connecting), timeout)
        sid = self.client.get_sid("/")
        if sid is None or self._silence.active:
            return
        if self.mode == "clean":
            await self.client.disconnect()
        else:
            self.lost_at = time.monotonic()
            if self.mode == "drop":
                await self.client.drop()
            else:
                self._silence.start()
        self._render()
        if self.server is not None and self.server.store is not None:
            await self.server.wait_until(lambda: self._server_has_seen_disconnect(sid), timeout)
        self._render()

    def _server_has_seen_disconnect(self, sid: str) -> bool:
        row = self.server.session(sid)
        if self.mode == "clean":
            return row is None  # forgotten
        return row is not None and not row["connected"]  # kept for recovery

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
        lifecycle.forget_client(self)
        await self._tasks.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        await self._silence.end()
        await self.client.shutdown()
        self._detach()
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

    # -- the server ------------------------------------------------------

    def _attach(self) -> None:
        if self.server is not None:
            self.server.attach(self)
            self.server.io.add_packet_observer(self._observe)

    def _detach(self) -> None:
        if self.server is not None:
            self.server.detach(self)
            self.server.io.remove_packet_observer(self._observe)

    def _observe(self, packet: ObservedPacket) -> None:
        # the client cannot tell a replayed event from a live one; the server can
        if (packet.replay and packet.type == "EVENT" and packet.offset is not None
                and packet.eio_sid == self.client.eio.sid):
            self._replayed.add(packet.offset)

    # -- callbacks -------------------------------------------------------

    def _on_send_click(self, _button: Any) -> None:
        self.text.request_submit()   # the box answers with its text, as on Enter

    def _send_typed(self, text: str) -> None:
        if text:
            self._tasks.spawn(self._send_in_order(text))

    async def _send_in_order(self, text: str) -> None:
        async with self._typed_in_order:
            await self.send(text)

    def _on_toggle_click(self, _button: Any) -> None:
        self.toggle()

    async def _on_message(self, msg: Any = None, *_extra: Any) -> None:
        offset = self.client.last_offset
        self.messages.append(msg)
        item = {"text": msg, "offset": offset,
                "replay": offset is not None and offset in self._replayed}
        if self.offset is not None:
            item["id"] = self.offset.current
        self.history.append(item)
        self._render()
        async with self._arrived:
            self._arrived.notify_all()

    async def _on_connect(self, *_args: Any) -> None:
        self.connections += 1
        self.lost_at = None
        self._render()

    async def _on_change(self, *_args: Any) -> None:
        self._render()

    def _show_error(self, error: BaseException) -> None:
        self.errors.append(error)
        self.error_line.value = error_html(error, self.labels["error"])

    # -- drawing ---------------------------------------------------------

    def _render(self) -> None:
        label = self.labels
        room = (f" <small>{html.escape(label['room'])}: <code>{html.escape(self.room)}</code>"
                f"</small>" if self.room else "")
        self.header.value = (f"<b>{html.escape(self.name)}</b>{room} "
                             f"<small>{html.escape(label['mode_' + self.mode])}</small>")
        self.toggle_button.description = label["disconnect" if self._online else "connect"]
        self.status.value = self._status_html()
        rows = "".join(
            f"<li style='padding:2px 8px;background:"
            f"{_REPLAY_COLOR if item['replay'] else _ROW_COLORS[i % 2]}'>"
            f"{self._mark(item)}{html.escape(str(item['text']))}</li>"
            for i, item in enumerate(self.history))
        self.message_list.value = (f"{_STYLE}<div style='{_MESSAGES_STYLE}'>"
                                   f"<ul style='{_LIST_STYLE}'>{rows}</ul></div>")
        self.pending_list.value = "".join(
            f"<div style='color:#888;font-style:italic'>{html.escape(str(data))} "
            f"({html.escape(label['pending'])})</div>" for data in self.pending)

    def _drop_noticed(self) -> bool:
        """Whether the other side has taken this silent client as gone."""
        if self.server is not None and self.server.store is not None:
            return self.server.is_kept(self.sid)
        return "/" not in self.client.namespaces  # only this side's own timeout tells

    def _mark(self, item: dict) -> str:
        if not item["replay"]:
            return ""
        return (f"<span title='{html.escape(self.labels['replayed'])}' "
                f"style='color:#e65100;font-weight:bold'>↻ </span>")

    def _status_html(self) -> str:
        label = self.labels
        unnoticed = self._silence.active and not self._drop_noticed()
        if self.connected:
            dot, state = "#2e7d32", label["connected"]
        elif unnoticed:
            dot, state = "#c62828", label["silent"]
        elif self._online and not self._stopped:
            dot, state = "#f9a825", label["connecting"]
        else:
            dot, state = "#c62828", label["disconnected"]
        # "recovered" describes the current connection only: none, no answer
        recovered = (label["yes"] if self.client.recovered else label["no"]) if self.connected else "–"
        fields = [f"<span style='color:{dot}'>●</span> {html.escape(state)}",
                  f"{html.escape(label['recovered'])}: {html.escape(recovered)}",
                  f"{html.escape(label['sid'])}: <code>{html.escape(self.sid or '–')}</code>",
                  f"{html.escape(label['last_offset'])}: "
                  f"<code>{html.escape(self.client.last_offset or '–')}</code>"]
        if self.offset is not None:
            fields.append(f"{html.escape(label['server_offset'])}: "
                          f"<code>{self.offset.value}</code>")
        # a field never breaks inside; the line may break between fields
        return " · ".join(f"<span style='{_FIELD}'>{field}</span>" for field in fields)
