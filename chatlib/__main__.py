"""``python -m chatlib``: the tutorial's chat server, like ``node index.js``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Optional, Sequence

from .chat import create_app
from .core import Recovery
from .serving import serve


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chatlib",
        description="Run the Socket.IO tutorial's chat with connection state recovery.")
    parser.add_argument("--port", type=int, default=3000, help="port (default 3000, 0: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--max-disconnection-duration", type=float, default=120.0,
                        metavar="SECONDS", help="how long a dropped session is kept (default 120)")
    return parser.parse_args(argv)


def _shown_host(host: str) -> str:
    if host in ("127.0.0.1", "localhost", "::1"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


async def run(host: str, port: int, recovery: Recovery) -> None:
    """Serve the chat until SIGINT or SIGTERM, then stop cleanly."""
    app = create_app(recovery=recovery)
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m chatlib`` and ``chatlib-chat``."""
    args = _parse(argv)
    recovery = Recovery(max_disconnection_duration=args.max_disconnection_duration)
    try:
        asyncio.run(run(args.host, args.port, recovery))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


if __name__ == "__main__":
    main()
