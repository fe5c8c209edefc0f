"""Drive a real IPython kernel (ipykernel) the way a notebook front end does."""

from __future__ import annotations

import ast
import inspect
import time
from typing import Any

from jupyter_client.manager import start_new_kernel

from . import helpers

#: Cell code defining ``server_tasks()`` in the kernel, as in the tests' own process.
SERVER_TASKS = (f"import asyncio\nSERVER_CODE = {helpers.SERVER_CODE!r}\n"
                + inspect.getsource(helpers.server_tasks))


class CellError(AssertionError):
    """A cell raised; ``ename`` is the exception's class name."""

    def __init__(self, ename: str, traceback: str) -> None:
        super().__init__(f"{ename} in cell:\n{traceback}")
        self.ename = ename


class Kernel:
    """One kernel process and a blocking client to it."""

    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=60)

    def run(self, code: str, timeout: float = 30) -> None:
        """Execute a cell; raise ``CellError`` if it failed."""
        self._raise_for(self.client.execute_interactive(code, timeout=timeout,
                                                        output_hook=lambda msg: None)["content"])

    def eval(self, expression: str, timeout: float = 30) -> Any:
        """The value of ``expression`` in the kernel (a literal: numbers, strings, tuples...).

        It comes back in the execute reply, not as printed output, which a kernel
        may deliver late after an interrupt.
        """
        reply = self.client.execute_interactive("", timeout=timeout, output_hook=lambda msg: None,
                                                user_expressions={"value": expression})
        value = reply["content"]["user_expressions"]["value"]
        self._raise_for(value)
        return ast.literal_eval(value["data"]["text/plain"])

    def start(self, code: str) -> str:
        """Start executing a cell without waiting; returns its message id."""
        return self.client.execute(code)

    def wait_for_output(self, msg_id: str, text: str, timeout: float = 30) -> None:
        """Wait until the cell ``msg_id`` has printed ``text``."""
        deadline = time.monotonic() + timeout
        printed = ""
        while text not in printed:
            msg = self.client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                printed += msg["content"]["text"]

    def reply(self, msg_id: str, timeout: float = 30) -> dict:
        """The execute reply of the cell ``msg_id``."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_shell_msg(timeout=max(0.0, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def click(self, model_id: str) -> None:
        """Send what a front end sends when the button ``model_id`` is clicked."""
        content = {"comm_id": model_id, "data": {"method": "custom", "content": {"event": "click"}}}
        self.client.shell_channel.send(self.client.session.msg("comm_msg", content))

    def shutdown(self) -> None:
        self.client.stop_channels()
        if self.manager.is_alive():
            self.manager.shutdown_kernel(now=False)

    @staticmethod
    def _raise_for(content: dict) -> None:
        if content["status"] == "error":
            raise CellError(content["ename"], "\n".join(content.get("traceback", [])))
