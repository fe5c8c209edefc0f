"""The console script's help and errors name the command the user typed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: what pip's launcher for a ``name = "module:function"`` console script does
LAUNCHER = """
import importlib, sys
module, _, function = sys.argv[1].partition(":")
sys.argv = [sys.argv[2], *sys.argv[3:]]
sys.exit(getattr(importlib.import_module(module), function)())
"""


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_chatlib_chat_help_names_chatlib_chat():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    launched = run(sys.executable, "-c", LAUNCHER, scripts["chatlib-chat"], "chatlib-chat", "--help")
    assert launched.returncode == 0, launched.stderr
    assert launched.stdout.startswith("usage: chatlib-chat "), launched.stdout
    wrong = run(sys.executable, "-c", LAUNCHER, scripts["chatlib-chat"], "chatlib-chat", "--step", "5")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("usage: chatlib-chat "), wrong.stderr
    # and python -m chatlib still says so
    assert run(sys.executable, "-m", "chatlib", "--help").stdout.startswith("usage: python -m chatlib ")
