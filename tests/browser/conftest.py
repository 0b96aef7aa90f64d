"""Browser fixtures: the app served on 127.0.0.1 and the system Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from werkzeug.serving import make_server

from engine.bootstrap import Core
from tests.conftest import MONDAY_9AM, make_core
from tests.web.conftest import Clock
from web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests, saying how to get Chromium, unless it is there or required."""
    if Path(CHROMIUM).exists() or os.environ.get("MOTCUA_REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason="browser tests need Debian's Chromium at /usr/bin/chromium: "
                                   "run `sudo apt-get install chromium` (CI installs it)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


class LiveServer:
    """The app served by werkzeug in a thread, on a free port of 127.0.0.1."""

    screenshot_dir = Path("/tmp")

    def __init__(self, core: Core, clock: Clock) -> None:
        app = create_app({"TESTING": True, "SECRET_KEY": "browser", "CLOCK": clock,
                          "DATABASE_URL": str(core.db.url)}, core=core)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def browser_clock() -> Clock:
    """The live server's clock."""
    return Clock(MONDAY_9AM)


@pytest.fixture
def browser_core(sqlite_db: Engine) -> Core:
    """The core the live server runs on (tests may prepare dossiers through it)."""
    return make_core(sqlite_db)


@pytest.fixture
def live_server(browser_core: Core, browser_clock: Clock,
                tmp_path: Path) -> Iterator[LiveServer]:
    """The app on a fresh SQLite database, served on 127.0.0.1."""
    with LiveServer(browser_core, browser_clock) as server:
        server.screenshot_dir = tmp_path
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """The system Chromium, headless."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required but missing at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
