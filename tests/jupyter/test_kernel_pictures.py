"""The pictures in a real IPython kernel: what WireView and store.missed() show of a recovery."""

import pytest

from .kernel import Kernel

pytestmark = pytest.mark.kernel

START = """
import chatlib
server = await chatlib.start_chat_server(recovery=chatlib.Recovery(max_disconnection_duration=60))
wire = chatlib.WireView(server)
alice = chatlib.ChatWidget(server, "Alice", mode="{mode}", room={room!r})
bob = chatlib.ChatWidget(server, "Bob", room={room!r})
display(alice, bob, wire, chatlib.BufferView(server))
await alice.connect()
await bob.connect()
await bob.send("hello")
await alice.wait_for_message("hello")
pid = alice.client.pid
await alice.disconnect()
await bob.send("realtime")
await bob.wait_for_message("realtime")
missed = [row["args"] for row in server.store.missed("/", alice.sid)]
await alice.connect()
await alice.wait_for_message("realtime")
"""


@pytest.fixture
def kernel():
    kernel = Kernel()
    yield kernel
    kernel.shutdown()


def alice_rows(kernel):
    return kernel.eval('[{key: row[key] for key in ("direction", "type", "offset", "replay", '
                       '"text", "reason")} for row in wire.rows if row["client"] == "Alice"]')


def event_to_alice(rows, text):
    [row] = [row for row in rows if row["direction"] == "out" and row["type"] == "EVENT"
             and f'"{text}"' in row["text"]]
    return row


@pytest.mark.parametrize("mode, room, noticed", [
    ("drop", None, "transport close"),
    ("silent", None, "ping timeout"),
    ("drop", "#general", "transport close"),
], ids=["drop", "silent", "room"])
def test_the_wire_shows_the_drop_the_offset_and_the_replay(kernel, mode, room, noticed):
    kernel.run(START.format(mode=mode, room=room), timeout=60)
    assert kernel.eval("missed") == [["realtime"]]
    assert kernel.eval("(alice.client.recovered, alice.history[-1])") == (
        True, {"text": "realtime", "offset": "2", "replay": True})
    rows = alice_rows(kernel)
    [drop] = [row for row in rows if row["type"] == "DROP"]
    assert drop["reason"] == noticed
    reconnect = [row for row in rows if row["direction"] == "in" and row["type"] == "CONNECT"][-1]
    assert reconnect["offset"] == "1" and '"offset":"1"' in reconnect["text"]
    assert rows.index(drop) < rows.index(reconnect)
    assert event_to_alice(rows, "realtime")["replay"] is True
    live = event_to_alice(rows, "hello")
    assert live["replay"] is False and live["offset"] == "1"
    pid = kernel.eval("pid")
    assert not [row for row in kernel.eval("[row['text'] for row in wire.rows]") if pid in row]
    if room is not None:
        assert kernel.eval("[row['rooms'] for row in server.store.packets()]") == [
            [room], [room]]
        assert kernel.eval("[row['rooms'] for row in server.store.sessions()]") == [
            [room], [room]]  # back in her room without joining again
    if mode == "silent":
        assert kernel.eval("[row['silent_for'] > 1 for row in wire.rows if row['type'] == 'DROP']") \
            == [True]
    kernel.run("left = await chatlib.stop_all()")
    assert kernel.eval("(left, server.running, alice.connected)") == ([], False, False)
