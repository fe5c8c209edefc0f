"""python-socketio's own tests, run on chatlib's classes (docs/library.md: "recovery=None is plain
python-socketio"): its asyncio tests on ``RecoveryServer``/``RecoveryClient``, its threaded
ones (``tests/common``) on ``chatlib.sync.RecoveryServer``/``RecoveryClient``.

``.ci/run`` fetches the ``tests/`` of the installed python-socketio's source
release (``python3 -m tests.upstream.fetch``); each test here runs a part of
them in a pytest of its own, with ``chatlib_in_place`` putting
``RecoveryServer``/``RecoveryClient`` (and, with recovery on, recovery in the
managers) where they construct python-socketio's classes:

- ``plain``: ``RecoveryServer(recovery=None)`` and ``RecoveryClient`` must
  pass every test of ``test_server.py`` and ``test_client.py``;
- ``recovery``: ``RecoveryServer()`` (recovery on), and recovery attached to
  the managers of ``test_manager.py`` and ``test_pubsub_manager.py``, must
  pass every test but those ``expected_failures.toml`` lists, each of which
  must fail, and for its listed reason.

The threaded flavour is the same, on ``tests/common``: ``test_server.py`` and
``test_client.py`` in ``plain``; ``test_server.py`` and ``test_manager.py`` with
recovery on. Its ``test_pubsub_manager.py`` is out of scope: the threaded server
does not take pub/sub managers with recovery on yet (it refuses them).

In scope are the files that build chatlib's classes. Out of scope, in
``tests/async`` (and their twins in ``tests/common``), ``test_namespace.py``
(namespace classes, tested against a mocked server), ``test_simple_client.py``
(``AsyncSimpleClient`` makes its
own ``AsyncClient``, which its tests mock), ``test_redis_manager.py`` (how
``AsyncRedisManager`` parses its URL), and ``test_admin.py`` (the admin UI:
a real server on the fixed port 8900 driven by sync clients; it fails here
with stock python-socketio too). ``RecoveryClient`` has no recovery switch,
so the client tests run once, in ``plain``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import require
from tests.upstream import fetch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCOPE = {
    ("asyncio", "plain"): ["tests/async/test_server.py", "tests/async/test_client.py"],
    ("asyncio", "recovery"): ["tests/async/test_server.py", "tests/async/test_manager.py",
                              "tests/async/test_pubsub_manager.py"],
    ("threaded", "plain"): ["tests/common/test_server.py", "tests/common/test_client.py"],
    ("threaded", "recovery"): ["tests/common/test_server.py", "tests/common/test_manager.py"],
}
RUN_TIMEOUT = 240  # seconds for one mode; it takes about 10 on a quiet machine


@dataclass(frozen=True)
class Difference:
    reason: str
    shows: str


def expected_failures() -> dict[str, Difference]:
    """Node id -> why it fails with recovery on (expected_failures.toml)."""
    document = tomllib.loads((HERE / "expected_failures.toml").read_text())
    expected: dict[str, Difference] = {}
    for group in document["difference"]:
        for node_id in group["tests"]:
            assert node_id not in expected, f"{node_id} is listed twice"
            expected[node_id] = Difference(group["reason"], group["shows"])
    return expected


def run_upstream(flavour: str, mode: str, suite: Path, results: Path) -> dict:
    """Run this mode's upstream test files in a pytest of their own; returns its outcomes."""
    env = dict(os.environ, CHATLIB_UPSTREAM_MODE=mode, CHATLIB_UPSTREAM_RESULTS=str(results),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
    # The upstream tests are a package named "tests" too: they run from their own
    # folder, with their own pytest configuration, and the options of their tox.ini.
    command = [sys.executable, "-m", "pytest", "-p", "chatlib_in_place", "-p", "no:cacheprovider",
               "-p", "no:logging", "--timeout=60", "-q", "--rootdir", str(suite),
               "-c", str(suite / "pyproject.toml"), *SCOPE[flavour, mode]]
    done = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    if not results.is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        pytest.fail(f"the upstream run wrote no results (exit {done.returncode}):\n{tail}")
    return json.loads(results.read_text())


def problems(outcomes: dict[str, dict], expected: dict[str, Difference]) -> list[str]:
    """Every outcome that is not the expected one, each naming its test."""
    found = []
    for node_id, outcome in sorted(outcomes.items()):
        difference = expected.get(node_id)
        if outcome["outcome"] == "skipped":
            found.append(f"skipped (nothing may be skipped): {node_id}")
        elif outcome["outcome"] == "failed" and difference is None:
            found.append(f"fails: {node_id}\n    {outcome['failure']}")
        elif outcome["outcome"] == "passed" and difference is not None:
            found.append(f"passes though expected_failures.toml lists it (remove it): {node_id}")
        elif difference is not None and difference.shows not in outcome["failure"]:
            found.append(f"fails, but not for its listed reason ({difference.shows!r} is not in"
                         f" the failure): {node_id}\n    {outcome['failure']}")
    for node_id in sorted(set(expected) - set(outcomes)):
        found.append(f"listed in expected_failures.toml but not run (renamed upstream?): {node_id}")
    return found


@pytest.mark.timeout(RUN_TIMEOUT + 30)
@pytest.mark.parametrize("flavour, mode", sorted(SCOPE))
def test_python_socketio_suite(flavour: str, mode: str, tmp_path: Path,
                               upstream_summary: list) -> None:
    version = fetch.installed_version()
    suite = fetch.suite(version)
    require(f"the test suite of python-socketio {version}", (suite / "tests").is_dir(),
            "fetch it from PyPI with `python3 -m tests.upstream.fetch`")
    report = run_upstream(flavour, mode, suite, tmp_path / "results.json")
    outcomes = report["tests"]
    expected = {node_id: difference for node_id, difference in expected_failures().items()
                if node_id.split("::")[0] in SCOPE[flavour, mode]} if mode == "recovery" else {}
    failed = sum(1 for outcome in outcomes.values() if outcome["outcome"] == "failed")
    listed = sum(1 for node_id, outcome in outcomes.items()
                 if outcome["outcome"] == "failed" and node_id in expected)
    upstream_summary.append(
        f"python-socketio {version} {flavour} tests, {mode}: {len(outcomes)} run, "
        f"{len(outcomes) - failed} passed, {listed} failed as listed, {failed - listed} unexpected")
    assert len(outcomes) > 50, f"only {len(outcomes)} upstream tests ran: {sorted(outcomes)}"
    found = problems(outcomes, expected)
    assert not found, f"{len(found)} unexpected outcomes in {mode} mode:\n" + "\n".join(found)
