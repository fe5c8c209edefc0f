"""Small helpers shared by the Jupyter-layer tests."""

import asyncio

#: where the tasks a chat server may leave behind come from
SERVER_CODE = ("chatlib", "socketio", "engineio", "uvicorn", "websockets")


def server_tasks() -> list:
    """The tasks on this loop running chatlib, python-socketio or uvicorn code."""
    tasks = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if task is not asyncio.current_task() and code is not None and any(
                name in code.co_filename for name in SERVER_CODE):
            tasks.append(task)
    return tasks
