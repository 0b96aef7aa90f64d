"""Scope and direct object references: what the authorization matrix cannot show by roles.

Officers act only on the tasks and dossiers of their roles and departments, whatever code or
id they type; a citizen reaches only the dossier they proved is theirs; supervisors give work
only to officers who may do it; only designers publish; only administrators change the
calendar and the escalation policies; a token acts for its owner alone.
"""

from __future__ import annotations

import io
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.bootstrap import Core
from engine.demo import _scan, step_data
from engine.models import (
    Apology,
    CalendarOverride,
    Comment,
    Dossier,
    Escalation,
    Notification,
    ProcedureVersion,
    Task,
    User,
)
from engine.services import catalogue, dossiers, reception, supervision, tasks
from engine.services.escalations import run_due
from engine.services.online_submission import Submission, submit_online
from engine.services.portal import Upload
from engine.specs import read_package
from tests.conftest import CATALOGUE, MONDAY_9AM, at, password_hash
from tests.web.conftest import Clock
from web import create_app

JR = "judicial_record_certificate"
PDF = _scan("Scan")
OWN, OTHER = "bo_tro", "tu_phap"  # two divisions; the departmental version routes to OTHER
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}
CITIZEN = {"name": "Đỗ Thu Trang", "id_number": "001195007788", "phone": "0916222333",
           "address": "15 Phan Đình Phùng, Hà Nội", "birth_date": "1995-03-08"}
NEIGHBOUR = {**CITIZEN, "name": "Ngô Quang Vinh", "id_number": "038092004455"}


@dataclass
class World:
    """The app, and the ids the tests aim at."""

    app: Flask
    core: Core
    users: dict[str, int]
    open_code: str        # on the catalogue's version: lanes without department
    open_task: str        # its specialist's step
    open_file: int
    dept_code: str        # on the departmental version: specialist and head in OTHER
    dept_task: str
    dept_file: int

    def client(self, username: str | None = None) -> FlaskClient:
        """A browser, logged in as `username` (None: anonymous)."""
        client = self.app.test_client()
        if username:
            response = client.post("/login", data={"username": username, "password": "pw"})
            assert response.status_code == 302
        return client

    def token(self, username: str) -> dict[str, str]:
        """The Authorization header of a fresh token of `username`."""
        response = self.app.test_client().post("/api/v1/auth/token", json={
            "username": username, "password": "pw"})
        assert response.status_code == 201
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    def task(self, task_id: str) -> Task:
        """The task as stored now."""
        with self.core.uow() as uow:
            return uow.session.get_one(Task, task_id)


def _departmental_version(core: Core, folder: Path) -> None:
    """Deploy a version of the procedure whose specialist and head lanes are in OTHER."""
    copy = folder / JR
    shutil.copytree(CATALOGUE / JR, copy)
    toml = copy / "procedure.toml"
    text = toml.read_text(encoding="utf-8")
    for role in ("specialist", "head"):
        text = text.replace(f'{{ role = "{role}",', f'{{ role = "{role}", department = '
                                                     f'"{OTHER}",')
    toml.write_text(text, encoding="utf-8")
    catalogue.deploy(core, read_package(copy), "designer", MONDAY_9AM)


def _receive_with_file(core: Core) -> tuple[str, str, int]:
    code = dossiers.receive_dossier(core, procedure_code=JR, applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM).code
    file_id = reception.add_file(core, code, io.BytesIO(PDF), "giay-to.pdf",
                                 actor="reception", now=MONDAY_9AM, document_index=0).id
    with core.uow() as uow:
        task_id = uow.session.scalars(select(Task.id).join(Dossier).where(
            Dossier.code == code, Task.state == "ready")).one()
    return code, task_id, file_id


@pytest.fixture
def world(core: Core, tmp_path: Path) -> World:
    """Officers of two divisions, a dossier open to all and one routed to OTHER."""
    with core.uow() as uow:
        for name, role, department in (("specialist_own", "specialist", OWN),
                                       ("specialist_other", "specialist", OTHER),
                                       ("head_own", "head", OWN), ("head_other", "head", OTHER)):
            uow.session.add(User(username=name, password_hash=password_hash(),
                                 full_name=name, roles=role, department=department,
                                 active=True))
        uow.commit()
    open_code, open_task, open_file = _receive_with_file(core)
    _departmental_version(core, tmp_path)
    dept_code, dept_task, dept_file = _receive_with_file(core)
    with core.uow() as uow:
        users = {u.username: u.id for u in uow.session.scalars(select(User))}
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "CLOCK": Clock(MONDAY_9AM), "DATABASE_URL": str(core.db.url)}, core=core)
    return World(app, core, users, open_code, open_task, open_file, dept_code, dept_task,
                 dept_file)


# --- tasks of another department or role --------------------------------------------------


def test_the_departmental_task_is_in_its_department(world: World) -> None:
    assert world.task(world.dept_task).department == OTHER
    assert world.task(world.open_task).department is None


def test_an_officer_of_another_department_cannot_see_claim_complete_or_attach_to_a_task(
        world: World) -> None:
    page = world.client("specialist_own")
    task = world.dept_task
    assert page.get(f"/tasks/{task}").status_code == 403
    assert page.post(f"/tasks/{task}/claim").status_code == 403
    assert page.post(f"/tasks/{task}/complete", data={"dossier_complete": "true"}
                     ).status_code == 403
    assert page.post(f"/tasks/{task}/comments", data={"body": "xem"}).status_code == 403
    assert page.post(f"/tasks/{task}/files", data={"file": (io.BytesIO(PDF), "a.pdf")}
                     ).status_code == 403
    api = world.token("specialist_own")
    client = world.app.test_client()
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=api).status_code == 403
    assert client.post(f"/api/v1/tasks/{task}/complete", headers=api, json={
        "data": step_data("check_records", "2026-11-23")}).status_code == 403
    assert client.post(f"/api/v1/tasks/{task}/attachments", headers=api, data={
        "file": (io.BytesIO(PDF), "a.pdf")}).status_code == 403
    assert world.task(task).claimed_by is None and world.task(task).state == "ready"
    # the same role in the task's department may
    assert world.client("specialist_other").get(f"/tasks/{task}").status_code == 200


def test_a_specialist_cannot_act_on_a_heads_task(world: World) -> None:
    with world.core.uow() as uow:
        specialist = uow.session.get_one(User, world.users["specialist"])
    tasks.complete_task(world.core, specialist, world.open_task,
                        step_data("check_records", "2026-11-23"), MONDAY_9AM)
    with world.core.uow() as uow:
        drafting = uow.session.scalars(select(Task).join(Dossier).where(
            Dossier.code == world.open_code, Task.state == "ready")).one()
    tasks.complete_task(world.core, specialist, drafting.id,
                        step_data("draft_certificate", "2026-11-23"), MONDAY_9AM)
    with world.core.uow() as uow:
        review = uow.session.scalars(select(Task).join(Dossier).where(
            Dossier.code == world.open_code, Task.state == "ready")).one()
    assert review.role == "head"
    page = world.client("specialist")
    assert page.get(f"/tasks/{review.id}").status_code == 403
    assert page.post(f"/tasks/{review.id}/complete", data={"review_approved": "true"}
                     ).status_code == 403
    api = world.token("specialist")
    client = world.app.test_client()
    assert client.post(f"/api/v1/tasks/{review.id}/claim", headers=api).status_code == 403
    assert client.post(f"/api/v1/tasks/{review.id}/complete", headers=api, json={
        "data": {"review_approved": True}}).status_code == 403
    assert world.task(review.id).state == "ready"
    assert world.client("head").get(f"/tasks/{review.id}").status_code == 200


# --- dossiers and files of another department ---------------------------------------------

DOSSIER_PAGES = ["/dossiers/{code}", "/dossiers/{code}/tracking", "/dossiers/{code}/diagram.bpmn",
                 "/dossiers/{code}/slip.pdf", "/dossiers/{code}/files/{file}",
                 "/tasks/files/{code}/{file}"]


def test_an_officer_of_another_department_cannot_read_the_dossier_pages(world: World) -> None:
    refused = world.client("specialist_own")
    allowed = {name: world.client(name) for name in ("specialist_other", "head_other",
                                                      "reception", "supervisor")}
    for path in DOSSIER_PAGES:
        url = path.format(code=world.dept_code, file=world.dept_file)
        with refused.get(url) as response:
            assert response.status_code == 403, url
        for name, client in allowed.items():
            with client.get(url) as response:
                assert response.status_code == 200, (url, name)


def test_the_dossier_list_shows_only_the_dossiers_of_the_officers_department(
        world: World) -> None:
    own = world.client("specialist_own").get("/dossiers/").get_data(as_text=True)
    assert world.open_code in own and world.dept_code not in own
    other = world.client("specialist_other").get("/dossiers/").get_data(as_text=True)
    assert world.open_code in other and world.dept_code in other


DOSSIER_API = [
    "/api/v1/dossiers/{code}",
    "/api/v1/dossiers/{code}/tracking",
    "/api/v1/dossiers/{code}/comments",
    "/api/v1/dossiers/{code}/attachments",
    "/api/v1/dossiers/{code}/attachments/{file}",
    "/api/v1/dossiers/{code}/slip.pdf",
    "/api/v1/dossiers/{code}/notices",
]


@pytest.mark.parametrize("path", DOSSIER_API)
def test_an_officer_of_another_department_cannot_read_the_dossier_through_the_api(
        world: World, path: str) -> None:
    url = path.format(code=world.dept_code, file=world.dept_file)
    client = world.app.test_client()
    allowed = client.get(url, headers=world.token("specialist_other"))
    assert allowed.status_code == 200
    allowed.close()
    refused = client.get(url, headers=world.token("specialist_own"))
    refused.close()
    assert refused.status_code == 403


def test_an_officer_of_another_department_cannot_comment_on_the_dossier(world: World) -> None:
    client = world.app.test_client()
    refused = client.post(f"/api/v1/dossiers/{world.dept_code}/comments",
                          headers=world.token("specialist_own"), json={"body": "xem"})
    assert refused.status_code == 403
    assert client.post(f"/api/v1/dossiers/{world.dept_code}/comments",
                       headers=world.token("specialist_other"), json={"body": "xem"}
                       ).status_code == 201


def test_a_file_of_one_dossier_is_refused_through_another_dossiers_address(
        world: World) -> None:
    # Both dossiers are open to the reception desk: only the pairing is wrong.
    page = world.client("reception")
    wrong = f"{world.open_code}/files/{world.dept_file}"
    assert page.get(f"/dossiers/{wrong}").status_code == 404
    assert page.get(f"/tasks/files/{world.open_code}/{world.dept_file}").status_code == 404
    other, notice = reception.request_supplement_at_desk(
        world.core, procedure_code=JR, applicant={**APPLICANT, "birth_date": "1989-05-01"},
        channel="in_person", documents_received=[{"index": 0, "copies": 1}],
        note="Bản sao CCCD", actor="reception", now=MONDAY_9AM)
    notice_path = f"/dossiers/{world.open_code}/notices/{notice.id}.pdf"
    assert page.get(notice_path).status_code == 404
    assert world.app.test_client().get(f"/api/v1{notice_path}", headers=world.token(
        "reception")).status_code == 404
    assert page.get(f"/dossiers/{other.code}/notices/{notice.id}.pdf").status_code == 200
    assert world.app.test_client().get(
        f"/api/v1/dossiers/{world.open_code}/attachments/{world.dept_file}",
        headers=world.token("reception")).status_code == 404
    right = page.get(f"/dossiers/{world.open_code}/files/{world.open_file}")
    assert right.status_code == 200


def test_an_apology_letter_of_another_department_is_refused(world: World) -> None:
    with world.core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(
            Dossier.code == world.dept_code)).one()
        letter = Apology(dossier_id=dossier.id, reason="Cần xác minh", state="approved",
                         new_appointment_at=dossier.appointment_at,
                         previous_appointment_at=dossier.appointment_at,
                         drafted_by=world.users["reception"], drafted_at=MONDAY_9AM)
        uow.session.add(letter)
        uow.commit()
        letter_id = letter.id
    assert world.client("specialist_own").get(
        f"/apologies/{letter_id}/letter").status_code == 403
    assert world.client("head_own").get(f"/apologies/new/{world.dept_code}").status_code == 403
    assert world.client("specialist_other").get(
        f"/apologies/{letter_id}/letter").status_code == 200


# --- the citizen's proof of ownership -----------------------------------------------------


def _submit(core: Core, applicant: dict[str, str]) -> tuple[str, int]:
    dossier = submit_online(core, Submission(
        procedure_code=JR, applicant=applicant,
        documents={i: [Upload(io.BytesIO(PDF), f"giay-to-{i}.pdf")] for i in range(3)},
        return_method="in_person", consent=True), MONDAY_9AM)
    return dossier.code, dossiers.get_dossier(core, dossier.code).attachments[0].id


def test_a_citizen_cannot_reach_another_dossier_by_changing_the_code_or_ids(
        world: World) -> None:
    mine, my_file = _submit(world.core, CITIZEN)
    theirs, their_file = _submit(world.core, NEIGHBOUR)
    staff_file = reception.add_file(world.core, mine, io.BytesIO(PDF), "noi-bo.pdf",
                                    actor="reception", now=MONDAY_9AM).id
    browser = world.app.test_client()
    assert browser.post("/portal/lookup", data={"code": mine, "id_number": CITIZEN[
        "id_number"]}).status_code == 302
    assert browser.get(f"/portal/dossiers/{mine}").status_code == 200
    with browser.get(f"/portal/dossiers/{mine}/files/{my_file}") as download:
        assert download.status_code == 200
    for path in (f"/portal/dossiers/{theirs}", f"/portal/submitted/{theirs}",
                 f"/portal/dossiers/{theirs}/rating",
                 f"/portal/dossiers/{theirs}/files/{their_file}"):
        response = browser.get(path)
        assert response.status_code == 302 and "/portal/lookup" in response.location, path
    for path in (f"/portal/dossiers/{theirs}/supplement", f"/portal/dossiers/{theirs}/rating"):
        assert "/portal/lookup" in browser.post(path, data={"note": "x"}).location
    # their file, or the officers' own file, through my dossier's address
    assert browser.get(f"/portal/dossiers/{mine}/files/{their_file}").status_code == 404
    assert browser.get(f"/portal/dossiers/{mine}/files/{staff_file}").status_code == 404
    api = world.app.test_client()
    proof = {"id_number": CITIZEN["id_number"]}
    assert api.post("/api/v1/portal/lookup", json={"code": theirs, **proof}).status_code == 404
    assert api.post(f"/api/v1/portal/dossiers/{theirs}/supplement",
                    data={**proof, "note": "x"}).status_code == 404
    assert api.post(f"/api/v1/portal/dossiers/{theirs}/rating",
                    json={**proof, "overall": 5}).status_code == 404
    looked_up = api.post("/api/v1/portal/lookup", json={"code": mine, **proof}).get_json()
    assert [f["id"] for f in looked_up["files"]] == [
        f.id for f in dossiers.get_dossier(world.core, mine).attachments
        if f.uploaded_by is None]
    assert staff_file not in [f["id"] for f in looked_up["files"]]


# --- supervisors reassign within their scope ----------------------------------------------


def test_a_supervisor_reassigns_only_to_an_officer_who_may_do_the_step(world: World) -> None:
    page = world.client("supervisor")
    api, client = world.token("supervisor"), world.app.test_client()
    task = world.dept_task
    for officer in ("head_other", "specialist_own", "designer"):  # wrong role or department
        page.post(f"/supervise/tasks/{task}/reassign", data={"officer": world.users[officer]})
        assert world.task(task).claimed_by is None, officer
        assert client.post(f"/api/v1/tasks/{task}/reassign", headers=api, json={
            "officer_id": world.users[officer]}).status_code == 403, officer
    assert client.post(f"/api/v1/tasks/{task}/reassign", headers=api, json={
        "officer_id": world.users["specialist_other"]}).status_code == 200
    assert world.task(task).claimed_by == world.users["specialist_other"]


def test_a_head_reassigns_only_the_steps_of_their_own_department(world: World) -> None:
    client = world.app.test_client()
    response = client.post(f"/api/v1/tasks/{world.dept_task}/reassign",
                           headers=world.token("head_own"),
                           json={"officer_id": world.users["specialist_other"]})
    assert response.status_code == 403
    assert world.task(world.dept_task).claimed_by is None


def test_a_head_acknowledges_only_the_alerts_of_their_own_department(world: World) -> None:
    step = world.task(world.dept_task)
    with world.core.uow() as uow:
        alert = Escalation(dossier_id=step.dossier_id, kind="step", ref=step.id,
                           task_id=step.id, level=2, role="head", due_at=step.created_at,
                           raised_at=step.created_at)
        uow.session.add(alert)
        uow.commit()
        alert_id = alert.id
    client = world.app.test_client()
    path = f"/api/v1/escalations/{alert_id}/acknowledge"
    refused = client.post(path, headers=world.token("head_own"), json={"note": "seen"})
    assert refused.status_code == 403
    allowed = client.post(path, headers=world.token("head_other"), json={"note": "seen"})
    assert allowed.status_code == 200


def _alerts_of_both_divisions(world: World) -> dict[str, int]:
    """A step alert and an appointment alert on each dossier: {kind + dossier: id}."""
    found = {}
    with world.core.uow() as uow:
        for label, code, task_id in (("open", world.open_code, world.open_task),
                                     ("dept", world.dept_code, world.dept_task)):
            dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
            step = Escalation(dossier_id=dossier.id, kind="step", ref=task_id, task_id=task_id,
                              level=2, role="head", due_at=MONDAY_9AM, raised_at=MONDAY_9AM)
            appointment = Escalation(dossier_id=dossier.id, kind="appointment",
                                     ref="appointment", task_id=None, level=2, role="leader",
                                     due_at=MONDAY_9AM, raised_at=MONDAY_9AM)
            uow.session.add_all([step, appointment])
            uow.session.flush()
            found[f"step {label}"], found[f"appointment {label}"] = step.id, appointment.id
        uow.commit()
    return found


def test_a_heads_alert_lists_show_only_their_departments_alerts(world: World) -> None:
    ids = _alerts_of_both_divisions(world)
    client = world.app.test_client()
    seen = {}
    for name in ("head_own", "head_other", "supervisor"):
        answer = client.get("/api/v1/escalations", headers=world.token(name))
        assert answer.status_code == 200
        seen[name] = {alert["id"] for alert in answer.get_json()["escalations"]}
    # head_own's department has no lane in the departmental version: none of its alerts.
    assert seen["head_own"] == {ids["step open"], ids["appointment open"]}
    assert seen["head_other"] == seen["supervisor"] == set(ids.values())
    page = world.client("head_own").get("/supervise/")
    assert page.status_code == 200
    assert world.open_code in page.text and world.dept_code not in page.text
    assert world.dept_code in world.client("head_other").get("/supervise/").text
    scope = supervision.scope_of(world.core, _user(world, "head_own"))
    counts = supervision.alert_counts(world.core, scope)
    assert sum(sum(c.values()) for c in counts["role"].values()) == 2
    assert supervision.alert_page(world.core, scope=scope).total == 2
    assert supervision.alert_page(world.core).total == 4


def test_a_heads_workload_table_shows_their_departments_officers(world: World) -> None:
    names = {row[0] for row in supervision.workload(world.core, MONDAY_9AM,
                                                    _user(world, "head_own"))}
    assert {"specialist_own", "head_own"} <= names
    assert not {"specialist_other", "head_other"} & names
    everyone = {row[0] for row in supervision.workload(world.core, MONDAY_9AM,
                                                       _user(world, "supervisor"))}
    assert {"specialist_own", "specialist_other"} <= everyone


def test_a_heads_dashboard_keeps_to_their_scope(world: World,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _alerts_of_both_divisions(world)
    threads = []
    workload = supervision.workload

    def recorded(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return workload(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(supervision, "workload", recorded)
    own = supervision.dashboard(world.core, _user(world, "head_own"), MONDAY_9AM)
    every = supervision.dashboard(world.core, _user(world, "supervisor"), MONDAY_9AM)
    assert (own.page.total, every.page.total) == (2, 4)
    assert sum(sum(c.values()) for c in own.counts["role"].values()) == 2
    names = {row[0] for row in own.workload}
    assert "specialist_own" in names and "specialist_other" not in names
    assert {"specialist_own", "specialist_other"} <= {row[0] for row in every.workload}
    # On PostgreSQL the workload is read beside the alerts, on the dashboard's thread.
    beside = world.core.db.dialect.name == "postgresql"
    assert all(name.startswith("dashboard") == beside for name in threads) and len(threads) == 2


def test_a_head_acknowledges_only_the_appointment_alerts_they_oversee(world: World) -> None:
    ids = _alerts_of_both_divisions(world)
    client = world.app.test_client()
    path = f"/api/v1/escalations/{ids['appointment dept']}/acknowledge"
    refused = client.post(path, headers=world.token("head_own"), json={"note": "seen"})
    assert refused.status_code == 403
    # On the dashboard: a message and the page again, not a server error.
    page = world.client("head_own").post(
        f"/supervise/escalations/{ids['appointment dept']}/acknowledge", data={"note": "x"},
        follow_redirects=True)
    assert page.status_code == 200 and "phòng khác" in page.text
    assert client.post(path, headers=world.token("head_other"), json={}).status_code == 200
    own = f"/api/v1/escalations/{ids['appointment open']}/acknowledge"
    assert client.post(own, headers=world.token("head_own"), json={}).status_code == 200


def test_the_reassign_list_offers_only_officers_of_the_steps_department(world: World) -> None:
    _alerts_of_both_divisions(world)
    for viewer in ("head_other", "supervisor"):
        page = world.client(viewer).get("/supervise/").text
        options = page.split(world.dept_code, 1)[1].split("</tr>", 1)[0]
        assert "specialist_other" in options and "specialist_own" not in options


def test_an_appointment_alert_tells_only_the_heads_who_oversee_the_dossier(
        world: World) -> None:
    run_due(world.core, at(4, 9, 0, month=12), "one")  # both appointment dates: Friday 4/12
    with world.core.uow() as uow:
        told = {(user, code) for user, code in uow.session.execute(
            select(User.username, Dossier.code)
            .join(Notification, Notification.user_id == User.id)
            .join(Escalation, Escalation.id == Notification.escalation_id)
            .join(Dossier, Dossier.id == Escalation.dossier_id)
            .where(Escalation.kind == "appointment"))}
    heads = {"head", "head_own", "head_other"}
    assert {user for user, code in told if code == world.open_code} == heads
    assert {user for user, code in told if code == world.dept_code} == {"head_other"}


def _user(world: World, username: str) -> User:
    with world.core.uow() as uow:
        return uow.session.scalars(select(User).where(User.username == username)).one()


# --- publishing, the calendar and the policies --------------------------------------------


def _versions(core: Core) -> int:
    with core.uow() as uow:
        return uow.session.scalar(select(func.count(ProcedureVersion.id))) or 0


def test_only_designers_deploy_a_procedure(world: World) -> None:
    client = world.app.test_client()
    designer = world.token("designer")
    draft = client.get(f"/api/v1/design/{JR}/draft", headers=designer).get_json()
    changed = draft["bpmn_xml"].replace("</bpmn:definitions>",
                                        "<!-- sửa --></bpmn:definitions>")
    assert client.put(f"/api/v1/design/{JR}/draft", headers=designer,
                      json={"bpmn_xml": changed}).status_code == 200
    before = _versions(world.core)
    body = {"change_note": "Sửa chú thích"}
    for role in ("admin", "head", "supervisor"):
        assert client.post(f"/api/v1/design/{JR}/deploy", headers=world.token(role),
                           json=body).status_code == 403, role
        assert world.client(role).post(f"/design/{JR}/deploy", json=body).status_code == 403
    assert _versions(world.core) == before
    assert client.post(f"/api/v1/design/{JR}/deploy", headers=designer,
                       json=body).status_code == 201
    assert _versions(world.core) == before + 1


def test_only_administrators_change_the_calendar_and_the_escalation_policies(
        world: World) -> None:
    override = {"day": "2026-12-12", "kind": "working_day", "note": "Làm bù"}
    for role in ("supervisor", "designer", "leader"):
        browser = world.client(role)
        assert browser.post("/admin/calendar", data=override).status_code == 403
        assert browser.get(f"/admin/escalation/{JR}").status_code == 403
        assert browser.post(f"/admin/escalation/{JR}", data={"action": "reset"}
                            ).status_code == 403
        assert world.app.test_client().put(
            f"/api/v1/procedures/{JR}/escalation-policy", headers=world.token(role),
            json={"policy": None}).status_code == 403
    with world.core.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0
    assert world.client("admin").post("/admin/calendar", data=override).status_code == 302
    with world.core.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CalendarOverride)) == 1


# --- tokens -------------------------------------------------------------------------------


def test_a_token_acts_for_its_owner_only(world: World) -> None:
    client = world.app.test_client()
    specialist, head = world.token("specialist"), world.token("head")
    # the body cannot name someone else
    response = client.post(f"/api/v1/dossiers/{world.open_code}/comments", headers=specialist,
                           json={"body": "xem", "author": "head", "user_id": world.users["head"]})
    assert response.status_code == 201 and response.get_json()["author"] == "specialist"
    with world.core.uow() as uow:
        assert uow.session.scalars(select(Comment.author)).all() == ["specialist"]
    # the head's token cannot claim the specialist's step for anyone
    assert client.post(f"/api/v1/tasks/{world.open_task}/claim", headers=head).status_code == 403
    assert client.post(f"/api/v1/tasks/{world.open_task}/claim",
                       headers=specialist).status_code == 200
    assert world.task(world.open_task).claimed_by == world.users["specialist"]
    # another officer's token cannot give the claimed step back or complete it
    other = world.token("specialist_other")
    assert client.post(f"/api/v1/tasks/{world.open_task}/unclaim",
                       headers=other).status_code == 409
    assert world.task(world.open_task).claimed_by == world.users["specialist"]
    assert client.post("/api/v1/tasks/x/claim",
                       headers={"Authorization": "Bearer forged"}).status_code == 401


def test_logging_a_token_out_ends_that_token_only(world: World) -> None:
    client = world.app.test_client()
    mine, theirs = world.token("specialist"), world.token("head")
    assert client.delete("/api/v1/auth/token", headers=mine).status_code in (200, 204)
    assert client.get("/api/v1/tasks", headers=mine).status_code == 401
    assert client.get("/api/v1/tasks", headers=theirs).status_code == 200


def test_the_metrics_answer_only_this_host_without_a_token(world: World) -> None:
    client = world.app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 404
    assert client.get("/metrics").status_code == 200
