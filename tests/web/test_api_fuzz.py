"""Schemathesis against /api/v1/openapi.json: no operation answers with a server error.

Every operation of the document is fuzzed in-process (WSGI) with data that fits its schemas
and with data that does not, by an officer holding every role, on the demo database. Path
parameters and a few body fields are often replaced by real dossier codes, ID numbers, task,
notice and file ids, so that the requests get past the 404s. CI runs a few examples per
operation, derandomized; MOTCUA_FUZZ_EXAMPLES=500 runs longer.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select, update

from engine.bootstrap import Core, Settings, bootstrap
from engine.db import make_engine
from engine.demo import load_demo
from engine.models import Attachment, Dossier, DossierNotice, Escalation, Procedure, Task, User
from engine.services import accounts, catalogue
from tests.conftest import CATALOGUE, MONDAY_9AM, ROLES, password_hash
from tests.web.conftest import Clock
from web import create_app
from web.api import bp as _api  # noqa: F401 - registers every module's endpoints
from web.openapi import openapi_document

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EXAMPLES = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "5"))
# Shrinking a failure to its smallest form can take minutes: on request only.
PHASES = [Phase.explicit, Phase.generate] + (
    [Phase.shrink] if os.environ.get("MOTCUA_FUZZ_SHRINK") else [])
_PATHS = openapi_document()["paths"]
OPERATIONS = sorted((path, method) for path, methods in _PATHS.items() for method in methods)
# Valid data for every operation; invalid data where there is something to make invalid.
CASES = [(path, method, mode) for path, method in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE
         or {"parameters", "requestBody"} & set(_PATHS[path][method])]
FUZZER = "fuzzer"
# Operations that may deactivate the fuzzing officer, change its roles or revoke its token.
ACCOUNTS = ("/users", "/auth")


@dataclass
class Target:
    """The app under test, its loaded schema, the all-roles officer and the ids that exist."""

    core: Core
    schema: Any
    known: dict[str, list[Any]]
    headers: dict[str, str] = field(default_factory=dict)

    def restore_officer(self) -> None:
        """Give the fuzzing officer back every role and a fresh token: the fuzzed account
        endpoints may have deactivated it, changed its roles or revoked its token."""
        with self.core.uow() as uow:
            uow.session.execute(update(User).where(User.username == FUZZER).values(
                active=True, roles=",".join(ROLES), failed_logins=0, locked_until=None))
            uow.commit()
            officer = uow.session.scalars(select(User).where(User.username == FUZZER)).one()
        token = accounts.issue_token(self.core, officer, MONDAY_9AM)
        self.headers = {"Authorization": f"Bearer {token}"}


def _known_ids(core: Core) -> dict[str, list[Any]]:
    """Values that exist in the seeded database, by parameter name."""
    with core.uow() as uow:
        s = uow.session
        return {
            "dossier": list(s.scalars(select(Dossier.code))),
            "applicant": [tuple(row) for row in s.execute(
                select(Dossier.code, Dossier.applicant_id_number))],
            "procedure": list(s.scalars(select(Procedure.code))),
            "task_id": list(s.scalars(select(Task.id))),
            "notice_id": list(s.scalars(select(DossierNotice.id))) or [1],
            "attachment_id": list(s.scalars(select(Attachment.id))) or [1],
            "escalation_id": list(s.scalars(select(Escalation.id))) or [1],
            "user_id": list(s.scalars(select(User.id))),
            "officer_id": list(s.scalars(select(User.id))),
            "number": [1, 2],
        }


@pytest.fixture(scope="module")
def target(sqlite_template: Path) -> Iterator[Target]:
    """The demo database with an officer holding every role, and the app on it."""
    workdir = Path(tempfile.mkdtemp(prefix="motcua-fuzz-"))
    shutil.copy(sqlite_template, workdir / "fuzz.sqlite3")
    engine = make_engine(f"sqlite:///{workdir / 'fuzz.sqlite3'}")
    core = bootstrap(Settings(database_url=str(engine.url), agency_code="000.00.18.H57",
                              upload_dir=str(workdir / "uploads")), db=engine)
    catalogue.load_catalogue(core, CATALOGUE, "test", MONDAY_9AM)
    with pytest.MonkeyPatch.context() as patch:  # hashing eight demo passwords takes seconds
        patch.setattr(accounts, "generate_password_hash", lambda password: password_hash())
        load_demo(core, MONDAY_9AM)
    with core.uow() as uow:
        uow.session.add(User(username=FUZZER, password_hash=password_hash(),
                             full_name="Fuzzer", roles=",".join(ROLES), active=True))
        uow.commit()
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": Clock(MONDAY_9AM),
                      "DATABASE_URL": str(engine.url)}, core=core)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.app = closing(app)
    yield Target(core, schema, _known_ids(core))
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


def closing(app: Flask) -> WSGIApplication:
    """The app, its response read whole and closed as a WSGI server does (schemathesis does
    not close it, and an open download would end the test with a ResourceWarning)."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return wsgi


def _kind(path: str, name: str) -> str:
    """Which known values a path parameter takes: `code` is a dossier's or a procedure's."""
    if name != "code":
        return name
    return "dossier" if path.startswith(("/dossiers", "/submissions", "/portal")) \
        else "procedure"


def with_known_ids(target: Target, case: Case) -> st.SearchStrategy[Case]:
    """The case as generated, or with its parameters replaced by values that exist."""
    names = [n for n in case.path_parameters if _kind(case.path, n) in target.known]
    body_fields = [n for n in ("procedure", "officer_id")
                   if isinstance(case.body, dict) and n in case.body]
    portal = case.path.startswith("/portal/") and (
        "code" in case.path_parameters or case.path == "/portal/lookup")
    if not (names or body_fields or portal):
        return st.just(case)

    def replaced(values: dict[str, Any]) -> Case:
        applicant = values.pop("_applicant", None)
        paths = {n: values[n] for n in names}
        body: dict[str, Any] = {n: values[n] for n in body_fields}
        if applicant is not None:  # a dossier code with its applicant's ID number
            code, id_number = applicant
            if "code" in case.path_parameters:
                paths["code"] = code
            else:
                body["code"] = code
            if isinstance(case.body, dict):
                body["id_number"] = id_number
        case.path_parameters = {**case.path_parameters, **paths}
        if body and isinstance(case.body, dict):
            case.body = {**case.body, **body}
        return case

    strategies = {n: st.sampled_from(target.known[_kind(case.path, n)]) for n in names}
    strategies.update({n: st.sampled_from(target.known[n]) for n in body_fields})
    if portal:
        strategies["_applicant"] = st.sampled_from(target.known["applicant"])
    return st.one_of(st.just(case), st.fixed_dictionaries(strategies).map(replaced))


def fuzz(target: Target, path: str, method: str, mode: GenerationMode,
         checks: list[Any], examples: int = EXAMPLES) -> list[int]:
    """Send `examples` generated requests to one operation, run `checks` on each answer and
    return the statuses."""
    operation = target.schema[path][method.upper()]
    strategy = operation.as_strategy(generation_mode=mode).flatmap(
        lambda case: with_known_ids(target, case))
    statuses: list[int] = []

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=PHASES, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Case) -> None:
        if not target.headers or path.startswith(ACCOUNTS):
            target.restore_officer()
        response = case.call_and_validate(headers=target.headers, checks=checks)
        statuses.append(response.status_code)

    run()
    return statuses


# Operations with a known server error, fuzzed all the same and expected to fail (each with a
# strict regression test below) until the bug is fixed. None today.
KNOWN_BUGS: dict[tuple[str, str, GenerationMode], str] = {}


def _case(path: str, method: str, mode: GenerationMode) -> Any:
    reason = KNOWN_BUGS.get((path, method, mode))
    return pytest.param(
        path, method, mode,
        id=f"{method}{re.sub('[^a-z0-9]+', '_', path.lower())}".rstrip("_") + f"-{mode.value}",
        marks=[pytest.mark.xfail(strict=False, reason=reason)] if reason else [])


@pytest.mark.parametrize(("path", "method", "mode"), [_case(*case) for case in CASES])
def test_no_operation_answers_a_server_error(target: Target, path: str, method: str,
                                             mode: GenerationMode) -> None:
    statuses = fuzz(target, path, method, mode, [not_a_server_error])
    if mode == GenerationMode.POSITIVE and _PATHS[path][method].get("security") != []:
        # The officer holds every role and a fresh token: all 401 would mean nothing was tested.
        assert set(statuses) != {401}, "every request was refused: the fuzzer lost its token"


# --- the server errors the fuzzing found, each as a plain regression test -----------------

def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.mark.parametrize("path", ["/api/v1/design/judicial_record_certificate/deploy",
                                  "/api/v1/procedures/judicial_record_certificate/test-runs"])
@pytest.mark.parametrize("body", [[None], 1.0, "text"])
def test_an_optional_body_that_is_not_an_object_is_refused(client: FlaskClient, path: str,
                                                           body: Any) -> None:
    response = client.post(path, headers=_token(client, "designer"), json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["message"]


def test_an_acknowledgement_whose_body_is_a_list_is_refused(client: FlaskClient) -> None:
    response = client.post("/api/v1/escalations/1/acknowledge",
                           headers=_token(client, "supervisor"), json=["note"])
    assert response.status_code == 422


HUGE = 2**63  # past SQLite's INTEGER; PostgreSQL's ends at 2**31 - 1


@pytest.mark.parametrize(("role", "method", "path"), [
    ("supervisor", "post", f"/api/v1/escalations/{HUGE}/acknowledge"),
    ("admin", "get", f"/api/v1/users/{HUGE}"),
    ("reception", "get", f"/api/v1/dossiers/{{code}}/notices/{HUGE}.pdf"),
    ("reception", "get", f"/api/v1/dossiers/{{code}}/attachments/{HUGE}"),
    ("designer", "get", f"/api/v1/procedures/judicial_record_certificate/versions/{HUGE}/export"),
])
def test_a_huge_id_in_the_path_is_not_found(client: FlaskClient, role: str, method: str,
                                            path: str) -> None:
    reception = _token(client, "reception")
    code = client.post("/api/v1/dossiers", headers=reception, json={
        "procedure": "judicial_record_certificate", "channel": "in_person",
        "applicant": {"name": "Trần Thị Bích", "id_number": "031195004321",
                      "phone": "0987654321", "address": "45 Lê Lợi, TP. Hồ Chí Minh"}},
    ).get_json()["code"]
    response = getattr(client, method)(path.format(code=code), headers=_token(client, role),
                                       json={})
    assert response.status_code == 404


def test_a_migration_to_a_huge_version_number_is_refused(client: FlaskClient) -> None:
    designer = _token(client, "designer")
    path = "/api/v1/procedures/outgoing_document/migration"
    response = client.post(path, headers=designer, json={"to": -(2**101), "dossiers": []})
    assert response.status_code == 422
    response = client.post(path, headers=designer, json={"to": 2**64, "dossiers": []})
    assert response.status_code == 422
    response = client.get(f"{path}?to={2**64}", headers=designer)
    assert response.status_code == 422


def test_a_policy_with_a_huge_number_of_working_days_is_refused(client: FlaskClient) -> None:
    response = client.put("/api/v1/procedures/notary_office_registration/escalation-policy",
                          headers=_token(client, "admin"),
                          json={"policy": {"warn_before_working_days": 6.0e16,
                                           "repeat_after_working_days": 2.0e270}})
    assert response.status_code == 422
