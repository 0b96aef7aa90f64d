"""The designers' area: pages, the form preview, saving, validating and deploying, the API."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.engine.test_design import PROPERTIES, with_fee_check
from tests.web.conftest import Auth

CODE = "judicial_record_certificate"


def _csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'data-csrf="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_only_designers_and_administrators_enter(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert client.get("/design/").status_code == 403
    assert 'href="/design/"' not in client.get("/tasks/").get_data(as_text=True)
    auth.login("admin")
    assert client.get("/design/").status_code == 200


def test_the_list_shows_each_procedure_and_its_latest_version(client: FlaskClient,
                                                              auth: Auth) -> None:
    auth.login("designer")
    page = client.get("/design/").get_data(as_text=True)
    assert f'data-code="{CODE}"' in page and 'href="/design/"' in page


def test_the_diagram_page_loads_the_modeler_and_the_draft(client: FlaskClient,
                                                          auth: Auth) -> None:
    auth.login("designer")
    page = client.get(f"/design/{CODE}").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in page and "designer.js" in page
    assert "&#34;role&#34;: &#34;reception&#34;" in page  # the lanes' roles for the panel
    xml = client.get(f"/design/{CODE}/draft.bpmn").get_data(as_text=True)
    assert 'id="check_records"' in xml
    for tab in ("metadata", "forms", "versions"):
        assert client.get(f"/design/{CODE}/{tab}").status_code == 200


def test_saving_validating_and_deploying_from_the_modeler(client: FlaskClient, auth: Auth,
                                                          sqlite_core: Core) -> None:
    auth.login("designer")
    headers = {"X-CSRFToken": _csrf(client, f"/design/{CODE}")}
    xml = client.get(f"/design/{CODE}/draft.bpmn").get_data(as_text=True)
    saved = client.post(f"/design/{CODE}/draft", headers=headers, json={
        "bpmn_xml": with_fee_check(xml, ""), "lanes": {"Lãnh đạo Sở": {"role": "leader"}},
        "new_forms": ["check_fees"]})
    assert saved.status_code == 200 and "check_fees" in saved.get_json()["forms"]
    result = client.post(f"/design/{CODE}/validate", headers=headers).get_json()
    problem = next(p for p in result["problems"] if p["element_id"] == "check_fees")
    assert problem["severity"] == "error" and "Kiểm tra lệ phí" in problem["message"]
    refused = client.post(f"/design/{CODE}/deploy", headers=headers,
                          json={"change_note": "Thêm bước"})
    assert refused.status_code == 422 and refused.get_json()["error"]["problems"]
    client.post(f"/design/{CODE}/draft", headers=headers, json={
        "bpmn_xml": with_fee_check(xml, PROPERTIES), "lanes": {
            "Bộ phận Một cửa": {"role": "reception"},
            "Chuyên viên Phòng Hành chính tư pháp": {"role": "specialist"},
            "Trưởng phòng Hành chính tư pháp": {"role": "head"},
            "Lãnh đạo Sở": {"role": "leader"}}})
    clean = client.post(f"/design/{CODE}/validate", headers=headers).get_json()
    assert clean["errors"] == 0, clean
    deployed = client.post(f"/design/{CODE}/deploy", headers=headers,
                           json={"change_note": "Thêm bước kiểm tra lệ phí"})
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2
    versions = client.get(f"/design/{CODE}/versions").get_data(as_text=True)
    assert "Thêm bước kiểm tra lệ phí" in versions and 'data-version="2"' in versions


def test_a_mapping_removed_in_the_panel_shows_as_an_error_of_its_lane(client: FlaskClient,
                                                                     auth: Auth) -> None:
    auth.login("designer")
    headers = {"X-CSRFToken": _csrf(client, f"/design/{CODE}")}
    xml = client.get(f"/design/{CODE}/draft.bpmn").get_data(as_text=True)
    client.post(f"/design/{CODE}/draft", headers=headers,
                json={"bpmn_xml": xml, "lanes": {"Bộ phận Một cửa": {"role": "reception"}}})
    result = client.post(f"/design/{CODE}/validate", headers=headers).get_json()
    assert result["errors"] > 0


def test_the_preview_shows_the_form_or_why_it_cannot(client: FlaskClient, auth: Auth) -> None:
    auth.login("designer")
    headers = {"X-CSRFToken": _csrf(client, f"/design/{CODE}/forms")}
    shown = client.post(f"/design/{CODE}/forms/preview", headers=headers, data={
        "schema": '{"type": "object", "properties": {"paid": {"type": "boolean", '
                  '"title": "Đã nộp lệ phí"}}, "required": ["paid"]}'})
    assert "Đã nộp lệ phí" in shown.get_data(as_text=True)
    broken = client.post(f"/design/{CODE}/forms/preview", headers=headers,
                         data={"schema": '{"type": '}).get_data(as_text=True)
    assert 'data-testid="preview-error"' in broken
    unusable = client.post(f"/design/{CODE}/forms/preview", headers=headers,
                           data={"schema": '{"type": 7}'}).get_data(as_text=True)
    assert 'data-testid="preview-error"' in unusable


def test_forms_and_metadata_are_saved_in_the_draft(client: FlaskClient, auth: Auth) -> None:
    auth.login("designer")
    created = auth.post(f"/design/{CODE}/forms", {"key": "check_fees"},
                        page=f"/design/{CODE}/forms")
    assert created.status_code == 302  # type: ignore[attr-defined]
    assert "check_fees" in client.get(f"/design/{CODE}/forms?form=check_fees").get_data(
        as_text=True)
    bad = auth.post(f"/design/{CODE}/forms", {"key": "check_fees", "schema": "{oops"},
                    page=f"/design/{CODE}/forms")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    refused = auth.post(f"/design/{CODE}/metadata", {
        "name": "Cấp Phiếu", "field": "judicial_records", "statutory_working_days": "10",
        "committed_working_days": "abc", "fee_vnd": "200000", "escalation": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field-error="committed_working_days"' in refused.get_data(  # type: ignore[attr-defined]
        as_text=True)
    saved = auth.post(f"/design/{CODE}/metadata", {
        "name": "Cấp Phiếu LLTP", "field": "judicial_records", "statutory_working_days": "10",
        "committed_working_days": "7", "fee_vnd": "200000", "escalation": "",
        "doc_name": "Tờ khai", "doc_copies": "1", "doc_optional": "no"})
    assert saved.status_code == 302  # type: ignore[attr-defined]
    assert "Cấp Phiếu LLTP" in client.get(f"/design/{CODE}/metadata").get_data(as_text=True)


def test_an_empty_form_is_refused_and_the_saved_form_kept(client: FlaskClient,
                                                         auth: Auth) -> None:
    auth.login("designer")
    page = f"/design/{CODE}/forms?form=check_records"
    before = client.get(f"/api/v1/design/{CODE}/draft", headers=_token(client, "designer"))
    refused = auth.post(f"/design/{CODE}/forms", {"key": "check_records", "schema": "  "},
                        page=page)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Biểu mẫu đang để trống nên chưa lưu gì" in text and "&#34;properties&#34;" in text
    after = client.get(f"/api/v1/design/{CODE}/draft", headers=_token(client, "designer"))
    assert after.get_json()["forms"] == before.get_json()["forms"]


def test_creating_a_form_under_a_name_in_use_is_refused(client: FlaskClient,
                                                        auth: Auth) -> None:
    auth.login("designer")
    page = f"/design/{CODE}/forms"
    refused = auth.post(page, {"key": "check_records"}, page=page)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Đã có biểu mẫu tên check_records" in refused.get_data(  # type: ignore[attr-defined]
        as_text=True)
    draft = client.get(f"/api/v1/design/{CODE}/draft", headers=_token(client, "designer"))
    assert draft.get_json()["forms"]["check_records"]["properties"]


def test_removing_a_form_asks_for_confirmation(client: FlaskClient, auth: Auth) -> None:
    auth.login("designer")
    page = client.get(f"/design/{CODE}/forms?form=check_records").get_data(as_text=True)
    assert 'data-confirm="Xoá biểu mẫu check_records khỏi bản nháp?' in page
    assert "/static/confirm.js" in page


def test_a_new_procedure_opens_in_the_modeler(client: FlaskClient, auth: Auth) -> None:
    auth.login("designer")
    response = auth.post("/design/new", {"code": "copy_certification", "name": "Chứng thực"},
                         page="/design/")
    assert response.headers["Location"] == "/design/copy_certification"  # type: ignore[attr-defined]
    assert 'data-code="copy_certification"' in client.get("/design/").get_data(as_text=True)


def test_the_api_refuses_deployment_with_the_problems(client: FlaskClient) -> None:
    headers = _token(client, "designer")
    draft = client.get(f"/api/v1/design/{CODE}/draft", headers=headers).get_json()
    assert draft["base_version"] == 1 and "check_records" in draft["forms"]
    put = client.put(f"/api/v1/design/{CODE}/draft", headers=headers,
                     json={"bpmn_xml": with_fee_check(draft["bpmn_xml"], "")})
    assert put.status_code == 200
    checked = client.post(f"/api/v1/design/{CODE}/validate", headers=headers).get_json()
    assert any(p["element_id"] == "check_fees" for p in checked["problems"])
    refused = client.post(f"/api/v1/design/{CODE}/deploy", headers=headers,
                          json={"change_note": "Thêm bước"})
    error = refused.get_json()["error"]
    assert refused.status_code == 422 and error["code"] == "invalid"
    assert {"element_id": "check_fees", "severity": "error"}.items() <= next(
        p for p in error["problems"] if p["element_id"] == "check_fees").items()
    assert all("line" in p for p in error["problems"])
    client.put(f"/api/v1/design/{CODE}/draft", headers=headers,
               json={"bpmn_xml": with_fee_check(draft["bpmn_xml"], PROPERTIES)})
    deployed = client.post(f"/api/v1/design/{CODE}/deploy", headers=headers,
                           json={"change_note": "Thêm bước"})
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2
    history = client.get(f"/api/v1/design/{CODE}/versions", headers=headers).get_json()
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert client.get(f"/api/v1/design/{CODE}/draft",
                      headers=_token(client, "specialist")).status_code == 403
