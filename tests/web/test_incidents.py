"""The incidents page, its retry button, the dossier page's banner and the JSON endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine.bootstrap import Core
from engine.models import Dossier, ProcessInstance
from engine.services import catalogue, dossiers, incidents
from engine.services.incidents import ProcedureIncident
from engine.specs import read_package
from tests.conftest import MONDAY_9AM
from tests.engine.walk import APPLICANT, complete, ready_tasks, user
from tests.web.conftest import Auth

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "scripted_review"


def _receive(core: Core) -> str:
    catalogue.deploy(core, read_package(FIXTURE), "test", MONDAY_9AM)
    return dossiers.receive_dossier(core, procedure_code="scripted_review", applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM).code


def _stopped(core: Core) -> str:
    code = _receive(core)
    with pytest.raises(ProcedureIncident):
        complete(core, code, "review", MONDAY_9AM, {"copies": 0})
    return code


def _correct(core: Core, code: str) -> None:
    with core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        instance = uow.session.get_one(ProcessInstance, dossier.instance_id)
    workflow = core.runtime.restore(instance.state)
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        if task.task_spec.bpmn_id == "review":
            task.data["copies"] = 2
    with core.db.begin() as conn:
        conn.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                     .values(state=core.runtime.dump(workflow)))


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_the_officer_is_told_the_step_was_saved_but_the_procedure_stopped(
        sqlite_core: Core, client: FlaskClient, auth: Auth) -> None:
    code = _receive(sqlite_core)
    [task] = ready_tasks(sqlite_core, code)
    auth.login("specialist")
    response = auth.post(f"/tasks/{task.id}/complete", {"copies": "0"}, page=f"/tasks/{task.id}")
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/tasks/").get_data(as_text=True)
    assert "Tính lệ phí mỗi bản" in page and "ZeroDivisionError" in page
    assert [t.state for t in dossiers.get_dossier(sqlite_core, code).tasks] == ["completed"]


def test_the_list_shows_stopped_dossiers_and_a_retry_clears_them(
        sqlite_core: Core, client: FlaskClient, auth: Auth) -> None:
    code = _stopped(sqlite_core)
    auth.login("specialist")
    assert client.get("/incidents/").status_code == 403
    auth.client.get("/logout")
    auth.login("designer")
    page = client.get("/incidents/").get_data(as_text=True)
    assert code in page and "compute_fee" in page and "ZeroDivisionError" in page
    response = auth.post(f"/incidents/{code}/retry", {}, page="/incidents/")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert "ZeroDivisionError" in client.get("/incidents/").get_data(as_text=True)
    _correct(sqlite_core, code)
    auth.post(f"/incidents/{code}/retry", {}, page="/incidents/")
    page = client.get("/incidents/").get_data(as_text=True)
    assert 'data-testid="no-incidents"' in page and code in page  # flashed: runs again
    assert [t.bpmn_id for t in ready_tasks(sqlite_core, code)] == ["approve"]


def test_the_dossier_page_shows_a_red_banner_while_stopped(
        sqlite_core: Core, client: FlaskClient, auth: Auth) -> None:
    code = _stopped(sqlite_core)
    auth.login("supervisor")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-testid="incident-banner"' in page and "ZeroDivisionError" in page
    _correct(sqlite_core, code)
    incidents.retry_incident(sqlite_core, user(sqlite_core, "admin"), code, MONDAY_9AM)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-testid="incident-banner"' not in page


def test_the_api_lists_incidents_and_retries(sqlite_core: Core, client: FlaskClient) -> None:
    code = _receive(sqlite_core)
    [task] = ready_tasks(sqlite_core, code)
    specialist, designer = _token(client, "specialist"), _token(client, "designer")
    response = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"copies": 0}},
                           headers=specialist)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "incident"
    assert client.get("/api/v1/incidents", headers=specialist).status_code == 403
    [row] = client.get("/api/v1/incidents", headers=designer).get_json()
    assert row["dossier"] == code and "compute_fee" in row["error"]
    assert (row["version"], row["newer_version"]) == (1, None)
    failed = client.post(f"/api/v1/dossiers/{code}/incident/retry", headers=designer)
    assert failed.status_code == 200 and failed.get_json()["cleared"] is False
    _correct(sqlite_core, code)
    cleared = client.post(f"/api/v1/dossiers/{code}/incident/retry", headers=designer)
    assert cleared.get_json() == {"dossier": code, "cleared": True, "error": None,
                                  "newer_version": None}
    again = client.post(f"/api/v1/dossiers/{code}/incident/retry", headers=designer)
    assert again.status_code == 409
    assert client.get("/api/v1/incidents", headers=designer).get_json() == []
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/incidents", "/dossiers/{code}/incident/retry"} <= set(paths)


def test_the_incident_events_have_labels(sqlite_core: Core, client: FlaskClient,
                                         auth: Auth) -> None:
    code = _stopped(sqlite_core)
    auth.login("supervisor")
    client.get("/lang/en")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "The procedure stopped on an error" in page  # the event's label, not its kind
