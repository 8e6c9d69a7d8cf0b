"""Real Chromium (Debian's, driven by Playwright) against a real `python maelstrom.py`.

Every page records what went wrong in it: a console error, an uncaught exception, a
request that failed or was answered 5xx, or 4xx where the test did not expect one; the
`page` fixture fails the test on any of them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.api.test_openapi import _make_token
from tests.helpers import ServerProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the flags keep Chromium off the network it cannot reach here (see docs/client.md)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TABLET = {"width": 1280, "height": 800}


# package scope: Playwright holds an asyncio loop on this thread while it runs, and the
# Tornado tests after tests/client need none to be running
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("Chromium is not installed: `apt-get install -y chromium`, or run `bash .ci/run`")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


class Appliance:
    """The server process with its base URL and an API token for arranging things."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.process = ServerProcess(tmp_path, log_level="WARNING")
        self.process.wait_serving()
        self.base_url = self.process.base_url
        self.token = _make_token(self.process.data_dir, self.base_url)

    @property
    def password(self) -> str:
        return (self.process.data_dir / "initial-password").read_text().strip()

    def restart(self) -> None:
        """Stop and start again on the same port and data (a power cut, an upgrade)."""
        self.process.stop()
        self.process = ServerProcess(self.tmp_path, log_level="WARNING", port=self.process.port)
        self.process.wait_serving()

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def appliance(tmp_path: Path) -> Iterator[Appliance]:
    """A server as a user starts it: the sample fermenter runs the sample ale profile."""
    server = Appliance(tmp_path)
    yield server
    server.stop()
    assert "Traceback" not in server.process.log(), server.process.log()[-3000:]


class Problems(list):
    """What went wrong in a page; `expect(status)` allows answers of that status."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: set[int] = set()

    def expect(self, status: int) -> None:
        self.allowed.add(status)


def open_page(browser: Browser, base_url: str, viewport: dict[str, int] = TABLET) -> tuple[Page, Problems]:
    context = browser.new_context(viewport=viewport, base_url=base_url)
    page = context.new_page()
    problems = Problems()
    page.on("console", lambda message: _console(problems, message))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: _failed(problems, request))

    def answered(response) -> None:
        if response.status >= 500 or (response.status >= 400 and response.status not in problems.allowed):
            problems.append(f"{response.status} {response.request.method} {response.url}")

    page.on("response", answered)
    return page, problems


def _console(problems: Problems, message) -> None:
    # Chromium logs every 4xx/5xx answer as a console error too; `answered` judges those
    if message.type != "error" or message.text.startswith("Failed to load resource: the server responded"):
        return
    if getattr(problems, "restarting", False) and message.text.startswith("WebSocket connection to"):
        return  # refused while the server the test stopped is down: the page retries
    problems.append(f"console: {message.text}")


def _failed(problems: Problems, request) -> None:
    # a WebSocket or fetch cut by a server restart the test makes is not a bug of the page
    if getattr(problems, "restarting", False):
        return
    problems.append(f"failed: {request.method} {request.url} {request.failure}")


@pytest.fixture
def page(browser: Browser, appliance: Appliance) -> Iterator[tuple[Page, Problems]]:
    page, problems = open_page(browser, appliance.base_url)
    yield page, problems
    page.context.close()
    assert list(problems) == [], problems
