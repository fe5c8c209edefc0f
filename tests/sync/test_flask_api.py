"""Flask-SocketIO's API as before, with recovery from one changed import (chatlib.flask.SocketIO).

What a Flask-SocketIO app uses keeps working: ``emit``/``send`` in handlers,
``join_room``/``leave_room``, ``request.sid``, class-based namespaces,
``socketio.emit`` from a route, acks; and a dropped client
(``chatlib.sync.RecoveryClient``) is restored with its rooms, its missed
events and ``recovered`` on both sides, in every namespace it had.
"""

from __future__ import annotations

import threading

import pytest
from flask import Flask, request
from flask_socketio import Namespace, emit, join_room, leave_room, send

import chatlib
import chatlib.sync
from chatlib.flask import SocketIO
from tests.sync.support import wait_until


class Inbox:
    def __init__(self) -> None:
        self.items: list = []
        self._lock = threading.Lock()

    def __call__(self, *args) -> None:
        with self._lock:
            self.items.append(args[0] if len(args) == 1 else list(args))

    def wait_for(self, count: int) -> list:
        wait_until(lambda: len(self.items) >= count, 10, f"{count} items, have {self.items}")
        return self.items


def make_app(**options):
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading", **options)
    seen = {"connects": [], "admin": []}

    @socketio.on("connect")
    def on_connect(auth=None):
        seen["connects"].append((request.sid, socketio.recovered()))
        emit("welcome", "back" if socketio.recovered() else "hello")

    @socketio.on("join")
    def on_join(room):
        join_room(room)
        return request.sid

    @socketio.on("leave")
    def on_leave(room):
        leave_room(room)
        return "left"

    @socketio.on("say")
    def on_say(room, text):
        emit("said", text, to=room)

    @socketio.on("message")
    def on_message(text):
        send(f"echo {text}")

    class Admin(Namespace):
        def on_connect(self, auth=None):
            seen["admin"].append((request.sid, socketio.recovered()))

        def on_shout(self, text):
            emit("shouted", text, broadcast=True)

    socketio.on_namespace(Admin("/admin"))

    @app.route("/announce/<text>")
    def announce(text):
        socketio.emit("announcement", text)
        socketio.emit("shouted", f"admin {text}", namespace="/admin")
        return "ok"

    return app, socketio, seen


@pytest.fixture
def chat(serve_wsgi):
    app, socketio, seen = make_app()
    served = serve_wsgi(app)
    made = []

    def client(**options):
        c = chatlib.sync.RecoveryClient(**options)
        made.append(c)
        return c

    yield app, socketio, seen, served, client
    for c in made:
        c.disconnect()


def test_handlers_rooms_namespaces_and_routes_work_as_in_flask_socketio(chat):
    app, _socketio, _seen, served, client = chat
    alice, bob = client(), client()
    boxes = {name: {event: Inbox() for event in ("welcome", "said", "message", "announcement",
                                                  "shouted")} for name in ("alice", "bob")}
    for name, c in (("alice", alice), ("bob", bob)):
        for event, box in boxes[name].items():
            c.on(event, box, namespace="/admin" if event == "shouted" else "/")
        c.connect(served.url, namespaces=["/", "/admin"], transports=["websocket"])
    assert boxes["alice"]["welcome"].wait_for(1) == ["hello"]
    assert alice.call("join", "r1") == alice.get_sid()  # request.sid in the handler
    bob.call("say", ("r1", "only alice"))
    assert boxes["alice"]["said"].wait_for(1) == ["only alice"]
    assert alice.call("leave", "r1") == "left"
    alice.send("hi")
    assert boxes["alice"]["message"].wait_for(1) == ["echo hi"]
    assert app.test_client().get("/announce/news").text == "ok"  # socketio.emit from a route
    assert boxes["bob"]["announcement"].wait_for(1) == ["news"]
    bob.emit("shout", "hey", namespace="/admin")
    assert boxes["alice"]["shouted"].wait_for(2) == ["admin news", "hey"]
    bob.call("say", ("r1", "nobody"))
    bob.call("join", "r1")  # a round trip after: "nobody" would have arrived by now
    assert boxes["alice"]["said"].items == ["only alice"]


def test_a_dropped_client_is_restored_in_every_namespace_with_its_rooms(chat):
    _app, socketio, seen, served, client = chat
    alice = client()
    said, shouted, welcome = Inbox(), Inbox(), Inbox()
    alice.on("said", said)
    alice.on("welcome", welcome)
    alice.on("shouted", shouted, namespace="/admin")
    alice.connect(served.url, namespaces=["/", "/admin"], transports=["websocket"])
    sid = alice.get_sid()
    admin_sid = alice.get_sid("/admin")
    alice.call("join", "r1")
    socketio.emit("said", "before", to="r1")
    said.wait_for(1)

    alice.drop()
    store = socketio.recovery_store
    wait_until(lambda: sum(1 for row in store.sessions() if not row["connected"]) == 2, 10,
               "both namespaces kept")
    socketio.emit("said", "while away", to="r1")
    socketio.emit("shouted", "admin while away", namespace="/admin")
    alice.reconnect()

    assert alice.recovered and alice.state("/admin").recovered
    assert (alice.get_sid(), alice.get_sid("/admin")) == (sid, admin_sid)
    assert seen["connects"][-1] == (sid, True) and seen["admin"][-1] == (admin_sid, True)
    assert welcome.wait_for(2) == ["hello", "back"]
    assert said.wait_for(2) == ["before", "while away"]
    assert shouted.wait_for(1) == ["admin while away"]
    socketio.emit("said", "after", to="r1")  # still in r1
    assert said.wait_for(3) == ["before", "while away", "after"]


def test_recovery_none_is_plain_flask_socketio(serve_wsgi):
    app, socketio, _seen = make_app(recovery=None)
    served = serve_wsgi(app)
    alice = chatlib.sync.RecoveryClient()
    welcome = Inbox()
    alice.on("welcome", welcome)
    alice.connect(served.url, transports=["websocket"])
    try:
        welcome.wait_for(1)
        alice.drop()
        alice.reconnect()
        assert welcome.wait_for(2) == ["hello", "hello"]
        assert not alice.recovered
        assert socketio.recovery_store is None
    finally:
        alice.disconnect()


def test_a_threaded_client_with_retries_gets_its_ack_after_a_drop(chat):
    _app, _socketio, _seen, served, client = chat
    sender = client(retries=3, ack_timeout=5.0)
    sender.connect(served.url, transports=["websocket"])
    assert sender.call("join", "r9") == sender.get_sid()
    sender.drop()
    outcome = sender.emit("join", "r10")  # queued while away, sent after the reconnect
    assert not outcome.done()
    sender.reconnect()
    assert outcome.result(timeout=10) == sender.get_sid()
    assert sender.pending == []


def test_flask_socketios_test_client_reads_events_as_without_recovery():
    app, socketio, seen = make_app()
    client = socketio.test_client(app)
    assert client.get_received() == [{"name": "welcome", "args": ["hello"], "namespace": "/"}]
    assert client.emit("join", "r1", callback=True) == seen["connects"][-1][0]
    client.emit("say", "r1", "in r1")
    client.send("hi")
    assert client.get_received() == [
        {"name": "said", "args": ["in r1"], "namespace": "/"},
        {"name": "message", "args": "echo hi", "namespace": "/"}]
    assert len(socketio.recovery_store.packets()) == 3  # stored all the same
