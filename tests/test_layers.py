"""The house's rules, read from the code's own imports: no import circle anywhere in chatlib,
and every layer imports only the layers below it (docs/design.md, "Layers")."""

from __future__ import annotations

import ast
import pathlib

import chatlib

PACKAGE = pathlib.Path(chatlib.__file__).parent

#: each layer, and the chatlib layers it may import (the standard library and third-party
#: packages are not listed: the compat and serving tables check those)
MAY_IMPORT = {
    "core": set(),
    "stores": {"core", "extras"},
    "sio": {"core", "stores", "extras"},
    "serving": {"core", "sio", "extras"},
    "chat": {"core", "stores", "sio", "serving", "extras"},
    "jupyter": {"core", "stores", "sio", "serving", "chat", "extras"},
    "lesson": {"core", "stores", "sio", "serving", "chat", "jupyter", "extras"},
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> set[str]:
    """The chatlib modules ``path`` imports, at its top or inside functions."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("chatlib")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("chatlib"):
                found.add(target)
                found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {target for target in _imports(path) if target in modules and target != name}
            for name, path in modules.items()}


#: modules at the package's top that belong to a layer
_TOP_LEVEL = {"chatlib.websocket": "serving", "chatlib.sync": "sio", "chatlib.flask": "sio",
              # which extra installs a part: a table any layer may read (standard library only)
              "chatlib._extras": "extras"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return _TOP_LEVEL.get(module, parts[1] if len(parts) > 1 else "")


def test_no_import_circle_in_chatlib():
    graph = _graph()
    circles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                circles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package's __init__ importing its own modules is not a circle of the design
    circles = [circle for circle in circles
               if not all(step.startswith(circle[0] + ".") or step == circle[0] for step in circle)]
    assert circles == []


def test_every_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, targets in _graph().items():
        layer = _layer(module)
        if layer not in MAY_IMPORT:
            continue
        for target in targets:
            other = _layer(target)
            if other and other != layer and other not in MAY_IMPORT[layer]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []
