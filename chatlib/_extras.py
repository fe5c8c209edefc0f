"""The optional parts of chatlib, and the extra of ``pyproject.toml`` that installs each.

The server needs only the runtime dependencies; a part that needs more checks
for it when it is first imported, so that a missing package is reported with
the command that installs it rather than as a bare ``No module named ...``::

    require("chatlib.RedisStore", "redis")   # ImportError: ... pip install "chatlib[redis]"
"""

from __future__ import annotations

from importlib import import_module

#: the modules chatlib imports from each extra's packages (optional-dependencies in pyproject.toml)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    # RecoveryClient: python-engineio's asyncio client runs on aiohttp
    "asyncio-client": ("aiohttp",),
    # the widgets (ipywidgets brings IPython), whose chat clients are RecoveryClients
    "jupyter": ("ipywidgets", "IPython", "aiohttp"),
    # RedisStore; hiredis, its C reply parser, is optional for redis-py and so not checked
    "redis": ("redis",),
    # chatlib.flask.SocketIO; the threaded classes' WebSocket server and client
    "flask": ("flask_socketio", "simple_websocket", "websocket"),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, quoted for the shell (brackets are glob patterns)."""
    return f'pip install "chatlib[{extra}]"'


def require(part: str, extra: str) -> None:
    """Import the modules ``part`` needs from ``extra``; raise ImportError naming the install.

    The error names the part, the missing module and the ``pip install`` to run; it is
    chained to the original ImportError and its ``name`` is the missing module.
    """
    for module in EXTRA_MODULES[extra]:
        try:
            import_module(module)
        except ImportError as exc:
            why = "which is not installed" if exc.name == module else f"which failed to import ({exc})"
            raise ImportError(f"{part} needs {module}, {why}: {install_hint(extra)}",
                              name=module) from exc
