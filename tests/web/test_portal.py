"""The citizen portal through the test client: catalogue, submission, lookup, answer, rating."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Attachment, Dossier, Rating
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import APPLICANT, complete, receive
from tests.web.conftest import Auth

PDF = b"%PDF-1.4\n% scan\n%%EOF\n"
JUDICIAL = "judicial_record_certificate"
PERSON = {**APPLICANT, "birth_date": "1989-05-17", "email": "an@example.vn"}


def _files(count: int = 5) -> dict[str, object]:
    return {f"document_{i}": [(io.BytesIO(PDF), f"giay to {i}.pdf")] for i in range(count)}


def _submit(client: FlaskClient, auth: Auth, **overrides: object) -> object:
    path = f"/portal/submit/{JUDICIAL}"
    data: dict[str, object] = {**PERSON, "return_method": "in_person", "consent": "on",
                               **_files(), "csrf_token": auth.csrf(path), **overrides}
    return client.post(path, data=data, content_type="multipart/form-data")


def _look_up(client: FlaskClient, auth: Auth, code: str, id_number: str) -> object:
    return client.post("/portal/lookup", data={"code": code, "id_number": id_number,
                                               "csrf_token": auth.csrf("/portal/lookup")})


def test_the_catalogue_shows_deadlines_fees_documents_and_online_links(
        client: FlaskClient) -> None:
    page = client.get("/portal/").get_data(as_text=True)
    assert "Lý lịch tư pháp" in page and "200.000 đồng" in page
    assert "8 ngày làm việc" in page or "8 working days" in page
    assert f'href="/portal/submit/{JUDICIAL}"' in page
    assert 'href="/portal/submit/incoming_document"' not in page
    client.get("/lang/en")
    english = client.get("/portal/").get_data(as_text=True)
    assert "Judicial records" in english and "VND 200,000" in english
    assert "Luật Lý lịch tư pháp" not in english  # the legal basis is published in Vietnamese


def test_a_citizen_submits_online_and_gets_a_code_and_its_lookup_address(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    response = _submit(client, auth)
    assert response.status_code == 302, response.get_data(as_text=True)  # type: ignore[attr-defined]
    page = client.get(response.location).get_data(as_text=True)  # type: ignore[attr-defined]
    code = "000.00.18.H57-261123-0001"
    assert code in page
    assert f"http://127.0.0.1:5000/portal/lookup?code={code}" in page
    with sqlite_core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier)).one()
        files = uow.session.scalars(select(Attachment)).all()
    assert (dossier.status, dossier.channel, dossier.outcome) == (1, "online", "not_received")
    assert len(files) == 5
    # The browser that submitted may open the dossier without looking it up.
    assert client.get(f"/portal/dossiers/{code}").status_code == 200


def test_a_bad_field_gives_a_422_page_that_keeps_the_input(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    response = _submit(client, auth, id_number="12345", return_address="",
                       return_method="post", **{"document_1": []})
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field-error="id_number"' in page and 'data-field-error="document_1"' in page
    assert 'data-field-error="return_address"' in page
    assert 'value="Nguyễn Văn An"' in page and 'value="12345"' in page
    assert re.search(r'id="f-return-post" value="post"\s+checked', page)
    with sqlite_core.uow() as uow:
        assert not uow.session.scalars(select(Dossier)).all()


def test_a_procedure_not_offered_online_points_to_the_desk(client: FlaskClient) -> None:
    page = client.get("/portal/submit/incoming_document").get_data(as_text=True)
    assert 'data-testid="not-online"' in page and "submit-form" not in page
    assert client.get("/portal/submit/nope").status_code == 404


def test_lookup_reveals_nothing_without_both_code_and_id_number(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    code = receive(sqlite_core, MONDAY_9AM).code
    assert client.get(f"/portal/dossiers/{code}").status_code == 302
    wrong_code = _look_up(client, auth, code[:-1] + "9", APPLICANT["id_number"])
    wrong_id = _look_up(client, auth, code, "001089012399")
    for response in (wrong_code, wrong_id):
        assert response.status_code == 404  # type: ignore[attr-defined]
        assert 'data-testid="not-found"' in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert (_strip(wrong_code.get_data(as_text=True))  # type: ignore[attr-defined]
            == _strip(wrong_id.get_data(as_text=True)))  # type: ignore[attr-defined]
    assert client.get(f"/portal/dossiers/{code}").status_code == 302
    right = _look_up(client, auth, code, APPLICANT["id_number"])
    assert right.location.endswith(f"/portal/dossiers/{code}")  # type: ignore[attr-defined]
    page = client.get(f"/portal/dossiers/{code}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page and "04/12/2026 09:00" in page
    assert "Reception" not in page and "reception" not in page.split("<main")[1].lower() \
        .replace("reception desk", "")


def _strip(page: str) -> str:
    """A page without its CSRF token and the values typed back into the form."""
    return re.sub(r'name="(csrf_token|code|id_number)" value="[^"]*"', "", page)


def test_a_supplement_is_answered_with_files(client: FlaskClient, auth: Auth,
                                             sqlite_core: Core) -> None:
    code = receive(sqlite_core, MONDAY_9AM).code
    complete(sqlite_core, code, "check_records", at(23, 10),
             {"dossier_complete": False, "missing_documents": "Bản chụp CCCD rõ nét",
              "residence_history": "one_province", "needs_verification": False})
    _look_up(client, auth, code, APPLICANT["id_number"])
    page = client.get(f"/portal/dossiers/{code}").get_data(as_text=True)
    assert "Bản chụp CCCD rõ nét" in page and 'data-testid="supplement-form"' in page
    path = f"/portal/dossiers/{code}/supplement"
    token = auth.csrf(f"/portal/dossiers/{code}")
    empty = client.post(path, data={"note": "", "csrf_token": token},
                        content_type="multipart/form-data")
    assert empty.status_code == 422 and 'data-field-error="files"' in empty.get_data(as_text=True)
    sent = client.post(path, data={"note": "Gửi bản chụp mới",
                                   "files": [(io.BytesIO(PDF), "cccd.pdf")],
                                   "csrf_token": auth.csrf(f"/portal/dossiers/{code}")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302
    page = client.get(sent.location).get_data(as_text=True)
    assert 'data-testid="answer-sent"' in page and "cccd.pdf" in page
    with sqlite_core.uow() as uow:
        [file] = uow.session.scalars(select(Attachment)).all()
    download = client.get(f"/portal/dossiers/{code}/files/{file.id}")
    body = download.data
    download.close()
    assert download.status_code == 200 and body == PDF


def test_a_returned_dossier_is_rated_once(client: FlaskClient, auth: Auth,
                                          sqlite_core: Core) -> None:
    code = receive(sqlite_core, MONDAY_9AM).code
    moment = MONDAY_9AM
    for bpmn_id in ("check_records", "draft_certificate", "review", "sign", "return_result"):
        moment += timedelta(hours=1)
        complete(sqlite_core, code, bpmn_id, moment)
    _look_up(client, auth, code, APPLICANT["id_number"])
    path = f"/portal/dossiers/{code}/rating"
    bad = auth.post(path, {"contacts": "satisfied"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field-error="overall"' in bad.get_data(as_text=True)  # type: ignore[attr-defined]
    good = auth.post(path, {"overall": "very_satisfied", "on_time": "satisfied",
                            "comment": "Nhanh"})
    assert good.status_code == 302  # type: ignore[attr-defined]
    again = client.post(path, data={"overall": "not_satisfied",
                                    "csrf_token": auth.csrf("/portal/lookup")})
    assert again.status_code == 409
    assert "already been rated" in again.get_data(as_text=True) or \
        "đã được đánh giá" in again.get_data(as_text=True)
    with sqlite_core.uow() as uow:
        [rating] = uow.session.scalars(select(Rating)).all()
    assert rating.answers == {"on_time": "satisfied"}


# --- the same actions under /api/v1 -------------------------------------------------------

def test_the_api_submits_looks_up_and_describes_itself(client: FlaskClient) -> None:
    catalogue = client.get("/api/v1/portal/procedures").get_json()
    [judicial] = [p for p in catalogue["procedures"] if p["code"] == JUDICIAL]
    assert judicial["online"] and len(judicial["documents"]) == 5
    bad = client.post("/api/v1/portal/dossiers", data={"procedure": JUDICIAL, **PERSON,
                                                        "phone": "x", "consent": "true",
                                                        "return_method": "in_person"},
                      content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert bad.status_code == 422
    assert {"phone", "document_0"} <= set(bad.get_json()["error"]["fields"])
    created = client.post("/api/v1/portal/dossiers", data={
        "procedure": JUDICIAL, **PERSON, "consent": "true", "return_method": "online",
        **_files()}, content_type="multipart/form-data")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["lookup_url"].endswith(f"/portal/lookup?code={body['code']}")
    missing = client.post("/api/v1/portal/lookup",
                          json={"code": body["code"], "id_number": "001089012399"})
    unknown = client.post("/api/v1/portal/lookup",
                          json={"code": "000.00.18.H57-261123-0999",
                                "id_number": APPLICANT["id_number"]})
    assert missing.status_code == unknown.status_code == 404
    assert missing.get_json() == unknown.get_json()
    found = client.post("/api/v1/portal/lookup",
                        json={"code": body["code"], "id_number": APPLICANT["id_number"]})
    view = found.get_json()
    assert (view["status"], view["appointment_at"], len(view["files"])) == (1, None, 5)
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/portal/procedures", "/portal/dossiers", "/portal/lookup",
                 "/portal/dossiers/{code}/supplement", "/portal/dossiers/{code}/rating"):
        assert path in paths
    submission = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"][
        "PortalSubmission"]
    assert "birth_date" in submission["properties"]


def test_the_api_answers_a_supplement_and_rates_once(client: FlaskClient,
                                                      sqlite_core: Core) -> None:
    code = receive(sqlite_core, MONDAY_9AM).code
    complete(sqlite_core, code, "check_records", at(23, 10),
             {"dossier_complete": False, "missing_documents": "Bản chụp CCCD",
              "residence_history": "one_province", "needs_verification": False})
    wrong = client.post(f"/api/v1/portal/dossiers/{code}/supplement",
                        data={"id_number": "1", "note": "x"}, content_type="multipart/form-data")
    assert wrong.status_code == 404
    answered = client.post(f"/api/v1/portal/dossiers/{code}/supplement", data={
        "id_number": APPLICANT["id_number"], "note": "Đã gửi",
        "files": [(io.BytesIO(PDF), "cccd.pdf")]}, content_type="multipart/form-data")
    assert answered.status_code == 200 and answered.get_json()["notices"][0]["answered"]
    early = client.post(f"/api/v1/portal/dossiers/{code}/rating",
                        json={"id_number": APPLICANT["id_number"], "overall": "satisfied"})
    assert early.status_code == 409
    moment = at(24, 9)
    for bpmn_id in ("receive_supplement", "check_records", "draft_certificate", "review",
                    "sign", "return_result"):
        moment += timedelta(minutes=30)
        complete(sqlite_core, code, bpmn_id, moment)
    rated = client.post(f"/api/v1/portal/dossiers/{code}/rating",
                        json={"id_number": APPLICANT["id_number"], "overall": "satisfied",
                              "publicity": "very_satisfied"})
    assert rated.status_code == 201, rated.get_json()
    again = client.post(f"/api/v1/portal/dossiers/{code}/rating",
                        json={"id_number": APPLICANT["id_number"], "overall": "satisfied"})
    assert again.status_code == 409


def test_a_portal_error_page_leads_citizens_back_to_the_portal_not_the_login(
        client: FlaskClient, auth: Auth) -> None:
    expired = client.post("/portal/lookup", data={"code": "X", "id_number": "1"})
    missing = client.get("/portal/no-such-page")
    assert (expired.status_code, missing.status_code) == (400, 404)
    for response in (expired, missing):
        page = response.get_data(as_text=True)
        assert 'href="/portal/"' in page and "Quay về trang Dịch vụ công" in page
        assert "Quay về công việc của tôi" not in page
    auth.login("reception")
    page = client.get("/dossiers/no-such-dossier").get_data(as_text=True)
    assert "Quay về công việc của tôi" in page  # officers go back to their tasks
    assert "Quay về trang Dịch vụ công" in client.get("/portal/no-such-page").get_data(
        as_text=True)


def test_the_catalogue_marks_optional_documents_once_and_shows_no_internal_remark(
        client: FlaskClient) -> None:
    page = client.get("/portal/").get_data(as_text=True)
    assert "hộ nghèo…), nếu có — 1 bản</li>" in page
    assert "xem notes" not in page and "Thông tư số 220/2016/TT-BTC" in page
