"""Fixtures of the reliability suite: the profile (fast or long), figures, Node, fault watchers.

Every test runs in the fast profile by default. ``--long`` (or ``CHATLIB_RELIABILITY=long``)
runs the same tests with the long profile's sizes:

    python3 -m pytest tests/reliability --long -s

(``--long`` is defined here, so pytest must be pointed at this folder for it to be known.)
Each test prints a one-line summary of its figures, writes them to the JUnit report
(``record_property``) and lists them again in pytest's terminal summary.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.support import LoopErrors
from tests.services import node_with_interop_packages

_FIGURES_KEY = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="run tests/reliability with the long profile (minutes, not seconds)")


@dataclass(frozen=True)
class Profile:
    name: str
    # chaos
    chaos_messages: int
    chaos_faults: int
    chaos_rate: float  # messages per second
    # fuzzing
    fuzz_examples: int
    store_examples: int
    store_steps: int
    # bounds
    bounds_seconds: float
    # chaos on the SQLite and Redis stores (servers in processes of their own)
    store_chaos_seconds: float = 12.0
    flood_clients: int = 600


FAST = Profile("fast", chaos_messages=5000, chaos_faults=50, chaos_rate=250.0,
               fuzz_examples=60, store_examples=60, store_steps=50, bounds_seconds=6.0)
LONG = Profile("long", chaos_messages=20000, chaos_faults=300, chaos_rate=250.0,
               fuzz_examples=1000, store_examples=1000, store_steps=80, bounds_seconds=180.0,
               store_chaos_seconds=150.0, flood_clients=5000)
LONG_TIMEOUT = 1800  # seconds per test, instead of the project's 120


def _long_requested(config) -> bool:
    return bool(config.getoption("--long", default=False)) or \
        os.environ.get("CHATLIB_RELIABILITY", "").lower() == "long"


def pytest_collection_modifyitems(config, items):
    if _long_requested(config):
        here = Path(__file__).resolve().parent
        for item in items:
            if here in Path(str(item.fspath)).resolve().parents:
                item.add_marker(pytest.mark.timeout(LONG_TIMEOUT))


@pytest.fixture(scope="session")
def profile(request) -> Profile:
    return LONG if _long_requested(request.config) else FAST


@pytest.fixture
def figures(request, record_property):
    """``figures(**counts)``: print one summary line, record it in the report and the summary."""
    def report(**counts):
        name = LONG.name if _long_requested(request.config) else FAST.name
        pairs = ", ".join(f"{key}={value}" for key, value in counts.items())
        line = f"{request.node.name} [{name}]: {pairs}"
        print("\nFIGURES " + line)
        for key, value in counts.items():
            record_property(key, value)
        request.config.stash.setdefault(_FIGURES_KEY, []).append(line)
        return line

    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_FIGURES_KEY, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


# -- Node ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_executable() -> str:
    """Node, with socket.io-client from tests/interop/node_modules (fails in CI when missing)."""
    return node_with_interop_packages()


@pytest.fixture
async def loop_errors():
    """What reaches the event loop's exception handler during the test (lost task exceptions)."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    errors = LoopErrors()
    loop.set_exception_handler(errors)
    yield errors
    loop.set_exception_handler(previous)
