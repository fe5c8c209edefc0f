"""The threaded client's events: in arrival order, and once across a reconnection.

python-engineio's threaded client hands each message to a thread of its own;
chatlib's handles them one after another. A message read before a drop but
still waiting behind a slow handler when the client connects again must not
be handled then: the new CONNECT carried the offset of the last event
handled, and the restore replays the rest once.
"""

from __future__ import annotations

import threading

import socketio

import chatlib
import chatlib.sync
from tests.sync.support import wait_until


def test_events_behind_a_slow_handler_at_a_drop_are_delivered_once(serve_wsgi):
    sio = chatlib.sync.RecoveryServer(async_mode="threading")
    served = serve_wsgi(socketio.WSGIApp(sio))
    got: list[int] = []
    release = threading.Event()

    client = chatlib.sync.RecoveryClient()

    @client.on("n")
    def on_n(number):
        got.append(number)
        if number == 1:
            release.wait(10)  # a slow handler: 2 and 3 wait behind it

    client.connect(served.url, transports=["websocket"])
    sid = client.get_sid()
    try:
        for number in (1, 2, 3):
            sio.emit("n", number)
        wait_until(lambda: got == [1], 10, "the first event in its handler")
        wait_until(lambda: sio.eio.sockets and all(
            s.queue.empty() for s in sio.eio.sockets.values()), 10, "2 and 3 written")
        client.drop()
        wait_until(lambda: any(not row["connected"] for row in sio.store.sessions()), 10,
                   "the server to keep the session")
        sio.emit("n", 4)

        def release_once_reconnecting() -> None:
            wait_until(lambda: client.state().awaiting_reply, 10, "the new CONNECT")
            release.set()

        threading.Thread(target=release_once_reconnecting).start()
        client.reconnect()
        assert client.recovered and client.get_sid() == sid
        wait_until(lambda: len(got) >= 4, 10, "the replayed events")
        sio.emit("n", 5)
        wait_until(lambda: got[-1] == 5, 10, "a live event after the replay")
        assert got == [1, 2, 3, 4, 5]
    finally:
        release.set()
        client.disconnect()
        sio.shutdown()
