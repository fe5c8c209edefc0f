"""Every private python-socketio / python-engineio name chatlib uses, checked against the installed versions.

When an upgrade moves or reshapes one of them, the failure names the entry and
the version, instead of a recovery test failing somewhere further away.
"""

import ast
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

from chatlib.sio import compat

VERSIONS = f"python-socketio {version('python-socketio')}, python-engineio {version('python-engineio')}"
SIO = Path(compat.__file__).parent


def parameters(function) -> tuple[str, ...]:
    names = []
    for parameter in inspect.signature(function).parameters.values():
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*",
                  inspect.Parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        names.append(prefix + parameter.name)
    return tuple(names)


def expect_method(owner: str, name: str, expected: tuple[str, ...]) -> None:
    cls = compat.owner_class(owner)
    function = getattr(cls, name, None)
    assert function is not None, f"{owner}.{name} is gone in {VERSIONS}"
    got = parameters(function)
    # chatlib passes these names: each must still be accepted, in this order
    assert got[:len(expected)] == expected, (
        f"{owner}.{name} takes {got} in {VERSIONS}; chatlib was written for {expected}")


@pytest.mark.parametrize("owner, name", sorted(compat.OVERRIDES))
def test_each_overridden_method_has_the_signature_chatlib_overrides(owner, name):
    expect_method(owner, name, compat.OVERRIDES[(owner, name)])


@pytest.mark.parametrize("owner, name", sorted(compat.CALLED))
def test_each_called_private_method_takes_what_chatlib_passes(owner, name):
    expect_method(owner, name, compat.CALLED[(owner, name)])


@pytest.mark.parametrize("name", sorted(compat.PUBSUB_WRAPPED))
def test_each_wrapped_pubsub_handler_exists(name):
    expect_method("socketio.AsyncPubSubManager", name, compat.PUBSUB_WRAPPED[name])


@pytest.mark.parametrize("owner", ["socketio.AsyncManager", "socketio.AsyncPubSubManager",
                                   "socketio.Manager"])
@pytest.mark.parametrize("name", sorted(compat.MANAGER_WRAPPED))
def test_each_wrapped_manager_method_takes_exactly_the_parameters_of_its_hook(owner, name):
    """A hook must take what python-socketio passes, no more, no less (all by these names)."""
    got = parameters(getattr(compat.owner_class(owner), name))
    assert got == compat.MANAGER_WRAPPED[name], (
        f"{owner}.{name} takes {got} in {VERSIONS}; chatlib.sio.hooks was written for "
        f"{compat.MANAGER_WRAPPED[name]}")


@pytest.mark.parametrize("name", sorted({**compat.MANAGER_WRAPPED, **compat.PUBSUB_WRAPPED}))
def test_each_hook_takes_the_original_then_the_wrapped_methods_parameters(name):
    from chatlib.sio.hooks import ManagerHooks
    from chatlib.sio.sync_manager import SyncManagerHooks

    table = {**compat.MANAGER_WRAPPED, **compat.PUBSUB_WRAPPED}
    assert parameters(getattr(ManagerHooks, name)) == ("self", "original", *table[name][1:])
    if name in compat.MANAGER_WRAPPED:
        assert parameters(getattr(SyncManagerHooks, name)) == ("self", "original", *table[name][1:])


def test_a_started_pubsub_manager_has_the_attributes_chatlib_reads():
    import socketio

    manager = socketio.AsyncRedisManager("redis://127.0.0.1:1/0")
    server = socketio.AsyncServer(client_manager=manager, async_mode="asgi")
    started = []
    server.start_background_task = lambda target, *args, **kwargs: started.append(target)
    manager.initialize()
    for name in compat.STARTED_PUBSUB_ATTRIBUTES:
        assert hasattr(manager, name), f"a started pub/sub manager has no .{name} in {VERSIONS}"


def fresh(owner: str):
    cls = compat.owner_class(owner)
    return cls(handle_sigint=False) if owner.endswith("Client") and owner != "websocket.WebSocket" \
        else cls()


@pytest.mark.parametrize("owner, name", [(owner, name) for owner, names in sorted(compat.ATTRIBUTES.items())
                                         for name in names])
def test_each_undocumented_attribute_is_on_a_fresh_instance(owner, name):
    assert hasattr(fresh(owner), name), f"{owner}().{name} is gone in {VERSIONS}"


def private_uses(path: Path) -> set[str]:
    """Underscore names a module reads off objects that are not its own (``x._name``, not ``self._name``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id == "self":
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            names.add(node.attr)
    return names


def overridden(path: Path) -> set[str]:
    """Underscore methods a module defines that python-socketio's classes also define."""
    upstream = set()
    for owner in ("socketio.AsyncServer", "socketio.AsyncClient", "socketio.Server",
                  "socketio.Client", "engineio.Client"):
        upstream |= {name for name in dir(compat.owner_class(owner)) if name.startswith("_")}
    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
            and node.name.startswith("_") and not node.name.startswith("__") and node.name in upstream}


def test_each_undocumented_socket_attribute_is_on_a_fresh_socket():
    import engineio
    from engineio.async_socket import AsyncSocket

    socket = AsyncSocket(engineio.AsyncServer(), "sid")
    for name in compat.SOCKET_ATTRIBUTES:
        assert hasattr(socket, name), f"engineio AsyncSocket().{name} is gone in {VERSIONS}"


def test_each_undocumented_threaded_socket_attribute_is_on_a_fresh_socket():
    import engineio
    from engineio.socket import Socket

    socket = Socket(engineio.Server(), "sid")
    for name in compat.SOCKET_ATTRIBUTES:
        assert hasattr(socket, name), f"engineio Socket().{name} is gone in {VERSIONS}"


def test_what_chatlib_flask_reads_of_flask_socketio_is_there_after_init_app():
    flask = pytest.importorskip("flask")
    flask_socketio = pytest.importorskip("flask_socketio")

    socketio = flask_socketio.SocketIO(flask.Flask(__name__), async_mode="threading")
    for name in compat.FLASK_ATTRIBUTES:
        assert hasattr(socketio, name), (
            f"flask_socketio.SocketIO().{name} is gone in Flask-SocketIO {version('flask-socketio')}")
    assert socketio.sockio_mw.engineio_app is socketio.server, (
        "Flask-SocketIO's middleware no longer serves SocketIO.server through engineio_app")


#: undocumented public-looking names of python-socketio / python-engineio objects that only
#: compat may read (``x.handlers``); and those read off one attribute (``x.eio.reason``)
UNDOCUMENTED = {"handlers", "namespace_handlers", "pending_connect", "pending_disconnect",
                "not_handled", "sockets", "connection_url", "connection_auth", "read_loop_task"}
UNDOCUMENTED_OFF = {("eio", "reason"), ("manager", "thread")}


def undocumented_uses(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or (
                isinstance(node.value, ast.Name) and node.value.id == "compat"):
            continue
        if node.attr in UNDOCUMENTED:
            names.add(node.attr)
        owner = node.value
        if isinstance(owner, ast.Attribute) and (owner.attr, node.attr) in UNDOCUMENTED_OFF:
            names.add(f"{owner.attr}.{node.attr}")
    return names


LIBRARY = SIO.parent
MODULES = sorted(str(path.relative_to(LIBRARY)) for path in LIBRARY.rglob("*.py")
                 if path != Path(compat.__file__))


@pytest.mark.parametrize("module", MODULES)
def test_chatlib_reaches_upstream_internals_only_through_compat(module):
    path = LIBRARY / module
    if module.startswith("sio/"):  # chatlib's own underscore names are elsewhere too
        assert not private_uses(path), (
            f"{module} uses {sorted(private_uses(path))} without chatlib.sio.compat")
    assert not undocumented_uses(path), (
        f"{module} reads {sorted(undocumented_uses(path))} without chatlib.sio.compat")
    declared = {name for _, name in compat.OVERRIDES}
    assert overridden(path) <= declared, (
        f"{module} overrides {sorted(overridden(path) - declared)}, not declared in compat.OVERRIDES")
