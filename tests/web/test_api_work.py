"""The officers' work through the API: filtered task lists, comments and files."""

from __future__ import annotations

import io
from datetime import timedelta

from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.conftest import MONDAY_9AM
from tests.engine.walk import APPLICANT, receive
from tests.web.conftest import Clock

PDF = b"%PDF-1.4\n% a verification letter\n%%EOF\n"


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _two(core: Core) -> tuple[str, str]:
    first = receive(core, MONDAY_9AM).code
    second = receive(core, MONDAY_9AM + timedelta(days=2),
                     applicant={**APPLICANT, "name": "Trần Thị Bích"}).code
    return first, second


def test_the_task_list_takes_the_filters_as_query_parameters(
        client: FlaskClient, sqlite_core: Core, clock: Clock) -> None:
    first, second = _two(sqlite_core)
    clock.now = MONDAY_9AM + timedelta(days=4, hours=1)
    headers = _token(client, "specialist")
    every = client.get("/api/v1/tasks", headers=headers).get_json()
    assert [(t["dossier_code"], t["urgency"]) for t in every["tasks"]] == [
        (first, "overdue"), (second, "on_track")]
    assert every["tasks"][0]["form"]["properties"] and every["has_next"] is False
    found = client.get("/api/v1/tasks?q=TRAN%20THI&view=group", headers=headers).get_json()
    assert [t["applicant_name"] for t in found["tasks"]] == ["Trần Thị Bích"]
    assert found["searched_all"] is True  # kept for v1 clients: every waiting step searched
    late = client.get("/api/v1/tasks?urgency=overdue&status=4&sort=received",
                      headers=headers).get_json()
    assert [t["dossier_code"] for t in late["tasks"]] == [first]
    assert client.get("/api/v1/tasks?view=mine", headers=headers).get_json()["tasks"] == []
    paged = client.get("/api/v1/tasks?per_page=1&page=2", headers=headers).get_json()
    assert [t["dossier_code"] for t in paged["tasks"]] == [second]


def test_a_wrong_filter_is_refused_with_a_message(client: FlaskClient,
                                                   sqlite_core: Core) -> None:
    response = client.get("/api/v1/tasks?urgency=soonish",
                          headers=_token(client, "specialist"))
    assert response.status_code == 422 and "urgency" in response.get_json()["error"]["fields"]
    headers = _token(client, "specialist")
    for query, field in (("per_page=abc", "per_page"), ("per_page=0", "per_page"),
                         ("per_page=1000", "per_page"), ("page=0", "page")):
        refused = client.get(f"/api/v1/tasks?{query}", headers=headers).get_json()["error"]
        assert refused["fields"] == {field: "Nhập số nguyên từ 1 đến "
                                     f"{200 if field == 'per_page' else 1_000_000}."}, query
    english = client.get("/api/v1/tasks?per_page=201", headers={
        **headers, "Accept-Language": "en"}).get_json()["error"]["fields"]
    assert english == {"per_page": "A whole number from 1 to 200."}


def test_officers_comment_on_a_dossier_through_the_api(client: FlaskClient,
                                                        sqlite_core: Core) -> None:
    first, _ = _two(sqlite_core)
    headers = _token(client, "specialist")
    created = client.post(f"/api/v1/dossiers/{first}/comments", headers=headers,
                          json={"body": "Chờ công an trả lời."})
    assert created.status_code == 201 and created.get_json()["author_name"] == "Specialist"
    listed = client.get(f"/api/v1/dossiers/{first}/comments",
                        headers=_token(client, "supervisor")).get_json()["comments"]
    assert [c["body"] for c in listed] == ["Chờ công an trả lời."]
    empty = client.post(f"/api/v1/dossiers/{first}/comments", headers=headers,
                        json={"body": ""})
    assert empty.status_code == 422 and "body" in empty.get_json()["error"]["fields"]
    missing = client.get("/api/v1/dossiers/NO-SUCH-CODE/comments", headers=headers)
    assert missing.status_code == 404
    assert client.get(f"/api/v1/dossiers/{first}/comments",
                      headers=_token(client, "designer")).status_code == 403


def test_a_file_is_uploaded_listed_and_downloaded_through_the_api(
        client: FlaskClient, sqlite_core: Core) -> None:
    first, second = _two(sqlite_core)
    headers = _token(client, "specialist")
    [task] = [t for t in client.get("/api/v1/tasks", headers=headers).get_json()["tasks"]
              if t["dossier_code"] == first]
    bad = client.post(f"/api/v1/tasks/{task['id']}/attachments", headers=headers,
                      data={"file": (io.BytesIO(b"MZ"), "a.exe")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "file" in bad.get_json()["error"]["fields"]
    created = client.post(f"/api/v1/tasks/{task['id']}/attachments", headers=headers,
                          data={"file": (io.BytesIO(PDF), "Công văn.pdf")},
                          content_type="multipart/form-data")
    assert created.status_code == 201
    attachment = created.get_json()
    assert attachment["purpose"] == "task" and attachment["filename"] == "Công văn.pdf"
    [listed] = client.get(f"/api/v1/dossiers/{first}/attachments",
                          headers=headers).get_json()["attachments"]
    download = client.get(listed["url"], headers=headers)
    body = download.get_data()
    download.close()
    assert download.status_code == 200 and body == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    other = client.get(f"/api/v1/dossiers/{second}/attachments/{attachment['id']}",
                       headers=headers)
    assert other.status_code == 404
    assert client.get(listed["url"]).status_code == 401


def test_the_openapi_document_describes_the_work_endpoints(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {"/tasks", "/dossiers/{code}/comments", "/dossiers/{code}/attachments",
            "/dossiers/{code}/attachments/{attachment_id}",
            "/tasks/{task_id}/attachments"} <= set(paths)
    assert set(paths["/dossiers/{code}/comments"]) == {"get", "post"}
    assert "multipart/form-data" in paths["/tasks/{task_id}/attachments"]["post"][
        "requestBody"]["content"]
    assert {"WorkTask", "Comment", "Attachment"} <= set(document["components"]["schemas"])
