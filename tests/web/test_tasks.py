"""Officers see only their roles' tasks, claim them and complete their forms."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive
from tests.web.conftest import Auth, Clock

CHECK = {"dossier_complete": "true", "residence_history": "one_province",
         "needs_verification": "false"}


def _task_ids(page: str) -> list[str]:
    import re

    return re.findall(r'data-task-id="([^"]+)"', page)


def test_each_officer_sees_only_the_tasks_of_their_role(client: FlaskClient, auth: Auth,
                                                        sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("head")
    assert _task_ids(client.get("/").get_data(as_text=True)) == []
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    assert len(_task_ids(client.get("/").get_data(as_text=True))) == 1


def test_a_specialist_claims_and_completes_a_task(client: FlaskClient, auth: Auth,
                                                   sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert dossier.code in page and 'name="dossier_complete"' in page
    auth.post(f"/tasks/{task_id}/claim", {}, page=f"/tasks/{task_id}")
    clock.now += timedelta(hours=1)
    response = auth.post(f"/tasks/{task_id}/complete", CHECK, page=f"/tasks/{task_id}")
    assert response.status_code == 302  # type: ignore[attr-defined]
    # The specialist's next step (the draft) replaces the check in the list.
    assert task_id not in _task_ids(client.get("/").get_data(as_text=True))
    history = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "specialist" in history


def test_a_form_with_errors_shows_a_message_by_each_field(client: FlaskClient, auth: Auth,
                                                          sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    response = auth.post(f"/tasks/{task_id}/complete", {"dossier_complete": "true"},
                         page=f"/tasks/{task_id}")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="residence_history"' in page
    assert 'data-field-error="needs_verification"' in page
    assert 'data-field-error="dossier_complete"' not in page


def test_another_roles_task_page_is_not_shown(client: FlaskClient, auth: Auth,
                                              sqlite_core: Core, app: Flask) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    auth.post("/logout", {}, page="/")
    auth.login("leader")
    assert client.get(f"/tasks/{task_id}").status_code == 403


def test_the_supervisor_sees_an_escalation_once_the_deadline_passes(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("supervisor")
    assert 'data-testid="no-escalations"' in client.get("/supervise/").get_data(as_text=True)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)  # Friday 27/11 09:05
    run_due(sqlite_core, clock.now, "test")
    run_due(sqlite_core, clock.now + timedelta(minutes=1), "test")
    page = client.get("/supervise/").get_data(as_text=True)
    assert page.count("data-escalation-id=") == 1 and dossier.code in page
    assert "27/11/2026 09:00" in page


def test_the_supervisor_acknowledges_an_alert_and_reassigns_the_late_step(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    from engine.services import accounts

    other = accounts.create_user(sqlite_core, username="specialist2", password="pw",
                                 full_name="Chuyên viên Hai", roles=["specialist"])
    dossier = receive(sqlite_core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)
    run_due(sqlite_core, clock.now, "test")
    auth.login("supervisor")
    page = client.get("/supervise/?stage=overdue").get_data(as_text=True)
    assert dossier.code in page and 'data-testid="counts-procedure"' in page
    import re

    [escalation_id] = re.findall(r'data-escalation-id="(\d+)"', page)
    [task_id] = re.findall(r'/supervise/tasks/([^/]+)/reassign', page)
    auth.post(f"/supervise/tasks/{task_id}/reassign", {"officer": str(other.id)},
              page="/supervise/")
    auth.post(f"/supervise/escalations/{escalation_id}/acknowledge",
              {"note": "Đã giao cho chuyên viên khác"}, page="/supervise/")
    page = client.get("/supervise/").get_data(as_text=True)
    assert 'data-testid="no-escalations"' in page
    assert "Chuyên viên Hai" in page  # the workload shows the reassigned step
    history = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "Bước xử lý được người giám sát giao lại" in history


def test_an_officer_sees_the_unread_count_and_reads_the_notifications(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)  # past the check's deadline
    run_due(sqlite_core, clock.now, "test")
    auth.login("specialist")
    assert 'data-testid="unread">2<' in client.get("/").get_data(as_text=True)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count(dossier.code) >= 2 and "Sắp đến hạn" in page and "Đã quá hạn" in page
    assert 'data-testid="unread"' not in client.get("/").get_data(as_text=True)
