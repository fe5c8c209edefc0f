"""A strip: the lesson's chat widgets and views side by side, to show again under each step.

An ipywidget can be displayed any number of times, and every copy is the same live
widget: a click in one copy is a click in all. So a lesson shows the strip again under
the cell that acts on it, and the effect is where the reader is looking.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..jupyter.lifecycle import ChatClient

#: A chat widget's width in a strip: its text box and both buttons on one line.
CHAT_WIDTH = "340px"


def _name(child: Any) -> str:
    """A chat client by its name; a view by its kind (its own name holds a changing address)."""
    if isinstance(child, ChatClient):
        return child.name or type(child).__name__
    return type(child).__name__


def _is_chat(child: Any) -> bool:
    return hasattr(child, "toggle_button") and hasattr(child, "send_button")


def _compact(chat: Any) -> None:
    # the buttons' default width (148 px each) would make a chat widget 600 px wide
    chat.layout.width = CHAT_WIDTH
    for button in (chat.send_button, chat.toggle_button):
        button.layout.width = "auto"
        button.layout.flex = "0 0 auto"
    chat.text.layout.width = "auto"
    chat.text.layout.min_width = "0"
    chat.text.layout.flex = "1 1 auto"


class Strip(widgets.HBox):
    """Chat widgets in a column on the left, the views (wire, buffer) in a column beside it.

    On a narrow screen the views' column wraps below the chat widgets. Its text form
    (what a notebook saved without widget state shows, and what a notebook test compares)
    names what it holds, never its changing state.

    Example::

        strip = Strip(alice, bob, chatlib.BufferView(server), chatlib.WireView(server))
        strip                  # under the first step
        strip                  # again under the next one: the same live widgets
    """

    def __init__(self, *children: widgets.Widget, **kwargs: Any) -> None:
        self.members = list(children)
        chats = [child for child in children if _is_chat(child)]
        views = [child for child in children if not _is_chat(child)]
        for chat in chats:
            _compact(chat)
        # the wire first: it is the picture the steps talk about
        views.sort(key=lambda view: type(view).__name__ != "WireView")
        columns = [widgets.VBox(chats, layout=widgets.Layout(flex="0 0 auto",
                                                             margin="0 12px 0 0"))]
        if views:
            # the views fit their column: their text wraps, the wire picture takes the
            # column's width, a table too wide scrolls right under itself (a scrollbar of
            # the column would sit at its foot, out of sight below the chats)
            columns.append(widgets.VBox(views, layout=widgets.Layout(
                flex="1 1 420px", min_width="0")))
        kwargs.setdefault("layout", widgets.Layout(flex_flow="row wrap",
                                                   align_items="flex-start", width="100%"))
        super().__init__(columns, **kwargs)

    def __repr__(self) -> str:
        return "Strip(" + ", ".join(_name(child) for child in self.members) + ")"
