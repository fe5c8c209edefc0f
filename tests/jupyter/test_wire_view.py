"""WireView's frame: named after its server, and a picture that never pushes the rest away."""

import re

import chatlib
from chatlib.jupyter.wire_view import PICTURE_HEIGHT


def title_text(wire) -> str:
    """The title's bold words, as the reader sees them."""
    return re.search(r"<b>([^<]*)</b>", wire.title.value)[1]


async def test_each_wire_view_is_titled_after_its_server():
    east = await chatlib.start_chat_server(replace=False)
    west = await chatlib.start_chat_server(replace=False)
    try:
        titles = [title_text(chatlib.WireView(east, name="east")),
                  title_text(chatlib.WireView(west, labels="es", name="west")),
                  title_text(chatlib.WireView(west))]
    finally:
        await east.stop()
        await west.stop()
    assert titles == ["What goes over the wire · east", "Lo que pasa por la red · west",
                      f"What goes over the wire · 127.0.0.1:{west.port}"]


async def test_a_long_wire_scrolls_in_its_own_box_at_its_newest_packets(server):
    wire = chatlib.WireView(server)
    alice = chatlib.ChatWidget(server, "Alice")
    await alice.connect()
    for n in range(30):
        await alice.send(f"message {n}")
    await alice.wait_for_message("message 29")
    wire.refresh()
    box = re.match(r"<div class='chatlib-wire' style='([^']*)'>", wire.picture.value)[1]
    assert f"max-height:{PICTURE_HEIGHT}px" in box and "overflow:auto" in box
    assert "flex-direction:column-reverse" in box     # a scroll box that starts at its end
    await alice.aclose()
