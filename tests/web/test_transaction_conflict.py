"""A transaction PostgreSQL rolled back for colliding with another (a deadlock) is a 409 to
do again, not a database outage."""

from __future__ import annotations

import psycopg.errors
import pytest
from flask import Flask
from sqlalchemy import exc

from web.health import is_outage, is_transaction_conflict


def _deadlock() -> exc.OperationalError:
    """What SQLAlchemy raises when PostgreSQL breaks a deadlock by rolling one side back."""
    return exc.OperationalError("UPDATE process_instance ...", {},
                                psycopg.errors.DeadlockDetected("deadlock detected"))


@pytest.fixture
def colliding(app: Flask) -> Flask:
    """The app with one page and one endpoint whose transaction meets a deadlock."""

    def collide() -> str:
        raise _deadlock()

    app.add_url_rule("/api/v1/test-collision", "api_collision", collide, methods=["GET"])
    app.add_url_rule("/test-collision", "page_collision", collide, methods=["GET"])
    return app


def test_a_deadlock_is_a_conflict_and_not_an_outage() -> None:
    assert is_transaction_conflict(_deadlock()) and not is_outage(_deadlock())
    refused = exc.OperationalError("SELECT 1", {}, psycopg.errors.ConnectionTimeout("timeout"))
    assert is_outage(refused) and not is_transaction_conflict(refused)


def test_the_api_answers_409_and_a_page_goes_back_with_the_message(colliding: Flask) -> None:
    client = colliding.test_client()
    answer = client.get("/api/v1/test-collision", headers={"Accept-Language": "en"})
    assert answer.status_code == 409
    assert answer.get_json()["error"] == {
        "code": "conflict",
        "message": "The dossier was changed by someone else meanwhile. Reload it and try again."}
    page = client.get("/test-collision", headers={"Referer": "http://localhost/tasks/x"})
    assert page.status_code == 302 and page.headers["Location"] == "http://localhost/tasks/x"
    shown = client.get("/login").get_data(as_text=True)
    assert "Hồ sơ vừa được người khác thay đổi. Vui lòng tải lại và thử lại." in shown
