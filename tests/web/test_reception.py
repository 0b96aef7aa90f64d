"""The reception desk receives a dossier and shows its receipt."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from tests.conftest import HANOI
from tests.web.conftest import Auth, Clock

APPLICANT = {"procedure": "judicial_record_certificate", "channel": "in_person",
             "name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội", "email": ""}


def test_reception_receives_a_dossier_and_sees_its_code_and_appointment(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    response = auth.post("/dossiers/new", APPLICANT)
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "000.00.18.H57-261123-0001" in page
    assert "04/12/2026 09:00" in page  # the appointment date, in Hanoi time
    assert "Nguyễn Văn An" in page


def test_a_receipt_with_bad_details_is_refused_field_by_field(client: FlaskClient,
                                                              auth: Auth) -> None:
    auth.login("reception")
    response = auth.post("/dossiers/new", {**APPLICANT, "id_number": "12ab", "phone": ""},
                         page="/dossiers/new")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="id_number"' in page and 'data-field-error="phone"' in page
    assert 'value="Nguyễn Văn An"' in page  # what was typed is kept
    assert "H57-261123" not in client.get("/dossiers/").get_data(as_text=True)


def test_only_reception_may_receive(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert client.get("/dossiers/new").status_code == 403


def test_an_unknown_dossier_is_a_404_page(client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    assert client.get("/dossiers/000-000000-0000").status_code == 404


def test_the_tracking_sheet_agrees_with_the_receipt_in_page_print_and_json(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    code = auth.post("/dossiers/new", APPLICANT).headers["Location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    page = client.get(f"/dossiers/{code}/tracking").get_data(as_text=True)
    assert "04/12/2026 09:00" in page and "27/11/2026 09:00" in page  # appointment, step due
    printable = client.get(f"/dossiers/{code}/tracking?print=1").get_data(as_text=True)
    assert code in printable and "navbar" not in printable
    token = client.post("/api/v1/auth/token", json={"username": "reception", "password": "pw"})
    sheet = client.get(f"/api/v1/dossiers/{code}/tracking", headers={
        "Authorization": f"Bearer {token.get_json()['token']}"}).get_json()
    assert sheet["appointment_at"] == "2026-12-04T02:00:00+00:00"
    [handoff] = sheet["handoffs"]
    assert handoff["due_at"] == "2026-11-27T02:00:00+00:00"
    assert handoff["result"] == "within_deadline"


def test_receipt_tasklist_and_tracking_sheet_agree_across_tet(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    clock.now = datetime(2027, 2, 3, 15, 30, tzinfo=HANOI)  # after the cut-off, eve of Tết
    auth.login("reception")
    location = auth.post("/dossiers/new", APPLICANT).headers["Location"]  # type: ignore[attr-defined]
    code = location.rsplit("/", 1)[1]
    assert "23/02/2027 07:30" in client.get(location).get_data(as_text=True)
    tracking = client.get(f"/dossiers/{code}/tracking").get_data(as_text=True)
    assert "23/02/2027 07:30" in tracking and "16/02/2027 07:30" in tracking
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    tasks = client.get("/").get_data(as_text=True)
    assert "16/02/2027 07:30" in tasks and "23/02/2027 07:30" in tasks


def test_a_clerk_registers_an_incoming_document_with_its_sender_not_a_citizen(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("clerk")
    page = client.get("/dossiers/new?procedure=incoming_document").get_data(as_text=True)
    assert "Số, ký hiệu văn bản" in page and "Số CCCD/CMND" not in page
    response = auth.post("/dossiers/new", {
        "procedure": "incoming_document", "channel": "post",
        "name": "Ủy ban nhân dân huyện Đông Anh", "id_number": "123/UBND-VP"},
        page="/dossiers/new?procedure=incoming_document")
    assert response.status_code == 302  # type: ignore[attr-defined]
    dossier = client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "123/UBND-VP" in dossier and "Ủy ban nhân dân huyện Đông Anh" in dossier
