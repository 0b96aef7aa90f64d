"""Production mode: /healthz, /metrics, one log line per request, 503 when the database is away."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import Core, Settings, bootstrap
from engine.db import make_engine
from engine.scheduler import due_pass
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive
from tests.web.conftest import Auth, Clock
from web import create_app
from web.metrics_database import DatabaseCollector
from web.production import (
    database_problem,
    default_workers,
    shared_state_problem,
    supervise,
)

VI_UNAVAILABLE = ("Hệ thống tạm thời không kết nối được cơ sở dữ liệu. "
                  "Vui lòng thử lại sau ít phút.")
EN_UNAVAILABLE = ("The system cannot reach its database for the moment. "
                  "Please try again in a few minutes.")


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name{labels}` in a Prometheus text page (None if absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


@pytest.fixture
def down(tmp_path: Path, clock: Clock) -> Flask:
    """The app on a database that cannot be opened (its folder does not exist)."""
    url = f"sqlite:///{tmp_path / 'missing' / 'motcua.sqlite3'}"
    core = bootstrap(Settings(database_url=url), db=make_engine(url))
    return create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
                       "DATABASE_URL": url}, core=core)


def test_healthz_says_ok_without_a_session_cookie(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert "Set-Cookie" not in response.headers


def test_healthz_is_503_with_the_error_class_when_the_database_is_away(down: Flask) -> None:
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "OperationalError"}
    assert response.headers["Retry-After"]


def test_pages_and_the_api_answer_503_in_the_users_language(down: Flask) -> None:
    client = down.test_client()
    page = client.get("/portal/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    assert VI_UNAVAILABLE in page.get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/portal/")
    assert english.status_code == 503 and EN_UNAVAILABLE in english.get_data(as_text=True)
    api = client.get("/api/v1/portal/procedures", headers={"Accept-Language": "en"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.get_json() == {"error": {"code": "database_unavailable",
                                        "message": EN_UNAVAILABLE}}


def test_a_logged_in_officer_gets_the_503_page_too(app: Flask, auth: Auth, client: FlaskClient,
                                                   tmp_path: Path) -> None:
    auth.login("reception")
    url = f"sqlite:///{tmp_path / 'gone' / 'motcua.sqlite3'}"
    app.extensions["motcua"] = bootstrap(Settings(database_url=url), db=make_engine(url))
    response = client.get("/")
    assert response.status_code == 503
    assert VI_UNAVAILABLE in response.get_data(as_text=True)


def test_one_log_line_per_request_without_query_string_or_password(
        client: FlaskClient, auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="motcua.requests"):
        client.get("/portal/?code=X&token=s3cret-token")
        auth.login("reception")
        client.get("/")
    lines = [r.getMessage() for r in caplog.records if r.name == "motcua.requests"]
    assert re.fullmatch(r"GET /portal/ 200 \d+\.\dms user=- addr=127\.0\.0\.1", lines[0])
    assert any(re.fullmatch(r"POST /login 302 \S+ user=\d+ addr=127\.0\.0\.1", line)
               for line in lines)
    assert re.fullmatch(r"GET / 200 \S+ user=\d+ addr=127\.0\.0\.1", lines[-1])
    assert not any("s3cret" in line or "password" in line for line in lines)


def test_metrics_count_requests_by_endpoint_and_the_work_in_the_database(
        app: Flask, client: FlaskClient, clock: Clock) -> None:
    core: Core = app.extensions["motcua"]
    receive(core, MONDAY_9AM)
    receive(core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=30)
    status = str(client.get("/portal/dossiers/NO-SUCH-CODE").status_code)
    before = _sample(client.get("/metrics").get_data(as_text=True), "motcua_http_requests_total",
                     method="GET", endpoint="portal.show", status=status)
    client.get("/portal/dossiers/NO-SUCH-CODE")
    client.get("/portal/dossiers/ANOTHER-CODE")
    page = client.get("/metrics")
    assert page.status_code == 200 and page.content_type.startswith("text/plain")
    text = page.get_data(as_text=True)
    # By the view's endpoint, whatever the path: one series for every dossier code.
    assert before is not None
    assert _sample(text, "motcua_http_requests_total", method="GET",
                   endpoint="portal.show", status=status) == before + 2
    assert _sample(text, "motcua_http_request_duration_seconds_count",
                   endpoint="portal.show") is not None
    assert "NO-SUCH-CODE" not in text
    assert _sample(text, "motcua_database_up") == 1
    assert _sample(text, "motcua_dossiers_open", status="4") == 2
    assert _sample(text, "motcua_dossiers_open", status="1") == 0
    assert (_sample(text, "motcua_due_items", state="overdue") or 0) >= 2
    assert _sample(text, "motcua_due_items", state="pending") is not None
    assert (_sample(text, "motcua_scheduler_lag_seconds") or 0) > 0
    assert _sample(text, "motcua_escalations_open", level="1") is None

    due_pass(core, clock=lambda: clock.now)  # raises the escalations of the overdue steps
    after = client.get("/metrics").get_data(as_text=True)
    assert (_sample(after, "motcua_escalations_open", level="1") or 0) >= 2
    assert _sample(after, "motcua_due_items", state="overdue") == 0
    assert _sample(after, "motcua_scheduler_lag_seconds") == 0


def test_scheduler_lag_is_the_age_of_the_oldest_due_item_not_handled(
        app: Flask, client: FlaskClient, clock: Clock) -> None:
    core: Core = app.extensions["motcua"]
    assert _sample(client.get("/metrics").get_data(as_text=True),
                   "motcua_scheduler_lag_seconds") == 0
    receive(core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=60)
    first = _sample(client.get("/metrics").get_data(as_text=True), "motcua_scheduler_lag_seconds")
    clock.now += timedelta(seconds=90)
    second = _sample(client.get("/metrics").get_data(as_text=True),
                     "motcua_scheduler_lag_seconds")
    assert first is not None and first > 0 and second == first + 90


def test_the_database_gauges_count_open_dossiers_due_items_escalations_and_lag(
        core: Core) -> None:
    receive(core, MONDAY_9AM)
    later = MONDAY_9AM + timedelta(days=30)

    def gauges(now: datetime) -> dict[tuple[str, tuple[str, ...]], float]:
        return {(sample.name, tuple(sample.labels.values())): sample.value
                for metric in DatabaseCollector(core, now).collect()
                for sample in metric.samples}

    fresh = gauges(MONDAY_9AM)
    assert fresh[("motcua_database_up", ())] == 1
    assert fresh[("motcua_dossiers_open", ("4",))] == 1
    assert fresh[("motcua_due_items", ("overdue",))] == 0
    assert fresh[("motcua_due_items", ("pending",))] > 0
    assert fresh[("motcua_scheduler_lag_seconds", ())] == 0
    late = gauges(later)
    assert late[("motcua_due_items", ("overdue",))] == fresh[("motcua_due_items", ("pending",))]
    assert late[("motcua_scheduler_lag_seconds", ())] > 24 * 3600
    due_pass(core, clock=lambda: later)
    handled = gauges(later)
    assert handled[("motcua_scheduler_lag_seconds", ())] == 0
    assert handled[("motcua_escalations_open", ("1",))] >= 1


def test_metrics_are_for_this_host_or_the_bearer_of_the_token(app: Flask,
                                                              client: FlaskClient) -> None:
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=remote).status_code == 404
    # Through a reverse proxy on this host the address is local, but the client is not.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    app.config["METRICS_TOKEN"] = "t0ken"
    assert client.get("/metrics", environ_base=remote).status_code == 404
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    allowed = client.get("/metrics", environ_base=remote,
                         headers={"Authorization": "Bearer t0ken"})
    assert allowed.status_code == 200 and "motcua_database_up" in allowed.get_data(as_text=True)


def test_metrics_still_answer_when_the_database_is_away(down: Flask) -> None:
    page = down.test_client().get("/metrics")
    assert page.status_code == 200
    assert _sample(page.get_data(as_text=True), "motcua_database_up") == 0


def test_production_refuses_to_start_without_a_database_url() -> None:
    unset = database_problem({})
    assert unset is not None and unset[1] is True
    sqlite = database_problem({"DATABASE_URL": "sqlite:///x.sqlite3"})
    assert sqlite is not None and sqlite[1] is False
    assert database_problem({"DATABASE_URL": "postgresql+psycopg://db/motcua"}) is None


def test_production_warns_when_workers_would_count_rate_limits_alone() -> None:
    for workers in ({}, {"MOTCUA_WORKERS": "5"}, {"WEB_CONCURRENCY": "3"}):
        warning = shared_state_problem(workers)
        assert warning is not None and "MOTCUA_RATELIMIT_STORAGE" in warning
    assert shared_state_problem({"MOTCUA_WORKERS": "1"}) is None
    assert shared_state_problem({"MOTCUA_RATELIMIT_STORAGE": "redis://127.0.0.1:6379"}) is None


@pytest.mark.parametrize(("url", "workers"), [
    ("", 3),  # the demo's SQLite file
    ("sqlite:////srv/motcua/motcua.sqlite3", 3),
    ("postgresql+psycopg://motcua@127.0.0.1:5432/motcua", 3),
    ("postgresql+psycopg://motcua@localhost/motcua", 3),
    ("postgresql+psycopg://motcua@[::1]/motcua", 3),
    ("postgresql+psycopg:///motcua", 3),  # libpq's default Unix socket
    ("postgresql+psycopg://motcua@/motcua?host=/run/postgresql", 3),
    ("postgresql+psycopg://motcua@db.example/motcua", 5),
    ("postgresql+psycopg://motcua@10.0.0.5:5432/motcua", 5),
    ("postgresql+psycopg://motcua@/motcua?host=/run/postgresql,db.example", 5),
    ("not a url", 5),  # the application reports it when it connects
])
def test_workers_default_to_cores_plus_one_beside_a_local_database(url: str,
                                                                    workers: int) -> None:
    assert default_workers({"DATABASE_URL": url}, cores=2) == workers


def test_a_worker_count_given_wins_over_the_default() -> None:
    local = {"DATABASE_URL": "postgresql+psycopg://motcua@127.0.0.1/motcua"}
    assert default_workers({**local, "MOTCUA_WORKERS": "7"}, cores=2) == 7
    assert default_workers({**local, "WEB_CONCURRENCY": "4"}, cores=2) == 4
    assert default_workers({}, cores=8) == 9


def test_gunicorn_freezes_the_preloaded_objects_before_forking_a_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import runpy

    from web.production import GUNICORN_CONFIG

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config's own is kept
    settings = runpy.run_path(str(GUNICORN_CONFIG))
    assert settings["preload_app"] is True
    try:
        settings["pre_fork"](None, None)
        assert gc.get_freeze_count() > 10_000  # the application and its libraries
    finally:
        gc.unfreeze()


def test_the_production_app_loads_the_holidays_before_gunicorn_forks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    from datetime import UTC, date

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never-opened.sqlite3'}")
    monkeypatch.setenv("MOTCUA_SECRET_KEY", "test")
    core = importlib.import_module("web.wsgi").production_app({}).extensions["motcua"]
    # The calendar without overrides is built, with this year's holidays, as every worker
    # needs it: the database was not needed for that.
    [calendar] = core._calendars.values()
    assert datetime.now(UTC).date() in calendar._working
    assert not (tmp_path / "never-opened.sqlite3").exists()
    core.warm_up(date(2026, 9, 2))
    assert calendar.is_working_day(date(2026, 9, 2)) is False  # National Day
    assert list(core._calendars.values()) == [calendar]


def test_when_one_process_ends_the_supervisor_stops_the_others(tmp_path: Path) -> None:
    import sys

    ready, stopped = tmp_path / "ready", tmp_path / "stopped"
    # Waits for SIGTERM; says when its handler is in place.
    waits = [sys.executable, "-c", "import signal, sys, time\n"
             f"signal.signal(signal.SIGTERM, lambda *_: (open({str(stopped)!r}, 'w'), "
             f"sys.exit(0)))\nopen({str(ready)!r}, 'w').close()\ntime.sleep(60)"]
    # Fails once the other one is ready.
    fails = [sys.executable, "-c", "import os, time\n"
             f"while not os.path.exists({str(ready)!r}): time.sleep(0.01)\nraise SystemExit(3)"]
    assert supervise([waits, fails], stop_seconds=10) == 1
    assert stopped.exists()
