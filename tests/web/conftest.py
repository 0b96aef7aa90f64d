"""Web fixtures: the app on a fresh SQLite core, a test client, and a login helper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.conftest import MONDAY_9AM
from web import create_app


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The app's clock, starting Monday 23/11/2026 09:00 in Hanoi."""
    return Clock(MONDAY_9AM)


@pytest.fixture
def app(sqlite_core: Core, clock: Clock, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app on a fresh database; CSRF stays on, as in production."""
    return create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
                       "DATABASE_URL": str(sqlite_core.db.url)}, core=sqlite_core)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


class Auth:
    """Logs the client in and out, taking the CSRF token from the pages like a browser."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        """The CSRF token embedded in the page at `path`."""
        import re

        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = "pw") -> None:
        """Log in as `username`."""
        response = self.client.post("/login", data={"username": username, "password": password,
                                                    "csrf_token": self.csrf()})
        assert response.status_code == 302, response.get_data(as_text=True)

    def post(self, path: str, data: dict[str, str], page: str | None = None) -> object:
        """POST a form with the CSRF token from `page` (default: the same path)."""
        return self.client.post(path, data={**data, "csrf_token": self.csrf(page or path)})


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    """The login helper."""
    return Auth(client)


Poster = Callable[..., object]
