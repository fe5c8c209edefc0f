"""Run widget actions as tasks on the loop: never block the kernel, never lose an error."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


def error_html(error: BaseException, label: str = "") -> str:
    """One red line saying what failed: ``label: Type: message`` (the type alone when it has
    no message), escaped for an HTML widget.

    Example::

        >>> error_html(ValueError("bad port"), "error")
        "<span style='color:#b00020'>error: ValueError: bad port</span>"
    """
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    prefix = f"{label}: " if label else ""
    return f"<span style='color:#b00020'>{html.escape(prefix + text)}</span>"


class TaskGroup:
    """Keeps a reference to each task it starts and reports the failures to ``on_error``.

    Example::

        tasks = TaskGroup(loop, on_error=show_in_widget)
        button.on_click(lambda _: tasks.spawn(client.emit("chat message", "hi")))
        await tasks.wait(timeout=5)
    """

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 on_error: Callable[[BaseException], None]) -> None:
        self.loop = loop
        self.on_error = on_error
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Start ``coro`` as a task on the loop and return the task."""
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.debug("widget action failed", exc_info=error)
            self.on_error(error)

    async def wait(self, timeout: float = 5.0) -> None:
        """Wait for every task started so far, and those they start; ``TimeoutError`` after
        ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while self.tasks:
                await asyncio.wait(set(self.tasks))

    async def cancel(self) -> None:
        """Cancel every running task and wait for them to end."""
        tasks = set(self.tasks) - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
