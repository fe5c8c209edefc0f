"""``python -m chatlib`` or ``chatlib-chat``: the tutorial's chat server, like ``node index.js``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
from collections.abc import Sequence

from .chat import create_app
from .chat.step7 import ChatHistory, create_step7_app
from .core import Recovery
from .serving import serve

#: the console script of pyproject.toml, which runs script()
SCRIPT = "chatlib-chat"


def _parse(argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the Socket.IO tutorial's chat with connection state recovery.")
    parser.add_argument("--port", type=int, default=3000, help="port (default 3000, 0: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--max-disconnection-duration", type=float, default=120.0,
                        metavar="SECONDS", help="how long a dropped session is kept (default 120)")
    parser.add_argument("--step", type=int, choices=(6, 7, 8), default=6,
                        help="the tutorial step: 6 recovery (default), 7 messages in SQLite with a "
                             "catch-up, 8 also retries and client offsets on the page")
    parser.add_argument("--db", default="chat.db", metavar="PATH",
                        help="the SQLite file of steps 7 and 8 (default chat.db)")
    return parser.parse_args(argv)


def _shown_host(host: str) -> str:
    if host in ("127.0.0.1", "localhost", "::1"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


async def run(host: str, port: int, recovery: Recovery, step: int = 6,
              db: str = "chat.db") -> None:
    """Serve the chat of a tutorial step until SIGINT or SIGTERM, then stop cleanly."""
    history = ChatHistory(db) if step >= 7 else None
    try:
        app = create_app(recovery=recovery) if history is None else \
            create_step7_app(history, recovery=recovery, step=step)
        running = await serve(app, host=host, port=port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"server running at http://{_shown_host(host)}:{running.port}", flush=True)
        try:
            await stop.wait()
        finally:
            await running.stop()
            await app.io.shutdown()
    finally:
        if history is not None:
            history.close()


def main(argv: Sequence[str] | None = None, prog: str = "python -m chatlib") -> None:
    """Entry point of ``python -m chatlib``; ``prog`` is the name its help and errors show.

    Example: ``main(["--port", "0", "--step", "7"])`` serves step 7 on a free port.
    """
    args = _parse(argv, prog)
    recovery = Recovery(max_disconnection_duration=args.max_disconnection_duration)
    try:
        asyncio.run(run(args.host, args.port, recovery, args.step, args.db))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise SystemExit(f"cannot use the database {args.db}: {exc}") from None


def script() -> None:
    """Entry point of the ``chatlib-chat`` console script: ``main`` under that name."""
    main(prog=SCRIPT)


if __name__ == "__main__":
    main()
