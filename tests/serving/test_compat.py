"""Every uvicorn internal chatlib uses (``chatlib.serving.compat``), checked against the installed uvicorn.

An upgrade that renames or drops one fails here, naming the entry and the
version, instead of every WebSocket connection closing somewhere further away
(uvicorn 0.50.2-0.52.0 have no ``WebSocketsSansIOProtocol.disconnected``).
"""

import asyncio
import inspect
from importlib.metadata import version

import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.importer import import_from_string
from uvicorn.server import ServerState
from websockets.server import ServerProtocol

from chatlib.serving import compat, serve

VERSION = f"uvicorn {version('uvicorn')}, websockets {version('websockets')}"


async def app(scope, receive, send):
    """An ASGI app that accepts a WebSocket and reports what is behind its ``send``."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    app.seen.append(getattr(send, "__self__", None))
    await send({"type": "websocket.send", "text": "hi"})
    await receive()

app.seen = []


def parameters(function) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)


def protocol_class(kind: str) -> type:
    return import_from_string(compat.PROTOCOLS[kind])


@pytest.mark.parametrize("kind", sorted(compat.PROTOCOLS))
def test_each_known_protocol_class_is_where_the_table_says(kind):
    assert isinstance(protocol_class(kind), type), f"{compat.PROTOCOLS[kind]} is gone in {VERSION}"


@pytest.mark.parametrize("kind, name", [(kind, name)
                                        for kind, names in sorted(compat.PROTOCOL_ATTRIBUTES.items())
                                        for name in names])
async def test_each_protocol_attribute_is_on_a_fresh_protocol(kind, name):
    config = Config(app, ws_per_message_deflate=False)
    config.load()
    protocol = protocol_class(kind)(config=config, server_state=ServerState(), app_state={},
                                    _loop=asyncio.get_running_loop())
    assert hasattr(protocol, name), f"{compat.PROTOCOLS[kind]}().{name} is gone in {VERSION}"


@pytest.mark.parametrize("owner, name", sorted(compat.METHODS))
def test_each_overridden_or_called_method_takes_what_chatlib_expects(owner, name):
    cls = uvicorn.Server if owner == "Server" else protocol_class(owner)
    method = getattr(cls, name, None)
    assert method is not None, f"{cls.__name__}.{name} is gone in {VERSION}"
    expected = compat.METHODS[(owner, name)]
    assert parameters(method)[:len(expected)] == expected, (
        f"{cls.__name__}.{name} takes {parameters(method)} in {VERSION}; chatlib expects {expected}")


@pytest.mark.parametrize("name", compat.SERVER_ATTRIBUTES)
def test_each_server_attribute_is_on_a_fresh_server(name):
    assert hasattr(uvicorn.Server(Config(app)), name), f"uvicorn.Server().{name} is gone in {VERSION}"


@pytest.mark.parametrize("name", compat.CONFIG_KEYWORDS)
def test_each_config_keyword_is_accepted_and_kept(name):
    assert name in parameters(Config.__init__), f"uvicorn.Config takes no {name} in {VERSION}"
    assert hasattr(Config(app), name), f"uvicorn.Config().{name} is gone in {VERSION}"


@pytest.mark.parametrize("name", compat.CONN_ATTRIBUTES)
def test_each_attribute_of_the_sans_io_connection_is_there(name):
    assert hasattr(ServerProtocol(), name), f"websockets ServerProtocol().{name} is gone in {VERSION}"


@pytest.mark.parametrize("ws", ["auto", "websockets-sansio", "websockets", "wsproto"])
async def test_the_asgi_send_of_a_websocket_is_a_method_of_its_protocol(ws):
    """chatlib finds a connection's protocol as ``send.__self__`` (``chatlib.sio.frames``)."""
    import websockets

    app.seen.clear()
    running = await serve(app, ws=ws)
    try:
        async with websockets.connect(running.url.replace("http", "ws") + "/") as client:
            assert await client.recv() == "hi"
        kinds = [compat.protocol_kind(owner) for owner in app.seen]
        expected = {"auto": "sansio", "websockets-sansio": "sansio", "websockets": "legacy",
                    "wsproto": "wsproto"}[ws]
        assert kinds == [expected], f"ws={ws!r}: send.__self__ is {app.seen} in {VERSION}"
    finally:
        await running.stop()


def test_only_compat_and_the_protocol_subclass_name_uvicorn_internals():
    """The rest of chatlib.serving uses uvicorn's documented API (Config, Server) or compat."""
    import ast
    from pathlib import Path

    folder = Path(compat.__file__).parent
    internal = {}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("uvicorn."):
                internal.setdefault(path.name, set()).add(node.module)
    assert set(internal) <= {"compat.py", "websocket.py"}, internal
    assert internal.get("websocket.py", set()) <= {compat.PROTOCOLS["sansio"].split(":")[0]}
