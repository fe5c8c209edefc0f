"""MessageBox: a text box whose Enter sends exactly what is in it, at any typing speed.

ipywidgets' ``Text`` cannot promise that. Its front end sends the box's value as state
updates, at most one in flight per widget: while the kernel has not answered one, the
next value waits in the browser. Enter, though, is a separate custom message, sent at
once, so it can reach the kernel before the last keys typed: "hello" typed fast and
Enter sends "h", and the kernel's clearing of the box is then undone by the late value.

Here the browser does the reading and the clearing, in one step: on Enter the view
takes the text from its own ``<input>``, empties it, and sends the text inside the
submit message itself. The kernel never reads a value that may be stale. A Send
button elsewhere asks the box for its text the same way (:meth:`MessageBox.request_submit`).
The view is a small ES module, run by anywidget (no build step, nothing from a CDN).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

_ESM = """
// The view that last had the reader's attention, per box: a widget shown in several
// cells has a view in each, and only that one answers a Send button's request. Kept on
// globalThis, shared by every view of the page however often this module is loaded.
const active = (globalThis.chatlibActiveMessageBoxes ??= new Map());

function render({ model, el }) {
  const box = model.get("box_id");
  el.classList.add("widget-inline-hbox", "widget-text", "chatlib-message-box");
  const input = document.createElement("input");
  input.type = "text";
  input.className = "widget-input";
  input.value = model.get("value");
  el.appendChild(input);

  const show = () => {
    input.placeholder = model.get("placeholder");
    input.disabled = model.get("disabled");
  };
  const fromKernel = () => {
    if (input.value !== model.get("value")) input.value = model.get("value");
  };
  // the text goes with the message: the kernel need not wait for the value to sync
  const submit = () => {
    const text = input.value;
    input.value = "";
    model.set("value", "");
    model.save_changes();
    model.send({ event: "submit", text });
  };
  const onKey = (event) => {
    event.stopPropagation();  // JupyterLab's shortcuts (a, b, dd, Enter) are not for here
    if (event.type === "keydown" && event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  };
  const onInput = () => {
    active.set(box, input);
    model.set("value", input.value);
    model.save_changes();
  };
  const onFocus = () => active.set(box, input);
  const onRequest = (message) => {
    if (message && message.do === "submit" && active.get(box) === input) submit();
  };

  input.addEventListener("keydown", onKey);
  input.addEventListener("keypress", onKey);
  input.addEventListener("keyup", onKey);
  input.addEventListener("input", onInput);
  input.addEventListener("focus", onFocus);
  model.on("change:value", fromKernel);
  model.on("change:placeholder change:disabled", show);
  model.on("msg:custom", onRequest);
  show();
  if (!active.has(box)) active.set(box, input);
  model.send({ event: "shown" });
  return () => {
    model.off("change:value", fromKernel);
    model.off("change:placeholder change:disabled", show);
    model.off("msg:custom", onRequest);
    if (active.get(box) === input) active.delete(box);
  };
}

export default { render };
"""

_CSS = """
.chatlib-message-box { flex: 1 1 auto; min-width: 0; }
.chatlib-message-box > input.widget-input { flex: 1 1 auto; min-width: 0; }
"""


class MessageBox(anywidget.AnyWidget):
    """A one-line text box; Enter hands its exact text to :meth:`on_submit` callbacks.

    The browser empties the box as it sends, so a reader can type the next message at
    once. ``value`` follows what is typed (for reading, or to set the box from a cell).

    Example::

        box = MessageBox(placeholder="Type a message")
        box.on_submit(lambda text: print("sent", text))
        box      # type "¿qué más?" and press Enter: prints "sent ¿qué más?"
    """

    _esm = _ESM
    _css = _CSS
    value = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    #: tells this box's views from another box's in the page (its model's id)
    box_id = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.box_id = self.model_id
        self._submit_callbacks: list[Callable[[str], Any]] = []
        self._shown = False
        self.on_msg(self._on_front_end_msg)

    def on_submit(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(text)`` with the box's text each time it is submitted."""
        self._submit_callbacks.append(callback)

    def request_submit(self) -> None:
        """Submit what is in the box, as Enter does (for a Send button beside it).

        Once the box has been shown, the browser answers with the text in its ``<input>``,
        which may be newer than ``value``; never shown (no front end, as in a test), the
        kernel's ``value`` is what there is.
        """
        if self._shown:
            self.send({"do": "submit"})
        else:
            text, self.value = self.value, ""
            self._submit(text)

    def _submit(self, text: str) -> None:
        for callback in self._submit_callbacks:
            callback(text)

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "shown":
            self._shown = True
        elif content.get("event") == "submit":
            text = content.get("text")
            if text is None:
                # a submit without its text (ipywidgets' Text sends these): the value it has
                text, self.value = self.value, ""
            if isinstance(text, str):
                # the browser has emptied the box itself: clearing it from here could
                # wipe what the reader has typed since
                self._submit(text)
