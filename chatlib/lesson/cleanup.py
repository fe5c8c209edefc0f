"""A button that stops every chat server of the lesson, for its last section.

A cell that stopped them would also run under *Run All* and leave the lesson dead; a
button only does it when the reader asks.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as widgets

from ..jupyter.labels import Labels
from ..jupyter.lifecycle import stop_all
from ..jupyter.tasks import TaskGroup, error_html
from .texts import texts


class CleanUp(widgets.HBox):
    """The button and a line saying what it did.

    Example::

        CleanUp(labels="es")     # click: await stop_all(), then the count left
    """

    def __init__(self, labels: Labels = "en", **kwargs: Any) -> None:
        self.texts = texts("cleanup", labels)
        self.button = widgets.Button(description=self.texts["button"], button_style="warning",
                                     layout=widgets.Layout(width="auto"))
        self.line = widgets.HTML(html.escape(self.texts["before"]))
        #: the server tasks ``chatlib.stop_all()`` found left behind, once clicked
        self.left_behind: list[Any] = []
        self._tasks = TaskGroup(asyncio.get_running_loop(), self._show_error)
        self.button.on_click(lambda _button: self._tasks.spawn(self.stop_all()))
        super().__init__([self.button, self.line], **kwargs)

    def __repr__(self) -> str:
        return f"CleanUp({self.texts['button']!r})"

    async def stop_all(self) -> None:
        """What the button does."""
        self.button.disabled = True
        self.left_behind = list(await stop_all())
        self.line.value = html.escape(self.texts["after"].format(left=len(self.left_behind)))

    def _show_error(self, error: BaseException) -> None:
        self.button.disabled = False
        self.line.value = error_html(error)
