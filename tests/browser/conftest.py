"""Real-browser tests: Playwright for Python driving Debian's Chromium, never a downloaded one.

Chromium runs headless with a fresh profile (one per test; one per module for the
notebooks) and only reaches 127.0.0.1 (see ``support.Browser``). Without Chromium,
Playwright, or (for the chat page) the npm package in tests/browser/node_modules, the tests
skip with one line, except under CI (``CI`` set), where they fail: ``.ci/run`` installs
all three.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.services import require

from .support import CHROMIUM, CLIENT_FILE, WAIT_MS, Browser, saved_screenshots


def pytest_terminal_summary(terminalreporter):
    if saved_screenshots:
        terminalreporter.section("browser screenshots")
        for path in saved_screenshots:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="module")
def playwright():
    """The sync Playwright driver, for one test module."""
    require("playwright", importlib.util.find_spec("playwright") is not None,
            "pip install -r requirements.txt; never `playwright install`")
    require("Chromium", os.access(CHROMIUM, os.X_OK),
            f"apt-get install chromium; looked for {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright, tmp_path):
    """Chromium with a fresh user-data dir under tmp_path; closed after the test."""
    chromium = Browser(playwright, tmp_path / "chromium-profile")
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def socketio_client_file() -> Path:
    """npm's socket.io-client dist file (the version the chat page pins)."""
    require("socket.io-client 4.8.1 in tests/browser/node_modules", CLIENT_FILE.is_file(),
            "cd tests/browser && npm ci")
    return CLIENT_FILE
