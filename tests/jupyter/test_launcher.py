"""start_chat_server on a plain asyncio loop: start, replace, stop, leave nothing behind."""

import asyncio
import socket

import aiohttp
import pytest

import chatlib
from tests.services import free_port

from .helpers import server_tasks


async def page_status(url):
    async with aiohttp.ClientSession() as http, http.get(url + "/") as response:
        return response.status


async def test_serves_the_chat_on_localhost_and_exposes_io_and_store(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert await page_status(server.url) == 200
    assert isinstance(server.io, chatlib.RecoveryServer)
    assert server.store is server.io.store
    assert server.store.packets() == [] and server.store.sessions() == []


async def test_stop_closes_the_port_and_leaves_no_task_running():
    before = set(server_tasks())
    server = await chatlib.start_chat_server()
    alice = chatlib.ChatWidget(server, "Alice")
    view = chatlib.BufferView(server)
    await alice.connect()
    await alice.send("hello")
    await alice.wait_for_message("hello")
    await server.stop()
    assert not server.running and not view.refreshing and not alice.connected
    assert set(server_tasks()) - before == set()
    with pytest.raises(aiohttp.ClientConnectionError):
        await page_status(server.url)
    await server.stop()  # a second stop is harmless


async def test_starting_again_on_the_same_port_replaces_the_previous_server():
    port = free_port()
    first = await chatlib.start_chat_server(port=port)
    alice = chatlib.ChatWidget(first, "Alice")
    await alice.connect()
    second = await chatlib.start_chat_server(port=port)
    try:
        assert not first.running and second.running and second.port == port
        assert not alice.connected and "server stopped" in alice.error_line.value
        assert await page_status(second.url) == 200
    finally:
        await second.stop()


async def test_two_servers_on_port_0_run_side_by_side():
    first = await chatlib.start_chat_server()
    second = await chatlib.start_chat_server()
    try:
        assert first.running and second.running and first.port != second.port
        assert await page_status(first.url) == 200 and await page_status(second.url) == 200
    finally:
        await first.stop()
        await second.stop()


async def test_replace_stops_the_server_started_before_with_port_0():
    first = await chatlib.start_chat_server()
    second = await chatlib.start_chat_server(replace=True)
    try:
        assert not first.running and second.running
        with pytest.raises(aiohttp.ClientConnectionError):
            await page_status(first.url)
    finally:
        await second.stop()


async def test_asking_for_the_port_of_a_running_chatlib_server_replaces_it():
    first = await chatlib.start_chat_server()
    second = await chatlib.start_chat_server(port=first.port)
    try:
        assert not first.running and second.port == first.port
    finally:
        await second.stop()


async def test_a_port_taken_by_something_else_raises():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await chatlib.start_chat_server(port=taken.getsockname()[1])


async def test_without_recovery_there_is_no_store():
    server = await chatlib.start_chat_server(recovery=None)
    try:
        assert server.store is None and await page_status(server.url) == 200
    finally:
        await server.stop()


async def test_wait_until_times_out_when_nothing_happens(server):
    with pytest.raises(TimeoutError):
        await server.wait_until(lambda: False, timeout=0.1)


def test_a_server_from_an_ended_loop_does_not_stop_the_next_one():
    asyncio.run(chatlib.start_chat_server())  # the loop ends with the server running

    async def second_run():
        server = await chatlib.start_chat_server()
        status = await page_status(server.url)
        await server.stop()
        return status

    assert asyncio.run(second_run()) == 200
