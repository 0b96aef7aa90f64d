"""The JSON API: a client that knows only the API walks a dossier to its end."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import jsonschema
from flask.testing import FlaskClient

from tests.conftest import ROLES
from tests.web.conftest import Clock


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _fill(schema: dict[str, Any], choices: dict[str, Any]) -> dict[str, Any]:
    """Fill a form from its JSON Schema alone, as a generic client would: its required
    fields, then those its `allOf` rules require once the first are chosen."""
    data: dict[str, Any] = {}

    def fill(names: list[str]) -> None:
        for name in names:
            prop = schema["properties"][name]
            if name in choices:
                data[name] = choices[name]
            elif "enum" in prop:
                data[name] = prop["enum"][0]
            elif prop["type"] == "boolean":
                data[name] = True
            elif prop["type"] == "integer":
                data[name] = max(1, prop.get("minimum", 1))
            elif prop.get("format") == "date":
                data[name] = "2026-11-23"  # the clock's first day: no fact lies ahead
            else:
                data[name] = "Đã kiểm tra"

    fill(schema.get("required", []))
    for rule in schema.get("allOf", []):
        if all(data.get(k) == v["const"] for k, v in rule["if"]["properties"].items()):
            fill([n for n in rule["then"]["required"] if n not in data])
    return data


def test_a_client_walks_a_dossier_to_its_end_with_the_api_alone(client: FlaskClient,
                                                                 clock: Clock) -> None:
    headers = {role: _token(client, role) for role in ROLES}
    procedures = client.get("/api/v1/procedures", headers=headers["reception"]).get_json()
    code = procedures["procedures"][0]["code"]
    created = client.post("/api/v1/dossiers", headers=headers["reception"], json={
        "procedure": code, "channel": "online",
        "applicant": {"name": "Trần Thị Bích", "id_number": "031195004321",
                      "phone": "0987654321", "address": "45 Lê Lợi, TP. Hồ Chí Minh"}})
    assert created.status_code == 201
    dossier = created.get_json()
    assert dossier["status"] == 4 and dossier["appointment_at"].startswith("2026-12-04")
    steps = []
    for _ in range(10):
        current = client.get(f"/api/v1/dossiers/{dossier['code']}",
                             headers=headers["supervisor"]).get_json()
        if not current["tasks"]:
            break
        role = current["tasks"][0]["role"]
        [task] = [t for t in client.get("/api/v1/tasks", headers=headers[role])
                  .get_json()["tasks"] if t["dossier_code"] == dossier["code"]]
        assert client.post(f"/api/v1/tasks/{task['id']}/claim",
                           headers=headers[role]).status_code == 200
        clock.now += timedelta(hours=1)
        data = _fill(task["form"], {"needs_verification": False})
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers[role],
                               json={"data": data})
        assert response.status_code == 200, response.get_json()
        steps.append(task["name"])
    final = client.get(f"/api/v1/dossiers/{dossier['code']}", headers=headers["reception"])
    assert final.get_json()["status"] == 10
    assert len(steps) == 5


def test_errors_are_json_with_a_code_a_message_and_fields(client: FlaskClient) -> None:
    reception = _token(client, "reception")
    response = client.post("/api/v1/dossiers", headers=reception, json={
        "procedure": "judicial_record_certificate", "channel": "fax",
        "applicant": {"name": "A", "id_number": "123"}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "id_number", "phone", "address", "channel"}
    missing = client.get("/api/v1/dossiers/nope", headers=reception)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/tasks").get_json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/api/v1/escalations", headers=reception).status_code == 403


def test_completing_twice_is_a_conflict_and_a_bad_form_is_422(client: FlaskClient) -> None:
    reception, specialist = _token(client, "reception"), _token(client, "specialist")
    client.post("/api/v1/dossiers", headers=reception, json={
        "procedure": "judicial_record_certificate", "channel": "in_person",
        "applicant": {"name": "Lê Văn C", "id_number": "079201009876", "phone": "0901234567",
                      "address": "8 Trần Phú, Nha Trang"}})
    [task] = client.get("/api/v1/tasks", headers=specialist).get_json()["tasks"]
    bad = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                      json={"data": {"dossier_complete": "maybe"}})
    assert bad.status_code == 422
    assert "dossier_complete" in bad.get_json()["error"]["fields"]
    data = _fill(task["form"], {"needs_verification": False})
    first = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                        json={"data": data})
    assert first.status_code == 200
    # The answer: the dossier's status and its steps now waiting, as the document says and
    # as the dossier itself shows them.
    answer = first.get_json()
    document = client.get("/api/v1/openapi.json").get_json()
    jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Completion",
                                     "components": document["components"]}).validate(answer)
    dossier = client.get(f"/api/v1/dossiers/{task['dossier_code']}",
                         headers=specialist).get_json()
    assert answer["code"] == task["dossier_code"] and answer["status"] == dossier["status"]
    assert [(t["id"], t["name"], t["role"]) for t in answer["tasks"]] == [
        (t["id"], t["name"], t["role"]) for t in dossier["tasks"]]
    assert [t["role"] for t in answer["tasks"]] == ["specialist"]
    second = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=specialist,
                         json={"data": data})
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "conflict"


def test_english_messages_follow_accept_language(client: FlaskClient) -> None:
    response = client.get("/api/v1/tasks", headers={"Accept-Language": "en"})
    assert response.get_json()["error"]["message"].startswith("Send 'Authorization")


def test_the_openapi_document_describes_every_endpoint(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, operations in document["paths"].items()
                 for method in operations}
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):]), method)
              for rule in client.application.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
              for method in rule.methods or () if method not in {"HEAD", "OPTIONS"}}
    assert served - described == set()
    assert {"/auth/token", "/procedures", "/dossiers", "/dossiers/{code}", "/tasks",
            "/tasks/{task_id}/claim", "/tasks/{task_id}/complete",
            "/escalations", "/reports/summary",
            "/dossiers/{code}/tracking"} <= set(document["paths"])
