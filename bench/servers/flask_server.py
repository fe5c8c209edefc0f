"""A Flask-SocketIO server for the load generator (threading mode, Werkzeug's threaded server).

    python3 servers/flask_server.py stock   # flask_socketio.SocketIO, no recovery
    python3 servers/flask_server.py on      # chatlib.flask.SocketIO, recovery on (MemoryStore)
    python3 servers/flask_server.py off     # chatlib.flask.SocketIO(recovery=None)

Bound to 127.0.0.1 on a free port, WebSocket only; prints ``{"port": P}`` once it
accepts. It answers loadgen.js's "go" and "stats" (and "stall" with zeros: it has
no event loop to stall).
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import sys
import threading
import time

sys.path.insert(0, os.environ.get("CHATLIB_ROOT") or str(pathlib.Path(__file__).resolve().parents[2]))

import flask
import flask_socketio
from werkzeug.serving import make_server

import chatlib
import chatlib.flask

EVENT = "chat message"


def main() -> None:
    mode = sys.argv[1]
    app = flask.Flask(__name__)
    options = dict(async_mode="threading", transports=["websocket"])
    if mode == "stock":
        socketio = flask_socketio.SocketIO(app, **options)
    elif mode == "on":
        socketio = chatlib.flask.SocketIO(app, recovery=chatlib.Recovery(), **options)
    elif mode == "off":
        socketio = chatlib.flask.SocketIO(app, recovery=None, **options)
    else:
        raise SystemExit(f"unknown mode {mode!r}")

    @socketio.on("go")
    def go(m):
        for i in range(int(m)):
            socketio.emit(EVENT, f"message {i}")

    @socketio.on("stall")
    def stall(_):
        return {"max_ms": 0.0, "max_cpu_ms": 0.0}

    @socketio.on("stats")
    def stats(_):
        store = getattr(socketio.server, "store", None)
        counts = store.stats() if store is not None and hasattr(store, "stats") else {}
        return {"packets": counts.get("packets", 0), "kept_sessions": counts.get("kept_sessions", 0),
                "clients": len(socketio.server.eio.sockets), "cpu_s": time.process_time()}

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    print(json.dumps({"port": httpd.server_port}), flush=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
