"""BufferView: the offset buffer and the kept sessions, live, as a widget and as data."""

import asyncio

import pytest

import chatlib


async def until_shown(widget, predicate, timeout=5.0):
    """Wait for the periodic refresh to draw something that satisfies ``predicate``."""
    changed = asyncio.Event()
    widget.observe(lambda _change: changed.set(), "value")
    async with asyncio.timeout(timeout):
        while not predicate(widget.value):
            changed.clear()
            await changed.wait()


async def test_packets_and_kept_sessions_show_live_with_masked_pids(server):
    view = chatlib.BufferView(server)
    alice = chatlib.ChatWidget(server, "Alice")
    bob = chatlib.ChatWidget(server, "Bob")
    await alice.connect()
    await bob.connect()
    await bob.send("first")
    await until_shown(view.packets_html, lambda html: "&#x27;first&#x27;" in html)
    assert "stored packets</b> (1)" in view.packets_html.value
    assert "chat message" in view.packets_html.value and "everyone" in view.packets_html.value

    await alice.disconnect()
    await until_shown(view.sessions_html, lambda html: "kept" in html)
    assert alice.sid in view.sessions_html.value and "expires in" in view.sessions_html.value
    assert alice.client.pid not in view.sessions_html.value


async def test_the_same_as_plain_data(server):
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    await alice.send("hello")
    await alice.wait_for_message("hello")
    [packet] = server.store.packets()
    assert (packet["offset"], packet["event"], packet["args"]) == (alice.client.last_offset,
                                                                   "chat message", ["hello"])
    [session] = server.store.sessions()
    assert session["sid"] == alice.sid and session["pid"] != alice.client.pid


async def test_expired_packets_and_sessions_leave_the_view():
    server = await chatlib.start_chat_server(recovery=chatlib.Recovery(
        max_disconnection_duration=0.5, sweep_interval=0.1))
    try:
        view = chatlib.BufferView(server, interval=0.1)
        alice = chatlib.ChatWidget(server, "Alice")
        await alice.connect()
        await alice.send("short-lived")
        await until_shown(view.packets_html, lambda html: "(1)" in html)
        await alice.disconnect()
        await until_shown(view.packets_html, lambda html: "(0)" in html)
        await until_shown(view.sessions_html, lambda html: "(0)" in html)
    finally:
        await server.stop()


async def test_closing_the_view_stops_its_refresh(server):
    view = chatlib.BufferView(server)
    assert view.refreshing
    await view.aclose()
    assert not view.refreshing


async def test_spanish_headings(server):
    view = chatlib.BufferView(server, labels="es")
    assert "paquetes guardados" in view.packets_html.value
    await view.aclose()


async def test_a_server_without_recovery_has_nothing_to_show():
    server = await chatlib.start_chat_server(recovery=None)
    try:
        with pytest.raises(ValueError):
            chatlib.BufferView(server)
    finally:
        await server.stop()
