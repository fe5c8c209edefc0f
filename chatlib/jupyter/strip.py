"""A strip: the lesson's chat widgets and views side by side, to show again under each step.

An ipywidget can be displayed any number of times, and every copy is the same live
widget: a click in one copy is a click in all. So a lesson shows the strip again under
the cell that acts on it, and the effect is where the reader is looking.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


def _name(child: Any) -> str:
    return getattr(child, "name", "") or type(child).__name__


class Strip(widgets.Box):
    """Chat widgets and views in one row that wraps on a narrow screen.

    Its text form (what a notebook saved without widget state shows, and what a notebook
    test compares) names what it holds, never its changing state.

    Example::

        strip = Strip(alice, bob, chatlib.BufferView(server), chatlib.WireView(server))
        strip                  # under the first step
        strip                  # again under the next one: the same live widgets
    """

    def __init__(self, *children: widgets.Widget, **kwargs: Any) -> None:
        kwargs.setdefault("layout", widgets.Layout(display="flex", flex_flow="row wrap",
                                                   align_items="flex-start", width="100%"))
        super().__init__(list(children), **kwargs)

    def __repr__(self) -> str:
        return "Strip(" + ", ".join(_name(child) for child in self.children) + ")"
