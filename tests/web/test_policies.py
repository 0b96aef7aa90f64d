"""The administrator's escalation policy page: edit, validate, reset."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.services.escalation_settings import get_policy
from tests.web.conftest import Auth

URL = "/admin/escalation/judicial_record_certificate"


def _form(page: str) -> dict[str, list[str]]:
    """The fields the page would post as it stands (checked boxes and selected options)."""
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or ('type="checkbox"' in tag and "checked" not in tag):
            continue
        fields.setdefault(name.group(1), []).append(value.group(1) if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'value="([^"]+)"\s+selected', body)
        fields[name] = [selected.group(1) if selected else "fraction"]
    return fields


def test_only_an_administrator_opens_the_policies(client: FlaskClient, auth: Auth) -> None:
    auth.login("head")
    assert client.get("/admin/escalation/").status_code == 403


def test_the_administrator_sets_a_step_policy_and_returns_to_the_deployed_one(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    page = client.get(URL).get_data(as_text=True)
    assert "Ký Phiếu lý lịch tư pháp" in page and 'name="step-sign-own" value="1"' in page
    fields = _form(page)
    assert fields["default-warn_value"] == ["75"] and fields["step-sign-warn_value"] == ["50"]
    fields.update({"step-check_records-own": ["1"], "step-check_records-warn_mode": ["before"],
                   "step-check_records-warn_value": ["0.5"],
                   "step-check_records-levels": ["officer", "head"], "action": ["save"]})
    response = client.post(URL, data=fields)
    assert response.status_code == 302
    setting = get_policy(sqlite_core, "judicial_record_certificate")
    assert setting.overridden and setting.table["steps"]["check_records"] == {
        "warn_before_working_days": 0.5, "repeat_after_working_days": 1.0,
        "levels": ["officer", "head"]}
    assert setting.table["steps"]["sign"]["levels"] == ["officer"]
    saved = client.get(URL)  # the page it redirects to shows who set the policy, and when
    assert saved.status_code == 200
    assert "Do admin thiết lập lúc" in saved.get_data(as_text=True)
    reset = client.post(URL, data={"csrf_token": fields["csrf_token"], "action": "reset"})
    assert reset.status_code == 302
    assert not get_policy(sqlite_core, "judicial_record_certificate").overridden


def test_wrong_values_are_marked_beside_their_fields_and_nothing_changes(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    client.get("/lang/en")
    fields = _form(client.get(URL).get_data(as_text=True))
    fields.update({"default-warn_value": ["150"], "default-repeat": ["0.3"],
                   "default-levels": [], "action": ["save"]})
    response = client.post(URL, data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "between 1 and 99" in page and "steps of 0.5" in page and "at least one level" in page
    assert 'value="150"' in page  # what was typed is kept
    assert not get_policy(sqlite_core, "judicial_record_certificate").overridden


def test_delays_beyond_a_working_year_are_marked_on_their_own_field(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    fields = _form(client.get(URL).get_data(as_text=True))
    fields.update({"default-repeat": ["300"], "step-sign-warn_mode": ["before"],
                   "step-sign-warn_value": ["300"], "action": ["save"]})
    response = client.post(URL, data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "escalation." not in page
    for field in ("default-repeat", "step-sign-warn_value"):
        assert re.search(rf'is-invalid[^>]*name="{field}"', page), field
    assert page.count("tối đa 250") == 2
    assert not get_policy(sqlite_core, "judicial_record_certificate").overridden


def test_an_unknown_procedure_is_not_found(client: FlaskClient, auth: Auth) -> None:
    auth.login("admin")
    assert client.get("/admin/escalation/no_such_procedure").status_code == 404


def test_the_api_reads_and_sets_a_policy(client: FlaskClient, sqlite_core: Core) -> None:
    headers = _token(client, "admin")
    path = "/api/v1/procedures/judicial_record_certificate/escalation-policy"
    before = client.get(path, headers=headers).get_json()
    assert before["overridden"] is False and before["policy"]["levels"] == [
        "officer", "head", "leader"]
    bad = client.put(path, headers=headers, json={"policy": {"levels": ["minister"]}})
    assert bad.status_code == 422 and "officer, head, leader" in bad.get_json()[
        "error"]["fields"]["policy"]
    done = client.put(path, headers=headers, json={"policy": {"levels": ["officer"]}})
    assert done.status_code == 200 and done.get_json()["overridden"] is True
    assert client.put(path, headers=_token(client, "head"),
                      json={"policy": None}).status_code == 403
    assert client.put(path, headers=headers, json={"policy": None}).get_json()[
        "overridden"] is False
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "put"} <= set(document["paths"]["/procedures/{code}/escalation-policy"])


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
