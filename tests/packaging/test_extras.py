"""A part whose extra is not installed says which ``pip install "chatlib[...]"`` to run.

Each case runs in a fresh interpreter in which the extra's package cannot be imported, as if
it were not installed (a finder at the front of ``sys.meta_path`` refuses it); the wheel
check of CI (.ci/wheel_check) does the same in a real venv without the extras.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: run as ``python -c ABSENT MODULES STATEMENT``: prints how STATEMENT failed, as JSON
ABSENT = """
import json, sys

class Absent:
    def __init__(self, names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None

sys.meta_path.insert(0, Absent(set(sys.argv[1].split(","))))
try:
    exec(sys.argv[2])
except BaseException as exc:
    print(json.dumps({"type": type(exc).__name__, "import_error": isinstance(exc, ImportError),
                      "name": getattr(exc, "name", None), "message": str(exc)}))
else:
    print(json.dumps(None))
"""


def failure(absent: str, statement: str) -> dict | None:
    done = subprocess.run([sys.executable, "-c", ABSENT, absent, statement], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("absent", "statement", "extra"), [
    ("ipywidgets", "import chatlib; chatlib.ChatWidget", "jupyter"),
    ("ipywidgets", "import chatlib; chatlib.start_chat_server", "jupyter"),
    ("ipywidgets", "import chatlib.jupyter.widget", "jupyter"),
    ("aiohttp", "import chatlib; chatlib.ChatWidget", "jupyter"),
    ("redis", "import chatlib; chatlib.RedisStore", "redis"),
    ("redis", "from chatlib.stores import RedisStore", "redis"),
    ("redis", "import chatlib; chatlib.redis_server", "redis"),
    ("aiohttp", "import chatlib; chatlib.RecoveryClient", "asyncio-client"),
    ("aiohttp", "from chatlib.sio import RecoveryClient", "asyncio-client"),
])
def test_a_missing_extra_is_an_import_error_naming_its_install(absent, statement, extra):
    failed = failure(absent, statement)
    assert failed is not None, f"{statement!r} worked without {absent}"
    assert failed["import_error"], failed
    assert f'pip install "chatlib[{extra}]"' in failed["message"], failed["message"]
    assert failed["name"] == absent



def test_the_server_imports_without_any_extra():
    """``import chatlib`` and a RecoveryServer need none of the extras' packages: the CI's
    bare wheel install caught websocket-client (the flask extra) imported by chatlib.sio."""
    absent = "aiohttp,redis,ipywidgets,anywidget,flask,flask_socketio,simple_websocket,websocket"
    assert failure(absent, "import chatlib; chatlib.RecoveryServer(async_mode='asgi')") is None
