"""ChatWidget on a plain asyncio loop: the tutorial's scenarios, through code and buttons."""

import asyncio

import pytest

import chatlib


@pytest.fixture
async def pair(server):
    alice = chatlib.ChatWidget(server, "Alice")
    bob = chatlib.ChatWidget(server, "Bob")
    await alice.connect()
    await bob.connect()
    return alice, bob


async def settle(sender, *receivers, text="sentinel"):
    """Send a last message and wait for it: anything sent before has arrived by then."""
    await sender.send(text)
    for widget in receivers:
        await widget.wait_for_message(text)


async def test_a_dropped_client_recovers_the_message_it_missed(server, pair):
    alice, bob = pair
    sid = alice.sid
    await alice.disconnect()
    assert server.session(sid)["connected"] is False  # the server has seen the drop
    await bob.send("realtime")
    await bob.wait_for_message("realtime")
    assert "realtime" not in alice.messages  # missed live
    await alice.connect()
    await alice.wait_for_message("realtime")
    await settle(bob, alice)
    assert alice.messages.count("realtime") == 1
    assert alice.client.recovered and alice.sid == sid
    assert "recovered: yes" in alice.status.value and sid in alice.status.value


async def test_a_clean_disconnect_is_not_recovered_and_the_message_is_missed(server):
    alice = chatlib.ChatWidget(server, "Alice", mode="clean")
    bob = chatlib.ChatWidget(server, "Bob")
    await alice.connect()
    await bob.connect()
    sid = alice.sid
    await alice.disconnect()
    assert server.session(sid) is None  # nothing kept
    await bob.send("realtime")
    await alice.connect()
    await settle(bob, alice)
    assert "realtime" not in alice.messages
    assert not alice.client.recovered and alice.sid != sid
    assert "recovered: no" in alice.status.value


async def test_a_message_sent_while_disconnected_is_pending_then_delivered(pair):
    alice, bob = pair
    await alice.disconnect()
    await alice.send("from the tunnel")
    assert [item.data for item in alice.client.pending] == ["from the tunnel"]
    assert "from the tunnel" in alice.pending_list.value
    assert "waiting to be sent" in alice.pending_list.value
    await alice.connect()
    await bob.wait_for_message("from the tunnel")
    assert alice.pending_list.value == ""


async def test_the_buttons_do_the_same_without_blocking(server, pair):
    alice, bob = pair
    assert alice.toggle_button.description == "Disconnect"
    alice.toggle_button.click()  # returns at once: the work runs as a task
    assert alice.toggle_button.description == "Connect"
    await alice.wait_idle()
    assert not alice.connected
    bob.text.value = "realtime"
    bob.send_button.click()
    assert bob.text.value == ""
    await bob.wait_for_message("realtime")
    alice.toggle_button.click()
    assert alice.toggle_button.description == "Disconnect"
    await alice.wait_idle()
    await alice.wait_for_message("realtime")
    assert alice.client.recovered


async def test_an_error_shows_in_the_widget(server, pair):
    alice, _ = pair
    await server.stop()
    alice.toggle_button.click()  # connect to a server that is gone
    await alice.wait_idle()
    assert len(alice.errors) == 1
    assert "error: ConnectionError" in alice.error_line.value


async def test_labels_can_be_spanish_or_replaced(server):
    carla = chatlib.ChatWidget(server, "Carla", labels="es", connect=False)
    assert carla.send_button.description == "Enviar"
    assert carla.toggle_button.description == "Conectar"
    await carla.connect()
    assert carla.toggle_button.description == "Desconectar" and "conectado" in carla.status.value
    dan = chatlib.ChatWidget(server, "Dan", labels={"send": "Post"}, connect=False)
    assert dan.send_button.description == "Post" and dan.toggle_button.description == "Connect"
    with pytest.raises(ValueError):
        chatlib.ChatWidget(server, "Eve", labels={"sned": "typo"})


async def test_wait_for_message_times_out(pair):
    alice, _ = pair
    with pytest.raises(TimeoutError):
        await alice.wait_for_message("never sent", timeout=0.1)


async def test_messages_are_shown_escaped(pair):
    alice, bob = pair
    await bob.send("<b>bold</b>")
    await alice.wait_for_message("<b>bold</b>")
    assert "&lt;b&gt;bold&lt;/b&gt;" in alice.message_list.value


def test_mode_must_be_drop_or_clean():
    with pytest.raises(ValueError):
        chatlib.ChatWidget("http://127.0.0.1:1", "Alice", mode="polite")


async def test_a_second_clean_disconnect_returns_promptly(server):
    # RecoveryClient once waited its full flush timeout here (a stale send queue)
    alice = chatlib.ChatWidget(server, "Alice", mode="clean")
    await alice.connect()
    await alice.disconnect()
    await alice.connect()
    async with asyncio.timeout(2):
        await alice.disconnect()


async def test_a_widget_can_join_a_server_by_url(server, pair):
    _, bob = pair
    zoe = chatlib.ChatWidget(server.url, "Zoe")
    try:
        await zoe.connect()
        await bob.send("hi Zoe")
        await zoe.wait_for_message("hi Zoe")
        sid = zoe.sid
        await zoe.disconnect()  # by URL there is no store to watch: it returns after the drop
        await server.wait_until(lambda: server.session(sid)["connected"] is False)
        await bob.send("realtime")
        await zoe.connect()
        await zoe.wait_for_message("realtime")
        assert zoe.client.recovered
    finally:
        await zoe.aclose()


async def test_closing_a_widget_disconnects_its_client(pair):
    alice, bob = pair
    alice.close()
    await alice.wait_idle()
    assert not alice.connected and alice.client.eio.state == "disconnected"
    await bob.send("still here")
    await bob.wait_for_message("still here")


# -- the message box, as its browser view talks to it ----------------------------------


def browser_says(widget, **content):
    """A custom message from the box's view in the browser, as the kernel receives it."""
    widget.text._handle_custom_msg(content, [])


async def test_enter_sends_the_text_the_browser_read_not_an_older_synced_value(pair):
    alice, bob = pair
    bob.text.value = "h"          # typed fast: only the first key's value has synced
    browser_says(bob, event="submit", text="hello")
    browser_says(bob, event="submit", text="¿qué más?")   # the next message, typed at once
    await bob.wait_idle()
    await settle(bob, alice, bob)
    assert alice.messages == ["hello", "¿qué más?", "sentinel"]
    assert bob.messages == ["hello", "¿qué más?", "sentinel"]


async def test_send_asks_the_shown_box_for_its_text(pair, monkeypatch):
    alice, bob = pair
    asked = []
    monkeypatch.setattr(bob.text, "send", asked.append)   # to the browser
    browser_says(bob, event="shown")
    bob.text.value = "hel"        # the browser's box may hold more by now
    bob.send_button.click()
    assert asked == [{"do": "submit"}]
    browser_says(bob, event="submit", text="hello")       # what its view answers
    await bob.wait_idle()
    await settle(bob, alice)
    assert alice.messages == ["hello", "sentinel"]


async def test_a_box_never_shown_sends_its_value(pair):
    alice, bob = pair
    bob.text.value = "from a cell"
    bob.send_button.click()
    assert bob.text.value == ""
    browser_says(bob, event="submit", text="")             # an empty box sends nothing
    await bob.wait_idle()
    await settle(bob, alice)
    assert alice.messages == ["from a cell", "sentinel"]
