"""Guessing is slowed down (rate limits) and every response carries security headers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.web.conftest import Clock
from web import create_app


@pytest.fixture
def limited(sqlite_core: Core, clock: Clock) -> FlaskClient:
    """A client of an app with its rate limits on, as in production."""
    app: Flask = create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
                             "RATELIMIT_ENABLED": True,
                             "DATABASE_URL": str(sqlite_core.db.url)}, core=sqlite_core)
    return app.test_client()


def _csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(True))
    assert match
    return match.group(1)


def test_the_eleventh_wrong_password_in_a_minute_is_refused_with_a_message(
        limited: FlaskClient) -> None:
    token = _csrf(limited, "/login")
    statuses = [limited.post("/login", data={"csrf_token": token, "username": "head",
                                             "password": "wrong"}).status_code
                for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    page = limited.post("/login", data={"csrf_token": token, "username": "head",
                                        "password": "pw"})
    assert page.status_code == 429  # even the right password waits: the address is blocked
    assert "Quá nhiều lần thử" in page.get_data(as_text=True)
    assert limited.get("/login").status_code == 200  # reading the form is not limited


def test_the_portal_lookup_and_the_token_endpoint_are_limited(limited: FlaskClient) -> None:
    token = _csrf(limited, "/portal/lookup")
    codes = [limited.post("/portal/lookup", data={
        "csrf_token": token, "code": "000.00.18.H57-261123-0001",
        "id_number": f"00119000{n:04d}"}).status_code for n in range(21)]
    assert codes[-1] == 429 and set(codes[:-1]) == {404}
    api = [limited.post("/api/v1/auth/token", json={"username": "head", "password": "x"})
           for _ in range(11)]
    assert [r.status_code for r in api] == [401] * 10 + [429]
    assert api[-1].get_json()["error"]["code"] == "too_many_requests"


def test_only_the_limited_routes_pay_for_the_limits(limited: FlaskClient) -> None:
    from web.limits import limiter

    # Their decorators check them (the tests above); the extension's check before every
    # request is off, which is right only while no limit covers a whole blueprint or app.
    assert limiter._check_request_limit not in limited.application.before_request_funcs[None]
    assert not limiter.limit_manager._blueprint_limits
    assert limited.get("/healthz").status_code == 200


def test_every_page_forbids_framing_sniffing_and_foreign_scripts(client: FlaskClient) -> None:
    for path in ("/login", "/portal/", "/api/v1/openapi.json", "/no-such-page"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self';" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_with_the_shared_storage_unreachable_each_worker_counts_alone(
        sqlite_core: Core, clock: Clock) -> None:
    app: Flask = create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
                             "RATELIMIT_ENABLED": True,
                             "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # nobody there
                             "DATABASE_URL": str(sqlite_core.db.url)}, core=sqlite_core)
    client = app.test_client()
    api = [client.post("/api/v1/auth/token", json={"username": "head", "password": "x"})
           for _ in range(11)]
    assert [r.status_code for r in api] == [401] * 10 + [429]
    # A Redis that does not answer at all is given up on after a second, not hung on.
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 1,
                                                      "socket_timeout": 1}
