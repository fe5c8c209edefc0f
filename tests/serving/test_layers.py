"""``import chatlib`` loads no server: uvicorn is loaded by what runs one, never by the library."""

import ast
import subprocess
import sys
from pathlib import Path

import chatlib

ROOT = Path(chatlib.__file__).parent


def test_importing_chatlib_loads_no_uvicorn_or_websockets_module():
    code = ("import sys, chatlib; chatlib.RecoveryServer(async_mode='asgi'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('uvicorn', 'websockets')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]", f"import chatlib loaded {loaded}"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_only_the_serving_package_imports_uvicorn():
    outside = {str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py")
               if "serving" not in path.relative_to(ROOT).parts
               and any(name.split(".")[0] == "uvicorn" for name in imported_modules(path))}
    assert outside == set(), f"modules outside chatlib/serving import uvicorn: {sorted(outside)}"
