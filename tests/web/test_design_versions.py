"""The designers' version pages and API: diff, export/import, test runs, moving dossiers."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.services import accounts, catalogue, versions
from tests.conftest import MONDAY_9AM
from tests.engine.test_incident_migration import (
    FIXED,
    LAW,
    deploy,
    law_with,
    stopped_on_version_two,
)
from tests.engine.variants import STAMP_NAME, judicial_record, version_two
from tests.engine.walk import complete, receive
from tests.web.conftest import Auth

CODE = "judicial_record_certificate"
POLICE = "Gửi yêu cầu xác minh và nhận kết quả xác minh từ Công an tỉnh"


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _deploy_two(core: Core) -> None:
    catalogue.deploy(core, version_two(), "designer", MONDAY_9AM + timedelta(minutes=5))


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_diff_page_lists_what_changed(client: FlaskClient, auth: Auth,
                                          sqlite_core: Core) -> None:
    _deploy_two(sqlite_core)
    auth.login("designer")
    page = _page(client, f"/design/{CODE}/versions/diff?from=1&to=2")
    assert STAMP_NAME in page and POLICE in page and "targetRef" in page
    assert "<td>Công việc của cán bộ</td>" in page and "userTask" not in page
    assert "request_police_verification" in page


def test_only_designers_and_administrators_see_the_version_pages(client: FlaskClient,
                                                                 auth: Auth) -> None:
    auth.login("specialist")
    for path in ["versions/diff", "test-run", "migrate", "versions/1/export.zip"]:
        assert client.get(f"/design/{CODE}/{path}").status_code == 403
    auth.client.get("/logout")
    auth.login("admin")
    assert client.get(f"/design/{CODE}/versions/diff").status_code == 200


def test_a_version_exports_and_imports_back_into_the_draft(client: FlaskClient, auth: Auth,
                                                           sqlite_core: Core) -> None:
    auth.login("designer")
    exported = client.get(f"/design/{CODE}/versions/1/export.zip")
    assert exported.mimetype == "application/zip"
    bpmn = client.get(f"/design/{CODE}/versions/1/export.bpmn")
    assert bpmn.get_data(as_text=True) == judicial_record().bpmn_xml
    page = f"/design/{CODE}/versions/diff"
    response = client.post(f"/design/{CODE}/import", data={
        "csrf_token": auth.csrf(page), "file": (io.BytesIO(exported.data), "folder.zip")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    package, source = versions.current_package(sqlite_core, CODE)
    assert source == "draft" and package.content_hash == judicial_record().content_hash


def test_a_hostile_upload_is_refused_with_a_message(client: FlaskClient, auth: Auth,
                                                    sqlite_core: Core) -> None:
    auth.login("designer")
    page = f"/design/{CODE}/versions/diff"
    response = client.post(f"/design/{CODE}/import", data={
        "csrf_token": auth.csrf(page), "file": (io.BytesIO(b"junk"), "folder.zip")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "zip" in response.get_data(as_text=True)
    assert versions.current_package(sqlite_core, CODE)[1] == "1"


def test_xml_that_is_not_bpmn_is_refused_and_the_draft_kept(client: FlaskClient, auth: Auth,
                                                            sqlite_core: Core) -> None:
    auth.login("designer")
    page = f"/design/{CODE}/versions/diff"
    response = client.post(f"/design/{CODE}/import", data={
        "csrf_token": auth.csrf(page), "file": (io.BytesIO(b"<root><a/></root>"), "other.xml")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Tệp không phải sơ đồ BPMN" in response.get_data(as_text=True)
    assert versions.current_package(sqlite_core, CODE)[1] == "1"


def test_a_test_run_advances_with_each_form_and_shows_its_path(client: FlaskClient,
                                                              auth: Auth) -> None:
    auth.login("designer")
    page = f"/design/{CODE}/test-run"
    started = client.post(page, data={"csrf_token": auth.csrf(page), "source": "1"})
    run_url = started.headers["Location"]
    html = _page(client, run_url)
    assert 'data-active=\'["check_records"]\'' in html
    run_id = re.search(r"run=([\w-]+)", run_url).group(1)  # type: ignore[union-attr]
    task_id = re.search(r'name="task_id" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert client.get(f"/design/{CODE}/test-run/{run_id}/diagram.bpmn").status_code == 200
    wrong = client.post(f"/design/{CODE}/test-run/{run_id}/complete", data={
        "csrf_token": auth.csrf(run_url), "task_id": task_id})
    assert wrong.status_code == 422
    done = client.post(f"/design/{CODE}/test-run/{run_id}/complete", data={
        "csrf_token": auth.csrf(run_url), "task_id": task_id, "dossier_complete": "true",
        "residence_history": "one_province", "needs_verification": "false"})
    assert done.status_code == 302
    html = _page(client, run_url)
    assert 'data-active=\'["draft_certificate"]\'' in html
    assert "gateway_needs_verification" in html
    # Under another procedure's address the run is not there.
    assert client.get(f"/design/outgoing_document/test-run/{run_id}/diagram.bpmn"
                      ).status_code == 404
    elsewhere = client.get(f"/design/outgoing_document/test-run?run={run_id}").text
    assert "hết hạn" in elsewhere and "draft_certificate" not in elsewhere


def test_the_migrate_page_moves_the_dossiers_that_can_move(client: FlaskClient, auth: Auth,
                                                           sqlite_core: Core) -> None:
    waiting = receive(sqlite_core, MONDAY_9AM)
    verifying = receive(sqlite_core, MONDAY_9AM)
    complete(sqlite_core, verifying.code, "check_records", MONDAY_9AM,
             {"dossier_complete": True, "residence_history": "one_province",
              "needs_verification": True})
    _deploy_two(sqlite_core)
    auth.login("designer")
    page = f"/design/{CODE}/migrate?to=2"
    html = _page(client, page)
    assert f'value="{waiting.code}:' in html and f'value="{verifying.code}:' not in html
    assert f"bước hiện tại &#39;{POLICE}&#39; đã bị xoá" in html or POLICE in html
    value = re.search(rf'value="({re.escape(waiting.code)}:\d+)"', html).group(1)  # type: ignore[union-attr]
    moved = client.post(f"/design/{CODE}/migrate", data={
        "csrf_token": auth.csrf(page), "to": "2", "dossier": value}, follow_redirects=True)
    assert waiting.code in moved.get_data(as_text=True)
    assert f'value="{waiting.code}:' not in moved.get_data(as_text=True)


def test_the_migrate_page_links_a_dossier_only_for_who_may_open_it(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    waiting = receive(sqlite_core, MONDAY_9AM)
    _deploy_two(sqlite_core)
    link = f'href="/dossiers/{waiting.code}"'
    auth.login("designer")
    html = _page(client, f"/design/{CODE}/migrate?to=2")
    assert waiting.code in html and link not in html
    assert client.get(f"/dossiers/{waiting.code}").status_code == 403
    accounts.create_user(sqlite_core, username="desk_designer", password="pw",
                         full_name="Desk and designer", roles=["designer", "reception"])
    auth.login("desk_designer")
    assert link in _page(client, f"/design/{CODE}/migrate?to=2")
    assert client.get(f"/dossiers/{waiting.code}").status_code == 200


def test_the_api_diffs_exports_imports_runs_and_migrates(client: FlaskClient,
                                                         sqlite_core: Core) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    _deploy_two(sqlite_core)
    headers = _token(client, "designer")
    diff = client.get(f"/api/v1/procedures/{CODE}/versions/diff?from=1&to=2", headers=headers)
    assert "stamp" in [e["id"] for e in diff.get_json()["added"]]
    exported = client.get(f"/api/v1/procedures/{CODE}/versions/2/export", headers=headers)
    assert exported.mimetype == "application/zip"
    imported = client.post(f"/api/v1/procedures/{CODE}/import", headers=headers,
                           data={"file": (io.BytesIO(exported.data), "v2.zip")},
                           content_type="multipart/form-data")
    assert imported.status_code == 201
    assert imported.get_json()["content_hash"] == version_two().content_hash
    run = client.post(f"/api/v1/procedures/{CODE}/test-runs", headers=headers,
                      json={"source": "draft"}).get_json()
    step = run["ready"][0]
    assert step["bpmn_id"] == "check_records" and step["form"]["type"] == "object"
    run = client.post(f"/api/v1/test-runs/{run['id']}/tasks/{step['id']}/complete",
                      headers=headers, json={"data": {
                          "dossier_complete": True, "residence_history": "one_province",
                          "needs_verification": False}}).get_json()
    assert run["ready"][0]["bpmn_id"] == "draft_certificate"
    preview = client.get(f"/api/v1/procedures/{CODE}/migration?to=2", headers=headers)
    [row] = preview.get_json()["dossiers"]
    assert row["can_move"] and row["code"] == dossier.code
    complete(sqlite_core, dossier.code, "check_records", MONDAY_9AM)  # meanwhile
    stale = client.post(f"/api/v1/procedures/{CODE}/migration", headers=headers, json={
        "to": 2, "dossiers": [{"code": dossier.code, "revision": row["revision"]}]})
    assert stale.status_code == 409 and stale.get_json()["results"][0]["conflict"]
    fresh = client.post(f"/api/v1/procedures/{CODE}/migration", headers=headers, json={
        "to": 2, "dossiers": [{"code": dossier.code}]})
    assert fresh.status_code == 200 and fresh.get_json()["results"][0]["moved"]
    specialist = _token(client, "specialist")
    assert client.get(f"/api/v1/procedures/{CODE}/migration?to=2",
                      headers=specialist).status_code == 403
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/procedures/{code}/migration", "/test-runs/{run_id}",
            "/procedures/{code}/import"} <= set(paths)


def test_the_migrate_page_lists_a_stopped_dossier_and_moves_it_for_a_retry(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    code = stopped_on_version_two(sqlite_core)
    deploy(sqlite_core, law_with(FIXED), 4)
    auth.login("designer")
    page = f"/design/{LAW}/migrate?to=3"
    html = _page(client, page)
    assert f'data-testid="stopped-{code}"' in html and "khong_co_bien" in html
    assert "Bị dừng do lỗi" in html and "Quy trình bị dừng" in html
    value = re.search(rf'value="({re.escape(code)}:\d+)"', html).group(1)  # type: ignore[union-attr]
    moved = client.post(f"/design/{LAW}/migrate", data={
        "csrf_token": auth.csrf(page), "to": "3", "dossier": value}, follow_redirects=True)
    text = moved.get_data(as_text=True)
    assert f"Đã chuyển sang phiên bản 3: {code}." in text
    assert f"Vẫn bị dừng do lỗi: {code}." in text
    client.get("/lang/en")
    assert "stopped on an error moves in the same way" in _page(client, page)
    retried = auth.post(f"/incidents/{code}/retry", {}, page="/incidents/")
    assert retried.status_code == 302  # type: ignore[attr-defined]
    assert 'data-testid="no-incidents"' in _page(client, "/incidents/")


def test_the_incidents_page_leads_to_the_newer_version(client: FlaskClient, auth: Auth,
                                                       sqlite_core: Core) -> None:
    code = stopped_on_version_two(sqlite_core)
    deploy(sqlite_core, law_with(FIXED), 4)
    auth.login("designer")
    html = _page(client, "/incidents/")
    assert f'href="/design/{LAW}/migrate?to=3" data-testid="move-{code}"' in html
    assert "Chuyển sang phiên bản 3" in html
    auth.post(f"/incidents/{code}/retry", {}, page="/incidents/")  # fails again on v2
    html = _page(client, "/incidents/")
    assert "khong_co_bien" in html
    assert f"Hồ sơ {code} vẫn dùng phiên bản cũ" in html
    auth.client.get("/logout")
    auth.login("supervisor")  # may retry, may not move: told who can
    html = _page(client, "/incidents/")
    assert "Đã có phiên bản 3 mới hơn" in html and f'data-testid="move-{code}"' not in html


def test_the_api_says_which_dossier_is_stopped_and_still_stopped_once_moved(
        client: FlaskClient, sqlite_core: Core) -> None:
    code = stopped_on_version_two(sqlite_core)
    deploy(sqlite_core, law_with(FIXED), 4)
    headers = _token(client, "designer")
    preview = client.get(f"/api/v1/procedures/{LAW}/migration?to=3", headers=headers).get_json()
    [row] = preview["dossiers"]
    assert row["can_move"] and "khong_co_bien" in row["incident"]
    moved = client.post(f"/api/v1/procedures/{LAW}/migration", headers=headers, json={
        "to": 3, "dossiers": [{"code": code, "revision": row["revision"]}]}).get_json()
    assert moved["results"] == [{"code": code, "moved": True, "conflict": False,
                                 "reasons": [], "incident": True}]


def test_why_a_dossier_cannot_move_is_said_in_the_users_words(client: FlaskClient, auth: Auth,
                                                              sqlite_core: Core) -> None:
    signed = receive(sqlite_core, MONDAY_9AM)
    for minute, step in enumerate(["check_records", "draft_certificate", "review", "sign"]):
        complete(sqlite_core, signed.code, step, MONDAY_9AM + timedelta(minutes=minute))
    _deploy_two(sqlite_core)
    auth.login("designer")
    html = _page(client, f"/design/{CODE}/migrate?to=2")
    assert "(điều kiện, luồng ra)" in html and "outgoing" not in html
