"""The fetched python-socketio tests are run by test_parity.py, never collected here."""

import pytest

collect_ignore = ["_suite", "chatlib_in_place.py", "fetch.py"]

_SUMMARY = pytest.StashKey[list]()


@pytest.fixture
def upstream_summary(request: pytest.FixtureRequest) -> list:
    """Lines for the end of the run: the upstream counts, passing or not."""
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.section("python-socketio's own tests on chatlib")
        for line in lines:
            terminalreporter.write_line(line)
