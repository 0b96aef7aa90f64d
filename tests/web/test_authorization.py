"""The authorization matrix: every page and API endpoint × every role, as the agency expects.

One table (TABLE) names, for each URL rule and method, the outcome each role should get:
anonymous, a citizen holding the portal's proof of ownership of their dossier (the lookup
remembered in their browser, or the code and ID number in the API request), and each staff
role. A test fails when the application gains a rule the table does not list, so every new
route is classified here. Scope and direct object references have their own explicit tests in
test_authorization_scope.py.

Runs on SQLite only: about 1,300 cells, each on the seeded database restored from a snapshot
(a file copy), so no cell's action changes another's outcome.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from engine import migrate
from engine.bootstrap import Core
from engine.db import make_engine
from engine.demo import _scan, step_data
from engine.models import ApiToken, Apology, Escalation, ProcessInstance, Task, User
from engine.services import accounts, dossiers, reception, test_run, versions, working_days
from engine.services.incidents import INCIDENT
from engine.services.online_submission import Submission, submit_online
from engine.services.portal import Upload
from tests.conftest import MONDAY_9AM, make_core
from tests.web.conftest import Clock
from web import create_app

JR = "judicial_record_certificate"
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}
CITIZEN = {"name": "Đỗ Thu Trang", "id_number": "001195007788", "phone": "0916222333",
           "address": "15 Phan Đình Phùng, Hà Nội", "birth_date": "1995-03-08"}
PDF = _scan("Scan")
LATER = MONDAY_9AM + timedelta(minutes=10)  # the app's clock while the matrix runs

# Outcome classes.
A = "allowed"      # 2xx or 3xx (not to the login page); 400/409/422 count: domain refusals
L = "login"        # 302 to /login for pages, 401 for the API
F = "forbidden"    # 403
N = "not found"    # 404
P = "lookup"       # 302 to the portal's lookup: prove you are the applicant first
CODES = {"A": A, "L": L, "F": F, "N": N, "P": P}
ROLES = ("anonymous", "citizen", "reception", "specialist", "head", "leader", "clerk",
         "supervisor", "designer", "admin")

# Shorthands for the common rows, in the columns' order:
#            anon cit rec spe hea lea clk sup des adm
PUBLIC = "A A A A A A A A A A"
ANY_USER = "L L A A A A A A A A"
OFFICERS = "L L A A A A A F F F"     # the roles that work on tasks
STAFF = "L L A A A A A A F F"        # officers and supervisors: dossiers
DESK = "L L A F F F A F F F"         # the reception desk (and the records clerk)
OWN_TASK = "L L F A F F F F F F"     # the seeded task is the specialist's (no department)
SUPERVISORS = "L L F F A A F A F F"  # heads, leaders, supervisors: alerts, reassigning, reports
APOLOGY_LIST = "L L A F A A F A F F"
DRAFTERS = "L L A F A F F F F F"     # who drafts an apology: the desk or the head
APPROVERS = "L L F F F A F F F F"    # who approves one: the leader
INCIDENTS = "L L F F F F F A A A"
DESIGN = "L L F F F F F F A A"       # designers; administrators may look and try
PUBLISH = "L L F F F F F F A F"      # deploying and moving live dossiers: designers only
ADMIN = "L L F F F F F F F A"
POLICY_READ = "L L F F F F F A F A"  # supervisors read the escalation policy they watch
OWNER_PAGE = "P A P P P P P P P P"   # the portal's dossier pages: the applicant's browser only
OWNER_API = "N A N N N N N N N N"    # the portal's API: code and ID number in the request
LOGGED_OUT = "L L L L L L L L L L"   # logging out lands on the login page, whoever asks

TABLE: list[tuple[str, str, str]] = [
    # (method, rule, the outcome of each role in the columns' order above)
    ("GET", "/", ANY_USER),
    ("GET", "/login", PUBLIC),
    ("POST", "/login", PUBLIC),
    ("POST", "/logout", LOGGED_OUT),
    ("GET", "/lang/<code>", PUBLIC),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/metrics", PUBLIC),                 # from 127.0.0.1 (the test client's address)
    ("GET", "/notifications", ANY_USER),
    # officers' tasks
    ("GET", "/tasks/<task_id>", OWN_TASK),
    ("POST", "/tasks/<task_id>/claim", OWN_TASK),
    ("POST", "/tasks/<task_id>/unclaim", OWN_TASK),
    ("POST", "/tasks/<task_id>/complete", OWN_TASK),
    ("POST", "/tasks/<task_id>/comments", OWN_TASK),
    ("POST", "/tasks/<task_id>/files", OWN_TASK),
    ("GET", "/tasks/files/<code>/<int:attachment_id>", STAFF),
    # reception and dossiers
    ("GET", "/dossiers/", STAFF),
    ("GET", "/dossiers/new", DESK),
    ("POST", "/dossiers/new", DESK),
    ("GET", "/dossiers/<code>", STAFF),
    ("GET", "/dossiers/<code>/tracking", STAFF),
    ("GET", "/dossiers/<code>/diagram.bpmn", STAFF),
    ("GET", "/dossiers/<code>/slip.pdf", STAFF),
    ("GET", "/dossiers/<code>/notices/<int:notice_id>.pdf", STAFF),
    ("GET", "/dossiers/<code>/files/<int:attachment_id>", STAFF),
    ("POST", "/dossiers/<code>/accept", DESK),
    ("POST", "/dossiers/<code>/supplement-request", DESK),
    ("POST", "/dossiers/<code>/refusal", DESK),
    # apologies
    ("GET", "/apologies/", APOLOGY_LIST),
    ("GET", "/apologies/new/<code>", DRAFTERS),
    ("POST", "/apologies/new/<code>", DRAFTERS),
    ("POST", "/apologies/<int:apology_id>/decide", APPROVERS),
    ("GET", "/apologies/<int:apology_id>/letter", STAFF),
    # supervision and reports
    ("GET", "/supervise/", SUPERVISORS),
    ("POST", "/supervise/escalations/<int:escalation_id>/acknowledge", SUPERVISORS),
    ("POST", "/supervise/tasks/<task_id>/reassign", SUPERVISORS),
    ("GET", "/reports/", SUPERVISORS),
    ("GET", "/reports/summary.csv", SUPERVISORS),
    ("GET", "/reports/summary.xlsx", SUPERVISORS),
    ("GET", "/incidents/", INCIDENTS),
    ("POST", "/incidents/<code>/retry", INCIDENTS),
    # administration
    ("GET", "/admin/calendar", ADMIN),
    ("POST", "/admin/calendar", ADMIN),
    ("POST", "/admin/calendar/<day>/delete", ADMIN),
    ("GET", "/admin/escalation/", ADMIN),
    ("GET", "/admin/escalation/<code>", ADMIN),
    ("POST", "/admin/escalation/<code>", ADMIN),
    # design
    ("GET", "/design/", DESIGN),
    ("POST", "/design/new", DESIGN),
    ("GET", "/design/<code>", DESIGN),
    ("GET", "/design/<code>/draft.bpmn", DESIGN),
    ("POST", "/design/<code>/draft", DESIGN),
    ("POST", "/design/<code>/validate", DESIGN),
    ("POST", "/design/<code>/deploy", PUBLISH),
    ("GET", "/design/<code>/versions", DESIGN),
    ("GET", "/design/<code>/metadata", DESIGN),
    ("POST", "/design/<code>/metadata", DESIGN),
    ("GET", "/design/<code>/forms", DESIGN),
    ("POST", "/design/<code>/forms", DESIGN),
    ("POST", "/design/<code>/forms/<key>/delete", DESIGN),
    ("POST", "/design/<code>/forms/preview", DESIGN),
    ("GET", "/design/<code>/versions/diff", DESIGN),
    ("GET", "/design/<code>/versions/<int:number>/export.bpmn", DESIGN),
    ("GET", "/design/<code>/versions/<int:number>/export.zip", DESIGN),
    ("POST", "/design/<code>/import", DESIGN),
    ("GET", "/design/<code>/test-run", DESIGN),
    ("POST", "/design/<code>/test-run", DESIGN),
    ("POST", "/design/<code>/test-run/<run_id>/complete", DESIGN),
    ("GET", "/design/<code>/test-run/<run_id>/diagram.bpmn", DESIGN),
    ("GET", "/design/<code>/migrate", DESIGN),
    ("POST", "/design/<code>/migrate", PUBLISH),
    # the citizen portal
    ("GET", "/portal/", PUBLIC),
    ("GET", "/portal/submit/<procedure>", PUBLIC),
    ("POST", "/portal/submit/<procedure>", PUBLIC),
    ("GET", "/portal/lookup", PUBLIC),
    ("POST", "/portal/lookup", OWNER_API),       # only the right ID number opens the dossier
    ("GET", "/portal/submitted/<code>", OWNER_PAGE),
    ("GET", "/portal/dossiers/<code>", OWNER_PAGE),
    ("POST", "/portal/dossiers/<code>/supplement", OWNER_PAGE),
    ("GET", "/portal/dossiers/<code>/rating", OWNER_PAGE),
    ("POST", "/portal/dossiers/<code>/rating", OWNER_PAGE),
    ("GET", "/portal/dossiers/<code>/files/<int:attachment_id>", OWNER_PAGE),
    # API: authentication, catalogue
    ("GET", "/api/v1/openapi.json", PUBLIC),
    ("POST", "/api/v1/auth/token", PUBLIC),
    ("GET", "/api/v1/procedures", ANY_USER),
    # API: reception
    ("POST", "/api/v1/dossiers", DESK),
    ("GET", "/api/v1/submissions", DESK),
    ("POST", "/api/v1/submissions/<code>/accept", DESK),
    ("POST", "/api/v1/submissions/<code>/supplement-request", DESK),
    ("POST", "/api/v1/submissions/<code>/refusal", DESK),
    ("POST", "/api/v1/intake/supplement-request", DESK),
    ("POST", "/api/v1/intake/refusal", DESK),
    ("POST", "/api/v1/dossiers/<code>/attachments", DESK),
    # API: dossiers
    ("GET", "/api/v1/dossiers/<code>", STAFF),
    ("GET", "/api/v1/dossiers/<code>/tracking", STAFF),
    ("GET", "/api/v1/dossiers/<code>/slip.pdf", STAFF),
    ("GET", "/api/v1/dossiers/<code>/notices", STAFF),
    ("GET", "/api/v1/dossiers/<code>/notices/<int:notice_id>.pdf", STAFF),
    ("GET", "/api/v1/dossiers/<code>/comments", STAFF),
    ("POST", "/api/v1/dossiers/<code>/comments", STAFF),
    ("GET", "/api/v1/dossiers/<code>/attachments", STAFF),
    ("GET", "/api/v1/dossiers/<code>/attachments/<int:attachment_id>", STAFF),
    # API: tasks
    ("GET", "/api/v1/tasks", OFFICERS),
    ("POST", "/api/v1/tasks/<task_id>/claim", OWN_TASK),
    ("POST", "/api/v1/tasks/<task_id>/unclaim", OWN_TASK),
    ("POST", "/api/v1/tasks/<task_id>/complete", OWN_TASK),
    ("POST", "/api/v1/tasks/<task_id>/attachments", OWN_TASK),
    ("POST", "/api/v1/tasks/<task_id>/reassign", SUPERVISORS),
    # API: supervision, incidents, reports, policies
    ("GET", "/api/v1/escalations", SUPERVISORS),
    ("POST", "/api/v1/escalations/<int:escalation_id>/acknowledge", SUPERVISORS),
    ("GET", "/api/v1/incidents", INCIDENTS),
    ("POST", "/api/v1/dossiers/<code>/incident/retry", INCIDENTS),
    ("GET", "/api/v1/reports/summary", SUPERVISORS),
    ("GET", "/api/v1/procedures/<code>/escalation-policy", POLICY_READ),
    ("PUT", "/api/v1/procedures/<code>/escalation-policy", ADMIN),
    # user administration (the seeded user is the specialist, the token one of theirs)
    ("GET", "/admin/users", ADMIN),
    ("GET", "/admin/users/new", ADMIN),
    ("POST", "/admin/users/new", ADMIN),
    ("GET", "/admin/users/<int:user_id>", ADMIN),
    ("POST", "/admin/users/<int:user_id>", ADMIN),
    ("POST", "/admin/users/<int:user_id>/active", ADMIN),
    ("POST", "/admin/users/<int:user_id>/unlock", ADMIN),
    ("POST", "/admin/users/<int:user_id>/password", ADMIN),
    ("POST", "/admin/users/<int:user_id>/tokens/<int:token_id>/revoke", ADMIN),
    ("POST", "/admin/users/<int:user_id>/tokens/revoke", ADMIN),
    ("GET", "/account/password", ANY_USER),
    ("POST", "/account/password", ANY_USER),
    ("DELETE", "/api/v1/auth/token", ANY_USER),
    ("GET", "/api/v1/users", ADMIN),
    ("POST", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/users/<int:user_id>", ADMIN),
    ("PATCH", "/api/v1/users/<int:user_id>", ADMIN),
    ("POST", "/api/v1/users/<int:user_id>/password", ADMIN),
    ("POST", "/api/v1/users/<int:user_id>/unlock", ADMIN),
    ("GET", "/api/v1/users/<int:user_id>/tokens", ADMIN),
    ("DELETE", "/api/v1/users/<int:user_id>/tokens/<int:token_id>", ADMIN),
    # API: design
    ("GET", "/api/v1/design/<code>/draft", DESIGN),
    ("PUT", "/api/v1/design/<code>/draft", DESIGN),
    ("POST", "/api/v1/design/<code>/validate", DESIGN),
    ("POST", "/api/v1/design/<code>/deploy", PUBLISH),
    ("GET", "/api/v1/design/<code>/versions", DESIGN),
    ("GET", "/api/v1/procedures/<code>/versions/diff", DESIGN),
    ("GET", "/api/v1/procedures/<code>/versions/<int:number>/export", DESIGN),
    ("POST", "/api/v1/procedures/<code>/import", DESIGN),
    ("POST", "/api/v1/procedures/<code>/test-runs", DESIGN),
    ("GET", "/api/v1/test-runs/<run_id>", DESIGN),
    ("POST", "/api/v1/test-runs/<run_id>/tasks/<task_id>/complete", DESIGN),
    ("GET", "/api/v1/procedures/<code>/migration", DESIGN),
    ("POST", "/api/v1/procedures/<code>/migration", PUBLISH),
    # API: the citizen portal (no token: the code and the ID number are the proof)
    ("GET", "/api/v1/portal/procedures", PUBLIC),
    ("POST", "/api/v1/portal/dossiers", PUBLIC),
    ("POST", "/api/v1/portal/lookup", OWNER_API),
    ("POST", "/api/v1/portal/dossiers/<code>/supplement", OWNER_API),
    ("POST", "/api/v1/portal/dossiers/<code>/rating", OWNER_API),
]

# Cells where the application is wrong today: (method, rule, role) -> what is wrong.
# None today; a cell put here is expected to fail (strict xfail) until it is fixed.
BUGS: dict[tuple[str, str, str], str] = {}


# --- the seeded agency --------------------------------------------------------------------


@dataclass
class Seed:
    """The ids of the seeded data each row's path and body use."""

    dossier: str = ""             # received in person, its specialist's step ready
    attachment: int = 0           # a file of `dossier`
    task: str = ""                # the specialist's ready step of `dossier`
    submission: str = ""          # the citizen's dossier, submitted online (with files)
    upload: int = 0               # a file the citizen uploaded to `submission`
    not_received: str = ""        # a dossier sent back at the desk, with its notice
    notice: int = 0
    incident: str = ""            # a dossier whose procedure is stopped on an error
    escalation: int = 0
    apology_draft: int = 0
    apology_approved: int = 0
    run: str = ""                 # a designer's test run and its ready step
    run_step: str = ""
    form_key: str = ""
    override_day: str = ""
    bpmn_xml: str = ""
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_id: int = 0             # the id of the specialist's token
    cookies: dict[str, str] = field(default_factory=dict)


def _receive(core: Core, applicant: dict[str, str], minutes: int) -> str:
    return dossiers.receive_dossier(core, procedure_code=JR, applicant=applicant,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM + timedelta(minutes=minutes)).code


def seed(core: Core) -> Seed:
    """Dossiers, tasks, files, notices, alerts, letters, a test run and an override."""
    s = Seed()
    now = MONDAY_9AM
    s.dossier = _receive(core, APPLICANT, 1)
    s.attachment = reception.add_file(core, s.dossier, io.BytesIO(PDF), "giay-to.pdf",
                                      actor="reception", now=now, document_index=0).id
    s.submission = submit_online(core, Submission(
        procedure_code=JR, applicant=CITIZEN,
        documents={i: [Upload(io.BytesIO(PDF), f"giay-to-{i}.pdf")] for i in range(3)},
        return_method="in_person", consent=True), now).code
    nr, notice = reception.request_supplement_at_desk(
        core, procedure_code=JR, applicant={**APPLICANT, "birth_date": "1989-05-01"},
        channel="in_person", documents_received=[{"index": 0, "copies": 1}],
        note="Bản sao CCCD",
        actor="reception", now=now)
    s.not_received, s.notice = nr.code, notice.id
    s.incident = _receive(core, APPLICANT, 2)
    s.upload = dossiers.get_dossier(core, s.submission).attachments[0].id
    with core.uow() as uow:
        session = uow.session
        s.users = {u.username: u.id for u in session.scalars(select(User))}
        d = dossiers.dossier_by_code(session, s.dossier)
        task = session.scalars(select(Task).where(Task.dossier_id == d.id,
                                                  Task.state == "ready")).one()
        s.task = task.id
        escalation = Escalation(dossier_id=d.id, kind="step", ref=task.id, task_id=task.id,
                                level=1, role="specialist", due_at=now, raised_at=now)
        letters = [Apology(dossier_id=d.id, reason="Cần xác minh thêm", state=state,
                           new_appointment_at=d.appointment_at + timedelta(days=3),
                           previous_appointment_at=d.appointment_at,
                           drafted_by=s.users["reception"], drafted_at=now)
                   for state in ("draft", "approved")]
        session.add_all([escalation, *letters])
        stopped = dossiers.dossier_by_code(session, s.incident)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == stopped.instance_id)
                        .values(status=INCIDENT, incident="'check_records' (Kiểm tra): boom"))
        session.flush()
        s.escalation, s.apology_draft, s.apology_approved = (
            escalation.id, letters[0].id, letters[1].id)
        uow.commit()
    package, source = versions.current_package(core, JR)
    run = test_run.start(core, JR, package, source, {}, LATER)  # runs expire: the app's time
    s.run, s.run_step = run.id, run.ready[0].id
    s.form_key, s.bpmn_xml = sorted(package.forms)[0], package.bpmn_xml
    day = date(2026, 12, 5)  # a Saturday made a working day
    working_days.set_override(core, day, True, "Làm bù", "admin", now)
    s.override_day = day.isoformat()
    with core.uow() as uow:
        users = {u.username: u for u in uow.session.scalars(select(User))}
    s.tokens = {name: accounts.issue_token(core, user, now) for name, user in users.items()}
    with core.uow() as uow:
        s.token_id = uow.session.scalars(select(ApiToken.id).where(
            ApiToken.user_id == s.users["specialist"])).one()
    return s


def _login_cookies(app: Flask, s: Seed) -> dict[str, str]:
    """A session cookie per role, from a real login (and the citizen's lookup)."""
    cookies = {}
    for role in ROLES[2:]:
        client = app.test_client()
        response = client.post("/login", data={"username": role, "password": "pw"})
        assert response.status_code == 302, role
        cookie = client.get_cookie("session")
        assert cookie is not None
        cookies[role] = cookie.value
    client = app.test_client()
    response = client.post("/portal/lookup", data={"code": s.submission,
                                                   "id_number": CITIZEN["id_number"]})
    assert response.status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    cookies["citizen"] = cookie.value
    return cookies


@dataclass
class Agency:
    """The app on a database restored from the seeded snapshot before every cell."""

    app: Flask
    core: Core
    seed: Seed
    live: Path
    snapshot: Path

    dirty: bool = True

    def restore(self) -> None:
        """Put the seeded database back, so that no cell sees another's changes."""
        if not self.dirty:
            return
        self.dirty = False
        self.core.db.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.live}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.snapshot, self.live)


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    """The seeded agency, built once for the whole matrix."""
    folder = tmp_path_factory.mktemp("authz")
    live = folder / "motcua.sqlite3"
    engine = make_engine(f"sqlite:///{live}")
    migrate.upgrade(engine)
    core = make_core(engine)
    s = seed(core)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "CLOCK": Clock(LATER),
                      "DATABASE_URL": str(engine.url)}, core=core)
    s.cookies = _login_cookies(app, s)
    engine.dispose()
    snapshot = folder / "snapshot.sqlite3"
    with closing(sqlite3.connect(live)) as source, closing(sqlite3.connect(snapshot)) as copy:
        source.backup(copy)  # consistent whatever the write-ahead log still holds
    yield Agency(app, core, s, live, snapshot)
    engine.dispose()


# --- requests: path parameters and bodies -------------------------------------------------

Values = Callable[[Seed], Any]
# Path parameters by name; rules that need another object say so in RULE_PARAMS.
PARAMS: dict[str, Values] = {
    "code": lambda s: s.dossier,
    "task_id": lambda s: s.task,
    "attachment_id": lambda s: s.attachment,
    "notice_id": lambda s: s.notice,
    "escalation_id": lambda s: s.escalation,
    "apology_id": lambda s: s.apology_approved,
    "run_id": lambda s: s.run,
    "number": lambda s: 1,
    "key": lambda s: s.form_key,
    "day": lambda s: s.override_day,
    "procedure": lambda s: JR,
    "user_id": lambda s: s.users["specialist"],
    "token_id": lambda s: s.token_id,
}
_PROCEDURE = {"code": lambda s: JR}
_SUBMISSION = {"code": lambda s: s.submission}
_CITIZEN = {"code": lambda s: s.submission, "attachment_id": lambda s: s.upload}
_NOTICE = {"code": lambda s: s.not_received}
_INCIDENT = {"code": lambda s: s.incident}
RULE_PARAMS: dict[str, dict[str, Values]] = {
    "/lang/<code>": {"code": lambda s: "en"},
    "/dossiers/<code>/notices/<int:notice_id>.pdf": _NOTICE,
    "/api/v1/dossiers/<code>/notices/<int:notice_id>.pdf": _NOTICE,
    "/api/v1/dossiers/<code>/notices": _NOTICE,
    "/dossiers/<code>/accept": _SUBMISSION,
    "/dossiers/<code>/supplement-request": _SUBMISSION,
    "/dossiers/<code>/refusal": _SUBMISSION,
    "/api/v1/submissions/<code>/accept": _SUBMISSION,
    "/api/v1/submissions/<code>/supplement-request": _SUBMISSION,
    "/api/v1/submissions/<code>/refusal": _SUBMISSION,
    "/incidents/<code>/retry": _INCIDENT,
    "/api/v1/dossiers/<code>/incident/retry": _INCIDENT,
    "/apologies/<int:apology_id>/decide": {"apology_id": lambda s: s.apology_draft},
    "/api/v1/test-runs/<run_id>/tasks/<task_id>/complete": {"task_id": lambda s: s.run_step},
}
for _rule in ("/portal/submitted/<code>", "/portal/dossiers/<code>",
              "/portal/dossiers/<code>/supplement", "/portal/dossiers/<code>/rating",
              "/portal/dossiers/<code>/files/<int:attachment_id>",
              "/api/v1/portal/dossiers/<code>/supplement",
              "/api/v1/portal/dossiers/<code>/rating"):
    RULE_PARAMS[_rule] = _CITIZEN
for _method, _rule, _ in TABLE:
    if _rule.startswith(("/design/<code>", "/admin/escalation/<code>", "/api/v1/design/",
                         "/api/v1/procedures/<code>")):
        RULE_PARAMS[_rule] = _PROCEDURE


def _file(name: str = "giay-to.pdf", content: bytes = PDF) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), name


def _proof(s: Seed, role: str) -> dict[str, str]:
    """The portal's proof of ownership: the citizen knows the ID number, others do not."""
    return {"id_number": CITIZEN["id_number"]} if role == "citizen" else {}


def _login_body(s: Seed, role: str) -> dict[str, Any]:
    return {"data": {"username": role if role in s.users else "head", "password": "pw"}}


def _token_body(s: Seed, role: str) -> dict[str, Any]:
    return {"json": {"username": role if role in s.users else "head", "password": "pw"}}


Body = Callable[[Seed, str], dict[str, Any]]
INTAKE = {"procedure": JR, "channel": "in_person", **{k: v for k, v in APPLICANT.items()}}
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/login"): _login_body,
    ("POST", "/api/v1/auth/token"): _token_body,
    ("POST", "/tasks/<task_id>/complete"): lambda s, r: {
        "data": {k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in step_data("check_records", "2026-11-23").items()}},
    ("POST", "/tasks/<task_id>/comments"): lambda s, r: {"data": {"body": "Đã xem"}},
    ("POST", "/tasks/<task_id>/files"): lambda s, r: {"data": {"file": _file()}},
    ("POST", "/dossiers/new"): lambda s, r: {"data": {**INTAKE, "action": "refuse",
                                                      "reason": "Không thuộc thẩm quyền"}},
    ("POST", "/dossiers/<code>/supplement-request"): lambda s, r: {
        "data": {"items": "Bản sao CCCD"}},
    ("POST", "/dossiers/<code>/refusal"): lambda s, r: {
        "data": {"reason": "Không thuộc thẩm quyền"}},
    ("POST", "/apologies/new/<code>"): lambda s, r: {
        "data": {"reason": "Cần xác minh thêm", "new_date": "2026-12-10"}},
    ("POST", "/apologies/<int:apology_id>/decide"): lambda s, r: {
        "data": {"decision": "approve", "note": "Đồng ý"}},
    ("POST", "/supervise/escalations/<int:escalation_id>/acknowledge"): lambda s, r: {
        "data": {"note": "Đã nhắc"}},
    ("POST", "/supervise/tasks/<task_id>/reassign"): lambda s, r: {
        "data": {"officer": str(s.users["specialist"])}},
    ("GET", "/reports/summary.csv"): lambda s, r: {
        "query_string": {"from": "2026-11-01", "to": "2026-11-30"}},
    ("POST", "/admin/calendar"): lambda s, r: {
        "data": {"day": "2026-12-12", "kind": "working_day", "note": "Làm bù"}},
    ("POST", "/admin/escalation/<code>"): lambda s, r: {"data": {"action": "reset"}},
    ("POST", "/design/new"): lambda s, r: {"data": {"code": "new_procedure",
                                                    "name": "Thủ tục mới"}},
    ("POST", "/design/<code>/draft"): lambda s, r: {"json": {"bpmn_xml": s.bpmn_xml}},
    ("POST", "/design/<code>/deploy"): lambda s, r: {"json": {"change_note": "Sửa biểu mẫu"}},
    ("POST", "/design/<code>/metadata"): lambda s, r: {"data": {"name": "Cấp phiếu LLTP"}},
    ("POST", "/design/<code>/forms"): lambda s, r: {"data": {"key": "new_form"}},
    ("POST", "/design/<code>/forms/preview"): lambda s, r: {
        "data": {"schema": '{"type": "object", "properties": {}}'}},
    ("POST", "/design/<code>/import"): lambda s, r: {
        "data": {"file": _file("process.bpmn", s.bpmn_xml.encode())}},
    ("POST", "/design/<code>/test-run"): lambda s, r: {"data": {"source": "draft"}},
    ("POST", "/design/<code>/test-run/<run_id>/complete"): lambda s, r: {
        "data": {"task_id": s.run_step}},
    ("POST", "/design/<code>/migrate"): lambda s, r: {"data": {"to": "1",
                                                               "dossier": f"{s.dossier}:1"}},
    ("POST", "/portal/submit/<procedure>"): lambda s, r: {"data": {"name": "Trần Thị Bích"}},
    ("POST", "/portal/lookup"): lambda s, r: {"data": {"code": s.submission, **_proof(s, r)}},
    ("POST", "/portal/dossiers/<code>/supplement"): lambda s, r: {
        "data": {"note": "Bổ sung", "files": _file()}},
    ("POST", "/portal/dossiers/<code>/rating"): lambda s, r: {"data": {"overall": "5"}},
    ("POST", "/api/v1/dossiers"): lambda s, r: {"json": {
        "procedure": JR, "applicant": APPLICANT, "channel": "in_person"}},
    ("POST", "/api/v1/submissions/<code>/supplement-request"): lambda s, r: {
        "json": {"items": ["Bản sao CCCD"]}},
    ("POST", "/api/v1/submissions/<code>/refusal"): lambda s, r: {
        "json": {"reason": "Không thuộc thẩm quyền"}},
    ("POST", "/api/v1/intake/supplement-request"): lambda s, r: {"json": {
        "procedure": JR, "applicant": APPLICANT, "channel": "in_person",
        "documents_received": [{"index": 0, "copies": 1}], "note": "Bản sao CCCD"}},
    ("POST", "/api/v1/intake/refusal"): lambda s, r: {"json": {
        "procedure": JR, "applicant": APPLICANT, "channel": "in_person",
        "reason": "Không thuộc thẩm quyền"}},
    ("POST", "/api/v1/dossiers/<code>/attachments"): lambda s, r: {
        "data": {"file": _file(), "document_index": "0"}},
    ("POST", "/api/v1/dossiers/<code>/comments"): lambda s, r: {"json": {"body": "Đã xem"}},
    ("POST", "/api/v1/tasks/<task_id>/complete"): lambda s, r: {
        "json": {"data": step_data("check_records", "2026-11-23")}},
    ("POST", "/api/v1/tasks/<task_id>/attachments"): lambda s, r: {"data": {"file": _file()}},
    ("POST", "/api/v1/tasks/<task_id>/reassign"): lambda s, r: {
        "json": {"officer_id": s.users["specialist"]}},
    ("POST", "/api/v1/escalations/<int:escalation_id>/acknowledge"): lambda s, r: {
        "json": {"note": "Đã nhắc"}},
    ("GET", "/api/v1/reports/summary"): lambda s, r: {
        "query_string": {"from": "2026-11-01", "to": "2026-11-30"}},
    ("PUT", "/api/v1/procedures/<code>/escalation-policy"): lambda s, r: {
        "json": {"policy": None}},
    ("PUT", "/api/v1/design/<code>/draft"): lambda s, r: {"json": {"bpmn_xml": s.bpmn_xml}},
    ("POST", "/api/v1/design/<code>/deploy"): lambda s, r: {
        "json": {"change_note": "Sửa biểu mẫu"}},
    ("GET", "/api/v1/procedures/<code>/versions/diff"): lambda s, r: {
        "query_string": {"from": "1", "to": "1"}},
    ("POST", "/api/v1/procedures/<code>/import"): lambda s, r: {
        "data": {"file": _file("process.bpmn", s.bpmn_xml.encode())}},
    ("POST", "/api/v1/procedures/<code>/test-runs"): lambda s, r: {"json": {"source": "draft"}},
    ("POST", "/api/v1/test-runs/<run_id>/tasks/<task_id>/complete"): lambda s, r: {
        "json": {"data": {}}},
    ("GET", "/api/v1/procedures/<code>/migration"): lambda s, r: {"query_string": {"to": "1"}},
    ("POST", "/api/v1/procedures/<code>/migration"): lambda s, r: {
        "json": {"to": 1, "dossiers": [{"code": s.dossier}]}},
    ("POST", "/api/v1/portal/dossiers"): lambda s, r: {"data": {"procedure": JR,
                                                                "name": "Trần Thị Bích"}},
    ("POST", "/api/v1/portal/lookup"): lambda s, r: {"json": {"code": s.submission,
                                                              **_proof(s, r)}},
    ("POST", "/api/v1/portal/dossiers/<code>/supplement"): lambda s, r: {
        "data": {**_proof(s, r), "note": "Bổ sung", "files": _file()}},
    ("POST", "/api/v1/portal/dossiers/<code>/rating"): lambda s, r: {
        "json": {**_proof(s, r), "overall": 5}},
}
NEW_USER = {"username": "officer2", "password": "Mật-khẩu-dài-2026", "full_name": "Cán bộ mới",
            "department": "", "email": ""}
BODIES.update({
    ("POST", "/admin/users/new"): lambda s, r: {"data": {**NEW_USER, "roles": "specialist"}},
    ("POST", "/admin/users/<int:user_id>"): lambda s, r: {
        "data": {"full_name": "Specialist", "email": "", "department": "",
                 "roles": "specialist"}},
    ("POST", "/admin/users/<int:user_id>/active"): lambda s, r: {"data": {"active": "0"}},
    ("POST", "/admin/users/<int:user_id>/password"): lambda s, r: {
        "data": {"password": "Mật-khẩu-dài-2026"}},
    ("POST", "/account/password"): lambda s, r: {"data": {
        "old_password": "pw", "password": "Mật-khẩu-dài-2026",
        "confirm": "Mật-khẩu-dài-2026"}},
    ("POST", "/api/v1/users"): lambda s, r: {"json": {**NEW_USER, "roles": ["specialist"]}},
    ("PATCH", "/api/v1/users/<int:user_id>"): lambda s, r: {"json": {"full_name": "Specialist"}},
    ("POST", "/api/v1/users/<int:user_id>/password"): lambda s, r: {
        "json": {"password": "Mật-khẩu-dài-2026"}},
})
BODIES[("GET", "/reports/summary.xlsx")] = BODIES[("GET", "/reports/summary.csv")]


def build_path(rule: str, s: Seed) -> str:
    """The rule with each <parameter> replaced by a real id of the seeded data."""
    own = RULE_PARAMS.get(rule, {})
    path = rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1:end].split(":")[-1]
        value = own.get(name, PARAMS[name])(s)
        path = f"{path[:start]}{value}{path[end + 1:]}"
    return path


def outcome(response: TestResponse) -> str:
    """The outcome class of a response (or its status when it fits none)."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        target = urlparse(response.headers.get("Location", "")).path
        if target == "/login":
            return L
        if target == "/portal/lookup":
            return P
        return A
    if status == 401:
        return L
    if status == 403:
        return F
    if status == 404:
        return N
    if status < 300 or status in (400, 409, 422):
        return A
    return f"status {status}"


def request_as(agency: Agency, method: str, rule: str, role: str) -> TestResponse:
    """Send the row's request as `role`: session cookie for pages, bearer token for the API."""
    s = agency.seed
    client = agency.app.test_client()
    api = rule.startswith("/api/")
    headers = {}
    if api and role in s.tokens:
        headers["Authorization"] = f"Bearer {s.tokens[role]}"
    elif not api and role in s.cookies:
        client.set_cookie("session", s.cookies[role])
    kwargs = BODIES.get((method, rule), lambda s, r: {})(s, role)
    if method in ("POST", "PUT", "PATCH", "DELETE") and not kwargs:
        kwargs = {"json": {}} if api else {"data": {}}
    return client.open(build_path(rule, s), method=method, headers=headers, **kwargs)


# GET requests that write: opening a procedure creates its draft, the notifications page
# marks them read.
WRITING_GETS = ("/design/", "/api/v1/design/", "/notifications")


def _cells() -> Iterator[Any]:
    for method, rule, expected in TABLE:
        codes = expected.split()
        assert len(codes) == len(ROLES), (method, rule)
        for role, code in zip(ROLES, codes, strict=True):
            bug = BUGS.get((method, rule, role))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(method, rule, role, CODES[code], marks=marks,
                               id=f"{method} {rule} {role}")


def application_rules(app: Flask) -> set[tuple[str, str]]:
    """Every (method, rule) the application serves, but static files, HEAD and OPTIONS."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


def test_every_route_of_the_application_is_in_the_table(agency: Agency) -> None:
    listed = [(method, rule) for method, rule, _ in TABLE]
    assert len(listed) == len(set(listed)), "a rule is listed twice"
    served = application_rules(agency.app)
    assert sorted(served - set(listed)) == [], "add these routes to TABLE"
    assert sorted(set(listed) - served) == [], "these rows name routes that no longer exist"


@pytest.mark.parametrize(("method", "rule", "role", "expected"), list(_cells()))
def test_each_role_gets_what_the_agency_expects(agency: Agency, method: str, rule: str,
                                                role: str, expected: str) -> None:
    agency.restore()
    agency.dirty = True  # until the outcome shows the request was refused
    response = request_as(agency, method, rule, role)
    got = outcome(response)
    response.close()  # downloads hold their file open until then
    # A refused request changes nothing; anything else may have: restore before the next cell.
    agency.dirty = got not in (L, F, N, P) and (method != "GET" or rule.startswith(WRITING_GETS))
    assert got == expected, (
        f"{method} {build_path(rule, agency.seed)} as {role}: {response.status_code} "
        f"{response.headers.get('Location', '')} {response.get_data(as_text=True)[:300]}")
