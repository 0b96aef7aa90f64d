"""The reception desk's JSON API: receipt with a checklist, the online queue, the forms."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import at
from tests.engine.test_reception import ALL_FIVE, PERSON, submitted

JUDICIAL = "judicial_record_certificate"


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _receive(client: FlaskClient, headers: dict[str, str], **extra: Any) -> Any:
    return client.post("/api/v1/dossiers", headers=headers, json={
        "procedure": JUDICIAL, "applicant": PERSON, "channel": "in_person",
        "documents_received": ALL_FIVE, "return_method": "post",
        "return_address": "5 Tràng Tiền, Hà Nội", **extra})


def test_a_dossier_is_received_with_its_checklist_and_its_slip_is_a_pdf(
        client: FlaskClient) -> None:
    reception = _token(client, "reception")
    created = _receive(client, reception)
    assert created.status_code == 201, created.get_json()
    code = created.get_json()["code"]
    slip = client.get(f"/api/v1/dossiers/{code}/slip.pdf", headers=reception)
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    upload = client.post(f"/api/v1/dossiers/{code}/attachments", headers=reception,
                         data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "cccd.pdf"),
                               "document_index": "1"}, content_type="multipart/form-data")
    assert upload.status_code == 201 and upload.get_json()["document_index"] == 1
    files = client.get(f"/api/v1/dossiers/{code}/attachments", headers=reception).get_json()
    assert [f["filename"] for f in files["attachments"]] == ["cccd.pdf"]
    designer = _token(client, "designer")
    assert client.get(f"/api/v1/dossiers/{code}/slip.pdf", headers=designer).status_code == 403
    assert client.get(f"/api/v1/dossiers/{code}/slip.pdf").status_code == 401


def test_a_receipt_missing_a_document_gets_a_message_beside_it(client: FlaskClient) -> None:
    response = _receive(client, _token(client, "reception"), documents_received=ALL_FIVE[1:],
                        return_address="")
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"document_0", "return_address"}


def test_the_desk_issues_a_supplement_request_and_a_refusal(client: FlaskClient) -> None:
    reception = _token(client, "reception")
    response = client.post("/api/v1/intake/supplement-request", headers=reception, json={
        "procedure": JUDICIAL, "applicant": PERSON, "channel": "in_person",
        "documents_received": ALL_FIVE[2:], "note": "Ảnh 4x6"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["outcome"]) == (5, "not_received")
    assert len(body["notice"]["items"]) == 3
    pdf = client.get(body["notice"]["pdf"], headers=reception)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    bad = client.post("/api/v1/intake/refusal", headers=reception, json={
        "procedure": JUDICIAL, "applicant": PERSON, "channel": "online", "reason": "x"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"channel", "reason"}
    refused = client.post("/api/v1/intake/refusal", headers=reception, json={
        "procedure": JUDICIAL, "applicant": PERSON, "channel": "post",
        "reason": "Không thuộc thẩm quyền"})
    assert refused.status_code == 201 and refused.get_json()["status"] == 3


def test_the_online_queue_through_the_api(client: FlaskClient, app: Flask) -> None:
    core = app.extensions["motcua"]
    first = submitted(core, at(19, 16), "000.00.18.H57-261119-0001")
    second = submitted(core, at(20, 16), "000.00.18.H57-261120-0001")
    third = submitted(core, at(20, 17), "000.00.18.H57-261120-0002")
    reception = _token(client, "reception")
    queue = client.get("/api/v1/submissions", headers=reception).get_json()["submissions"]
    assert [s["code"] for s in queue] == [first, second, third]
    accepted = client.post(f"/api/v1/submissions/{first}/accept", headers=reception)
    assert accepted.status_code == 200
    assert accepted.get_json()["appointment_at"] == "2026-12-04T02:00:00+00:00"
    again = client.post(f"/api/v1/submissions/{first}/accept", headers=reception)
    assert again.status_code == 409
    empty = client.post(f"/api/v1/submissions/{second}/supplement-request",
                        headers=reception, json={"items": []})
    assert empty.status_code == 422 and "items" in empty.get_json()["error"]["fields"]
    sent_back = client.post(f"/api/v1/submissions/{second}/supplement-request",
                            headers=reception, json={"items": ["Bản chụp CCCD"]})
    assert sent_back.status_code == 201 and sent_back.get_json()["kind"] == "supplement"
    refused = client.post(f"/api/v1/submissions/{third}/refusal", headers=reception,
                          json={"reason": "Không cư trú tại tỉnh"})
    assert refused.status_code == 201
    assert client.get("/api/v1/submissions", headers=reception).get_json() == {
        "submissions": []}
    specialist = _token(client, "specialist")
    assert client.get("/api/v1/submissions", headers=specialist).status_code == 403


def test_every_reception_endpoint_is_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in [("/submissions", "get"), ("/submissions/{code}/accept", "post"),
                         ("/submissions/{code}/supplement-request", "post"),
                         ("/submissions/{code}/refusal", "post"),
                         ("/intake/supplement-request", "post"), ("/intake/refusal", "post"),
                         ("/dossiers/{code}/slip.pdf", "get"),
                         ("/dossiers/{code}/notices/{notice_id}.pdf", "get"),
                         ("/dossiers/{code}/attachments", "post"),
                         ("/dossiers/{code}/attachments", "get")]:
        assert method in paths[path], path
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "documents_received" in schemas["NewDossier"]["properties"]
    assert "birth_date" in schemas["Applicant"]["properties"]
