"""A client that comes back while the server's thread still handles its drop is restored.

The threaded server keeps a dropped session first and then takes the old
connection out of its manager, running the app's disconnect handler in
between, on the thread of the dropped connection. A reconnection handled on
another thread in that window must wait for the old connection to leave,
not be refused, nor be turned into a new session.
"""

from __future__ import annotations

import threading

import socketio

import chatlib
import chatlib.sync
from tests.sync.support import wait_until


def test_a_reconnection_during_a_slow_disconnect_handler_is_restored(serve_wsgi):
    sio = chatlib.sync.RecoveryServer(async_mode="threading")
    in_handler = threading.Event()
    finish = threading.Event()

    @sio.event
    def disconnect(sid, reason):
        in_handler.set()
        finish.wait(10)  # an app's disconnect handler that takes its time

    served = serve_wsgi(socketio.WSGIApp(sio))
    got: list = []
    client = chatlib.sync.RecoveryClient()
    client.on("n", got.append)
    client.connect(served.url, transports=["websocket"])
    sid = client.get_sid()
    try:
        sio.emit("n", 1)
        wait_until(lambda: got == [1], 10, "the first event")
        client.drop()
        assert in_handler.wait(10)
        sio.emit("n", 2)
        timer = threading.Timer(0.3, finish.set)  # the handler ends while the client reconnects
        timer.start()
        client.reconnect()
        assert client.recovered and client.get_sid() == sid
        wait_until(lambda: len(got) >= 2, 10, "the missed event")
        assert got == [1, 2]
    finally:
        finish.set()
        client.disconnect()
        sio.shutdown()
