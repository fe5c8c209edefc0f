"""The pictures on a plain asyncio loop: WireView, the BufferView's who-gets-what, honest widgets,
rooms, moving between servers, and the launcher's helpers."""

import asyncio
import html
import re

import pytest

import chatlib
from chatlib.jupyter.lifecycle import running_servers


async def test_enter_in_the_text_box_sends(server):
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    alice.text.value = "typed, then Enter"
    alice.text._handle_custom_msg({"event": "submit"}, [])  # what the front end sends on Enter
    assert alice.text.value == ""
    await alice.wait_for_message("typed, then Enter")


async def test_a_silent_client_is_noticed_at_the_ping_timeout_and_recovers(server):
    wire = chatlib.WireView(server)
    alice = chatlib.ChatWidget(server, "Alice", mode="silent")
    bob = chatlib.ChatWidget(server, "Bob")
    await alice.connect()
    await bob.connect()
    sid = alice.sid
    gone = asyncio.ensure_future(alice.disconnect())
    await bob.send("while silent")                    # written to her, never taken in
    await bob.wait_for_message("while silent")
    assert not gone.done() and server.session(sid)["connected"]  # the server has not noticed
    assert "has not noticed yet" in alice.status.value and "recovered: –" in alice.status.value
    await alice.send("typed while silent")
    assert alice.pending == ["typed while silent"]
    await gone
    assert server.is_kept(sid)
    [drop] = [row for row in wire.rows_of("Alice") if row["type"] == "DROP"]
    assert drop["reason"] == "ping timeout"
    assert drop["silent_for"] >= server.ping_interval  # noticed seconds later, not at once
    wire.refresh()
    assert "goes silent" in wire.picture.value and "never taken in" in wire.picture.value
    # how the server noticed, and after how long, drawn whole (on two lines, not cut)
    silent_for = f"silent for {drop['silent_for']:.1f} s"
    assert "server notices: ping timeout</tspan>" in wire.picture.value
    assert f"· {silent_for}</tspan>" in wire.picture.value
    assert alice.client.last_offset is None            # she took nothing in: "0" stands for that
    assert [row["args"] for row in server.store.missed("/", sid, "0")] == [["while silent"]]
    await alice.connect()
    await alice.wait_for_message("while silent")
    await bob.wait_for_message("typed while silent")
    await alice.wait_for_message("typed while silent")  # everyone's copy, hers too
    assert alice.client.recovered and alice.sid == sid
    # the replay first, then her own message live
    assert alice.history[-2:] == [{"text": "while silent", "offset": "1", "replay": True},
                                  {"text": "typed while silent", "offset": "2", "replay": False}]
    assert "↻" in alice.message_list.value and alice.pending == []


async def test_a_room_keeps_messages_in_it_and_a_restored_client_is_back_in_it(server):
    alice = chatlib.ChatWidget(server, "Alice", room="#general")
    bob = chatlib.ChatWidget(server, "Bob", room="#general")
    carol = chatlib.ChatWidget(server, "Carol")         # no room: she speaks to everyone
    for widget in (alice, bob, carol):
        await widget.connect()
    await alice.disconnect()
    await bob.send("for #general")
    await carol.send("for everyone")
    await bob.wait_for_message("for everyone")
    assert "for #general" not in carol.messages
    assert [row["args"] for row in server.store.missed("/", alice.sid)] == [
        ["for #general"], ["for everyone"]]
    await alice.connect()
    await alice.wait_for_message("for everyone")
    [row] = [row for row in server.store.sessions() if row["sid"] == alice.sid]
    assert row["rooms"] == ["#general"]
    await bob.send("after her return")
    await alice.wait_for_message("after her return")
    assert "#general" in alice.header.value


async def test_a_widget_moves_to_another_server_and_is_not_recovered_there(server):
    other = await chatlib.start_chat_server()
    try:
        alice = chatlib.ChatWidget(server, "Alice")
        await alice.connect()
        sid = alice.sid
        await alice.disconnect()
        await alice.connect(other)
        assert alice.server is other and alice.url == other.url and alice.connected
        assert not alice.client.recovered and alice.sid != sid   # memory stores share nothing
        await server.stop()                                      # the old server is not hers
        assert alice.connected
        third = await chatlib.start_chat_server()
        await alice.connect(third.url)             # a server of this kernel, by its URL
        assert alice.server is third and alice.connected
        await alice.disconnect()                   # drop mode: waits for third's store
        assert third.is_kept(alice.sid)
        await third.stop()
    finally:
        await other.stop()


async def test_the_buffer_view_names_sessions_and_says_who_a_restore_reaches(server):
    view = chatlib.BufferView(server)
    alice = chatlib.ChatWidget(server, "Alice", room="#general")
    bob = chatlib.ChatWidget(server, "Bob", room="#general")
    await alice.connect()
    await bob.connect()
    await bob.send("hello")
    await alice.wait_for_message("hello")
    await alice.disconnect()
    await bob.send("realtime")
    await bob.wait_for_message("realtime")
    assert {sid: [row["offset"] for row in rows] for sid, rows in view.would_restore().items()} \
        == {alice.sid: ["2"]}
    view.refresh()
    sessions, packets = view.sessions_html.value, view.packets_html.value
    assert re.search(r"<td[^>]*>Alice</td>", sessions)   # a cell of its own: the name
    assert alice.sid in sessions and "#general" in sessions
    [realtime] = [row for row in packets.split("<tr") if "&#x27;realtime&#x27;" in row]
    [hello] = [row for row in packets.split("<tr") if "&#x27;hello&#x27;" in row]
    assert "↻ Alice" in realtime and "rooms: #general" in realtime and "↻" not in hello
    await server.stop()
    assert view.stopped and "server stopped" in view.error_line.value
    assert view.packets_html.layout.opacity == "0.5"


async def test_the_wire_view_names_lanes_and_greys_out_when_the_server_stops(server):
    wire = chatlib.WireView(server, labels="es")
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    page = chatlib.RecoveryClient()          # a client without a widget, like the chat page
    page.on("chat message", lambda *args: None)
    await page.connect(server.url, transports=["websocket"])
    page_sid = page.get_sid()
    await alice.send("hola")
    await alice.wait_for_message("hola")
    await page.disconnect()
    assert {row["client"] for row in wire.rows} == {"Alice", page_sid}
    page_rows = [row for row in wire.rows if row["client"] != "Alice"]
    assert [row["type"] for row in page_rows][:2] == ["CONNECT", "CONNECT"]
    assert page_rows[1]["sid"] == page_rows[0]["client"]  # named by its sid from the start
    wire.refresh()
    assert "Lo que pasa por la red" in wire.title.value and "<svg" in wire.picture.value
    assert "Alice" in wire.picture.value
    await server.stop()
    assert "servidor detenido" in wire.title.value and "grayscale" in wire.picture.value
    await page.shutdown()


async def test_a_packet_chosen_below_the_picture_is_shown_whole_and_stays_chosen(server):
    wire = chatlib.WireView(server)
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    long_text = "a message much longer than what a line of the picture has room for " * 2
    await alice.send(long_text)
    await alice.wait_for_message(long_text)
    wire.refresh()
    [sent] = [i for i, row in enumerate(wire.rows)
              if row["direction"] == "in" and row["type"] == "EVENT"]
    drawn = [html.unescape(text) for text in
             re.findall(r"<tspan[^>]*>([^<]*)</tspan>", wire.picture.value)]
    assert not [text for text in drawn if long_text in text]   # cut (…) in the picture
    assert [text for text in drawn if text.endswith("…")]
    labels = [text for text, _ in wire.inspector.options]
    assert len(labels) == len(wire.rows) and "Alice → server" in labels[sent]
    assert wire.detail.value == ""                       # nothing chosen yet
    wire.inspector.value = sent                          # what the reader's choice sets
    assert long_text.strip() in html.unescape(wire.detail.value)
    assert "Alice → server · EVENT" in html.unescape(wire.detail.value)
    await alice.send("and one more")                     # new packets: the choice stays
    await alice.wait_for_message("and one more")
    wire.refresh()
    assert len(wire.inspector.options) > len(labels) and wire.inspector.value == sent
    assert long_text.strip() in html.unescape(wire.detail.value)


async def test_the_launcher_helpers(server, monkeypatch):
    assert (server.ping_interval, server.ping_timeout) == (2.0, 2.0)
    assert server.browser_url == server.url
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    assert server.browser_url == f"/user/alice/proxy/{server.port}/"
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    assert not server.is_kept(alice.sid) and not server.is_kept(None)
    await alice.disconnect()
    assert server.is_kept(alice.sid)


async def test_stop_all_stops_every_server_and_widget_and_leaves_no_task():
    first = await chatlib.start_chat_server()
    second = await chatlib.start_chat_server()
    loose = chatlib.ChatWidget(first.url, "Loose")     # made from a URL: not attached
    await loose.connect()
    wire = chatlib.WireView(second)
    assert await chatlib.stop_all() == []
    assert not first.running and not second.running and running_servers() == []
    assert not loose.connected and "server stopped" in wire.title.value


@pytest.mark.parametrize("mode", ["drop", "silent", "clean"])
async def test_recovered_is_never_shown_while_disconnected(server, mode):
    alice = chatlib.ChatWidget(server, "Alice", mode=mode)
    await alice.connect()
    await alice.disconnect()
    assert "recovered: –" in alice.status.value
    await alice.connect()
    expected = "no" if mode == "clean" else "yes"
    assert f"recovered: {expected}" in alice.status.value
    await server.stop()
    assert "recovered: –" in alice.status.value and "server stopped" in alice.error_line.value
