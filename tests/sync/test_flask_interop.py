"""A Flask-SocketIO app with ``chatlib.flask.SocketIO`` against the official socket.io-client 4.8.

The story of tests/interop, on the threaded side: a JS client joins a room
and receives an event (so it has an offset), its network fails, the app
emits while it is away (from outside any handler, with ``socketio.emit``),
the client comes back. A user sees: the same id, ``recovered`` in the JS
client and in the Flask connect handler, every missed event once and in
order, the rooms it had (events to them keep coming), and nothing sent to a
room it was not in. A clean ``disconnect()`` is not recovered, as in JS.
"""

from __future__ import annotations

import pytest
from flask import Flask, request
from flask_socketio import emit, join_room

import chatlib
from chatlib.flask import SocketIO
from tests.helpers import eventually

pytestmark = pytest.mark.interop

EVENT = "chat message"


def texts(events: list[dict]) -> list:
    return [event["args"][0] for event in events]


class FlaskChat:
    """A Flask-SocketIO app as its users write one, with what its handlers saw."""

    def __init__(self, **options) -> None:
        self.app = Flask(__name__)
        self.socketio = SocketIO(self.app, async_mode="threading", **options)
        self.connects: list[tuple[str, bool]] = []
        self.disconnects: list[str] = []
        socketio = self.socketio

        @socketio.on("connect")
        def on_connect(auth=None):
            self.connects.append((request.sid, socketio.recovered()))
            if not socketio.recovered() and isinstance(auth, dict) and auth.get("room"):
                join_room(auth["room"])

        @socketio.on("disconnect")
        def on_disconnect(reason=None):
            self.disconnects.append(request.sid)

        @socketio.on(EVENT)
        def on_message(text, *rest):
            emit(EVENT, text, broadcast=True)


async def connected(client) -> dict:
    return await client.expect(type="connect")


@pytest.mark.parametrize("transports", [["websocket"], ["polling", "websocket"]],
                         ids=["websocket", "polling-then-upgrade"])
async def test_a_dropped_js_client_gets_its_rooms_and_missed_events_back(
        serve_wsgi, node_client, transports):
    chat = FlaskChat()
    served = serve_wsgi(chat.app)
    client = await node_client(served.url, transports=transports, auth={"room": "r1"})
    first = await connected(client)
    assert first["recovered"] is False
    since = client.mark()
    chat.socketio.emit(EVENT, "before", to="r1")
    await client.expect(since, type="event", event=EVENT)

    await client.request("drop")
    await eventually(lambda: first["id"] in chat.disconnects, 10, "the app's disconnect handler")
    chat.socketio.emit(EVENT, "missed 1", to="r1")
    chat.socketio.emit(EVENT, "missed 2")
    chat.socketio.emit(EVENT, "not for r1", to="r2")
    since = client.mark()
    back = await client.request("reconnect")

    assert back["connected"] and back["recovered"] is True
    assert back["id"] == first["id"]
    assert chat.connects[-1] == (first["id"], True)
    await eventually(lambda: len(client.find(since, type="event")) >= 2, 10, "the missed events")
    chat.socketio.emit(EVENT, "after", to="r1")  # still in r1 without joining again
    await eventually(lambda: len(client.find(since, type="event")) >= 3, 10, "the room's event")
    assert texts(client.find(since, type="event")) == ["missed 1", "missed 2", "after"]


async def test_a_clean_disconnect_is_not_recovered(serve_wsgi, node_client):
    chat = FlaskChat()
    served = serve_wsgi(chat.app)
    client = await node_client(served.url, transports=["websocket"])
    first = await connected(client)
    since = client.mark()
    chat.socketio.emit(EVENT, "hello")
    await client.expect(since, type="event", event=EVENT)
    await client.request("disconnect")
    await eventually(lambda: first["id"] in chat.disconnects, 10, "the app's disconnect handler")
    chat.socketio.emit(EVENT, "lost")
    since = client.mark()
    back = await client.request("connect")
    assert back["recovered"] is False and back["id"] != first["id"]
    assert chat.connects[-1] == (back["id"], False)
    assert client.find(since, type="event") == []


async def test_events_a_handler_emits_are_replayed_to_a_client_that_dropped(
        serve_wsgi, node_client):
    chat = FlaskChat(store=chatlib.MemoryStore(chatlib.Recovery()))
    served = serve_wsgi(chat.app)
    away = await node_client(served.url, "away", transports=["websocket"])
    sender = await node_client(served.url, "sender", transports=["websocket"])
    first = await connected(away)
    await connected(sender)
    since = away.mark()
    await sender.request("emit", event=EVENT, args=["one"])
    await away.expect(since, type="event", event=EVENT)
    await away.request("drop")
    await eventually(lambda: first["id"] in chat.disconnects, 10, "the app's disconnect handler")
    for text in ("two", "three"):
        await sender.request("emit", event=EVENT, args=[text])
    await eventually(lambda: len([p for p in chat.socketio.recovery_store.packets()]) >= 3, 10,
                     "the handler's emits stored")
    since = away.mark()
    back = await away.request("reconnect")
    assert back["recovered"] is True
    await eventually(lambda: len(away.find(since, type="event")) >= 2, 10, "the missed events")
    assert texts(away.find(since, type="event")) == ["two", "three"]
