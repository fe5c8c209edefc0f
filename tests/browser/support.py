"""What the browser tests share: Chromium's settings, a loopback-only context, screenshots."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: The chat page's fallback for the client its server ships: never reached here (offline).
CDN_CLIENT_URL = "https://cdn.socket.io/4.8.1/socket.io.min.js"
#: npm's socket.io-client (tests/browser/package.json pins the page's version): the file the
#: chat server must serve byte for byte, and what a test answers the CDN with.
CLIENT_PACKAGE = HERE / "node_modules" / "socket.io-client"
CLIENT_FILE = CLIENT_PACKAGE / "dist" / "socket.io.min.js"
LOCAL_HOSTS = ("127.0.0.1", "localhost")

#: How long one expectation may wait (ms): generous for a loaded 2-core machine.
WAIT_MS = 20_000

#: Screenshots saved during the run, listed at the end of pytest's report.
saved_screenshots: list[Path] = []


def expect(target, *args, **kwargs):
    """Playwright's ``expect``, imported on use, so that the tests are collected without it."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target, *args, **kwargs)


class Browser:
    """A headless Chromium with a fresh profile, kept on loopback.

    Requests to 127.0.0.1 go through; everything else (the CDN too) is aborted and
    listed in ``blocked``, as on a machine without the internet.
    """

    def __init__(self, playwright, profile: Path, timeout_ms: int = WAIT_MS) -> None:
        self.blocked: list[str] = []
        self.page_errors: list[str] = []
        self.context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(profile), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(timeout_ms)
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def new_page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return page

    def close(self) -> None:
        self.context.close()


def screenshot(target, name: str) -> Path:
    """Save a screenshot of a page or a locator as artifacts/browser/NAME.png; print its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
    target.screenshot(path=str(path))
    saved_screenshots.append(path)
    print(f"screenshot: {path}")
    return path


class Process:
    """A child process whose output lines are collected by a thread, for bounded waits."""

    def __init__(self, args: list[str], **popen) -> None:
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, **popen)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        """The first output line matching ``pattern``; fails if the process ends or times out."""
        regex = re.compile(pattern)

        def found():
            for line in self.lines:
                if match := regex.search(line):
                    return match
            return None if self.process.poll() is None and self._reader.is_alive() else False

        with self._changed:
            match = self._changed.wait_for(found, timeout)
        if not match:
            raise AssertionError(f"no line matching {pattern!r} from {self.process.args[:4]} "
                                 f"(exit code {self.process.poll()}); output:\n"
                                 + "\n".join(self.lines[-40:]))
        return match

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._reader.join(timeout)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
