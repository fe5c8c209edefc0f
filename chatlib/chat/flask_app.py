"""The tutorial's step-6 chat as a Flask-SocketIO app, with recovery from ``chatlib.flask``.

The same chat as ``chatlib.chat.app`` (the tutorial's ``index.js``), written
the way a Flask-SocketIO app is: ``@socketio.on`` handlers, ``emit``,
``join_room``, ``request.sid``; the one change for recovery is the import of
``SocketIO``. The page at ``/`` is the tutorial's ``index.html``, with socket.io-client's own
browser build beside it (``CLIENT_PATH``), so it works offline as the ASGI chat does.

Run it with Werkzeug's development server (threads)::

    python -m chatlib.chat.flask_app --port 5000

or with gunicorn (one worker; threads)::

    gunicorn -w 1 --threads 100 -b 127.0.0.1:5000 'chatlib.chat.flask_app:create_flask_app()'
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response, request
from flask_socketio import emit, join_room, rooms

from ..core import Recovery, RecoveryStore
from ..flask import SocketIO
from ..sio.common import DEFAULT_RECOVERY  # connectionStateRecovery: {}
from .app import CLIENT_PATH, _read_client, _read_page, room_asked


def create_flask_app(recovery: Recovery | None = DEFAULT_RECOVERY,
                     store: RecoveryStore | None = None, step: int = 6,
                     **kwargs: Any) -> Flask:
    """The chat as a Flask app; ``app.extensions["socketio"]`` is its ``chatlib.flask.SocketIO``.

    Example::

        app = create_flask_app(recovery=chatlib.Recovery(max_disconnection_duration=30))
        app.extensions["socketio"].run(app, host="127.0.0.1", port=5000)
    """
    app = Flask(__name__)
    kwargs.setdefault("async_mode", "threading")
    kwargs.setdefault("cors_allowed_origins", [])
    socketio = SocketIO(app, recovery=recovery, store=store, **kwargs)
    page = _read_page(step)
    client = _read_client()

    @app.route("/")
    @app.route("/index.html")
    def index() -> Response:
        return Response(page, mimetype="text/html")

    @app.route(CLIENT_PATH)
    def socketio_client() -> Response:
        return Response(client, mimetype="text/javascript")

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        room = room_asked(auth)
        if room is not None and not socketio.recovered():
            join_room(room)

    @socketio.on("chat message")
    def on_chat_message(msg: Any = None, *_ignored: Any) -> None:
        # later tutorial steps send more arguments (a client offset, an ack): only msg is echoed
        joined = [room for room in rooms() if room != request.sid]  # type: ignore[attr-defined]
        emit("chat message", msg, to=joined or None, broadcast=not joined)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The step-6 chat on Flask-SocketIO with recovery")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--max-disconnection-duration", type=float, default=120.0)
    options = parser.parse_args(argv)
    app = create_flask_app(Recovery(max_disconnection_duration=options.max_disconnection_duration))
    print(f"flask chat running at http://{options.host}:{options.port}", flush=True)
    app.extensions["socketio"].run(app, host=options.host, port=options.port,
                                   allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
