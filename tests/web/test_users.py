"""Administrators manage users in pages and through the API; every change is audited."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Event, User
from engine.services import accounts, users
from tests.conftest import MONDAY_9AM
from tests.web.conftest import Auth

GOOD = "correct horse 42"


def _id(core: Core, username: str) -> int:
    with core.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return user_id


def _kinds(core: Core) -> list[tuple[str | None, str]]:
    with core.uow() as uow:
        return [(e.actor, e.kind) for e in uow.session.scalars(
            select(Event).where(Event.dossier_id.is_(None), Event.kind.not_like("login%"))
            .order_by(Event.id))]


def _token(client: FlaskClient, username: str, password: str = "pw") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username,
                                                        "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}",
            "Accept-Language": "en"}


def _status(response: object) -> int:
    return int(response.status_code)  # type: ignore[attr-defined]


def test_only_administrators_see_the_user_pages_and_endpoints(client: FlaskClient,
                                                              auth: Auth) -> None:
    assert client.get("/admin/users").status_code == 302  # to the login page
    auth.login("supervisor")
    for path in ("/admin/users", "/admin/users/new", "/admin/users/1"):
        assert client.get(path).status_code == 403
    headers = _token(client, "supervisor")
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    assert client.patch("/api/v1/users/1", json={"active": False},
                        headers=headers).status_code == 403
    assert client.get("/account/password").status_code == 200  # any logged-in user


def test_an_administrator_creates_a_user_who_then_logs_in(app: Flask, client: FlaskClient,
                                                          auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    assert 'href="/admin/users"' in client.get("/admin/calendar").get_data(as_text=True)
    response = auth.post("/admin/users/new", {
        "username": "lan.nt", "password": GOOD, "full_name": "Nguyễn Thị Lan",
        "roles": "reception", "department": "one_stop", "email": ""})
    assert _status(response) == 302
    page = client.get("/admin/users?q=nguyen thi").get_data(as_text=True)
    assert 'data-username="lan.nt"' in page and 'data-username="head"' not in page
    assert _kinds(sqlite_core)[-1] == ("admin", "user_created")
    Auth(app.test_client()).login("lan.nt", GOOD)


def test_bad_input_shows_the_form_again_with_messages_in_the_users_language(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    client.get("/lang/en")
    response = auth.post("/admin/users/new", {"username": "Lan Nguyen", "password": "123",
                                              "full_name": "Lan", "roles": "mayor"})
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert _status(response) == 422
    assert "A username has 3 to 64 characters" in page
    assert "at least 10 characters" in page and "Unknown role(s): mayor" in page
    assert 'value="Lan Nguyen"' in page and "123" not in re.findall(r'value="([^"]*)"', page)
    assert _kinds(sqlite_core) == []


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, auth: Auth) -> None:
    auth.login("admin")
    page = client.get("/admin/users/1").get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 4  # profile, access, password, log-out forms
    response = client.post("/admin/users/new", data={"username": "x.y", "password": GOOD,
                                                     "full_name": "X", "roles": "clerk"})
    assert response.status_code == 400


def test_roles_change_with_checkboxes_and_a_stale_form_is_refused(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("admin")
    client.get("/lang/en")
    clerk = _id(sqlite_core, "clerk")
    page = client.get(f"/admin/users/{clerk}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\w+)"', page)
    assert version
    form = {"full_name": "Clerk", "email": "", "department": "", "version": version.group(1),
            "csrf_token": auth.csrf(f"/admin/users/{clerk}")}
    response = client.post(f"/admin/users/{clerk}", data={**form, "roles": ["clerk",
                                                                           "reception"]})
    assert response.status_code == 302
    # A second administrator's form, loaded before that change, would undo it: refused.
    response = client.post(f"/admin/users/{clerk}", data={**form, "roles": ["clerk", "head"]},
                           follow_redirects=True)
    assert "changed this user meanwhile" in response.get_data(as_text=True)
    assert users.get_user(sqlite_core, clerk, MONDAY_9AM).user.roles == "clerk,reception"
    assert _kinds(sqlite_core) == [("admin", "user_roles_changed")]


def test_an_administrator_keeps_their_own_role_and_account(client: FlaskClient, auth: Auth,
                                                           sqlite_core: Core) -> None:
    auth.login("admin")
    client.get("/lang/en")
    admin = _id(sqlite_core, "admin")
    page = client.get(f"/admin/users/{admin}").get_data(as_text=True)
    assert 'data-testid="active-form"' not in page  # no button to deactivate oneself
    version = re.search(r'name="version" value="(\w+)"', page)
    assert version
    response = auth.post(f"/admin/users/{admin}", {
        "full_name": "Admin", "roles": "supervisor", "version": version.group(1)},
        page=f"/admin/users/{admin}")
    assert _status(response) == 302
    assert "cannot remove your own administrator role" in client.get(
        f"/admin/users/{admin}").get_data(as_text=True)
    response = auth.post(f"/admin/users/{admin}/active", {"active": "0"},
                         page=f"/admin/users/{admin}")
    assert "deactivate your own account" in client.get(
        f"/admin/users/{admin}").get_data(as_text=True)
    assert _kinds(sqlite_core) == []


def test_a_locked_account_is_unlocked_and_its_owner_logs_in(app: Flask, client: FlaskClient,
                                                            auth: Auth,
                                                            sqlite_core: Core) -> None:
    leader = Auth(app.test_client())
    token = leader.csrf()
    for _ in range(accounts.MAX_FAILED_LOGINS):
        leader.client.post("/login", data={"username": "leader", "password": "no",
                                           "csrf_token": token})
    auth.login("admin")
    leader_id = _id(sqlite_core, "leader")
    assert 'data-testid="locked"' in client.get("/admin/users").get_data(as_text=True)
    assert _status(auth.post(f"/admin/users/{leader_id}/unlock", {},
                             page=f"/admin/users/{leader_id}")) == 302
    leader.login("leader")
    assert ("admin", "user_unlocked") in _kinds(sqlite_core)


def test_a_deactivated_users_session_and_token_are_refused(app: Flask, client: FlaskClient,
                                                           auth: Auth, sqlite_core: Core) -> None:
    head = Auth(app.test_client())
    head.login("head")
    headers = _token(head.client, "head")
    assert head.client.get("/account/password").status_code == 200
    auth.login("admin")
    head_id = _id(sqlite_core, "head")
    assert _status(auth.post(f"/admin/users/{head_id}/active", {"active": "0"},
                             page=f"/admin/users/{head_id}")) == 302
    response = head.client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert head.client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert ("admin", "user_deactivated") in _kinds(sqlite_core)


def test_tokens_are_revoked_from_the_users_page(client: FlaskClient, auth: Auth,
                                                sqlite_core: Core) -> None:
    headers = _token(client, "specialist")
    auth.login("admin")
    specialist = _id(sqlite_core, "specialist")
    page = client.get(f"/admin/users/{specialist}").get_data(as_text=True)
    token_id = re.search(r'data-token="(\d+)"', page)
    assert token_id and headers["Authorization"][7:] not in page
    auth.post(f"/admin/users/{specialist}/tokens/{token_id.group(1)}/revoke", {},
              page=f"/admin/users/{specialist}")
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert _kinds(sqlite_core)[-1] == ("admin", "token_revoked")


def test_an_administrator_resets_a_password(app: Flask, client: FlaskClient, auth: Auth,
                                            sqlite_core: Core) -> None:
    auth.login("admin")
    clerk = _id(sqlite_core, "clerk")
    response = auth.post(f"/admin/users/{clerk}/password", {"password": "clerk"},
                         page=f"/admin/users/{clerk}")
    assert _status(response) == 422
    auth.post(f"/admin/users/{clerk}/password", {"password": GOOD},
              page=f"/admin/users/{clerk}")
    Auth(app.test_client()).login("clerk", GOOD)
    assert _kinds(sqlite_core)[-1] == ("admin", "user_password_reset")


def test_a_user_changes_their_own_password(app: Flask, client: FlaskClient, auth: Auth,
                                           sqlite_core: Core) -> None:
    auth.login("head")
    client.get("/lang/en")
    response = auth.post("/account/password", {"old_password": "wrong", "password": GOOD,
                                               "confirm": GOOD})
    assert _status(response) == 422
    assert "current password is wrong" in response.get_data(as_text=True)  # type: ignore
    response = auth.post("/account/password", {"old_password": "pw", "password": GOOD,
                                               "confirm": GOOD + "!"})
    assert _status(response) == 422
    response = auth.post("/account/password", {"old_password": "pw", "password": GOOD,
                                               "confirm": GOOD})
    assert _status(response) == 302
    Auth(app.test_client()).login("head", GOOD)
    assert _kinds(sqlite_core) == [("head", "password_changed")]


def test_the_api_manages_users_and_clients_log_out(client: FlaskClient,
                                                   sqlite_core: Core) -> None:
    admin = _token(client, "admin")
    created = client.post("/api/v1/users", headers=admin, json={
        "username": "minh.tv", "password": GOOD, "full_name": "Trần Văn Minh",
        "roles": ["specialist"]})
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    assert (user["roles"], user["active"], user["locked_until"]) == (["specialist"], True, None)
    bad = client.post("/api/v1/users", headers=admin, json={
        "username": "minh.tv", "password": "minh.tv", "full_name": "X", "roles": ["x"]})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {
        "password", "roles"}
    url = f"/api/v1/users/{user['id']}"
    patched = client.patch(url, headers=admin, json={
        "roles": ["specialist", "head"], "department": "judicial", "version": user["version"]})
    assert patched.get_json()["roles"] == ["head", "specialist"]
    stale = client.patch(url, headers=admin, json={"roles": ["leader"],
                                                   "version": user["version"]})
    assert stale.status_code == 409
    assert client.get(url, headers=admin).get_json()["department"] == "judicial"
    mine = _token(client, "minh.tv", GOOD)
    tokens = client.get(f"{url}/tokens", headers=admin).get_json()["tokens"]
    assert [t["state"] for t in tokens] == ["active"]
    assert client.delete(f"{url}/tokens/{tokens[0]['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/tasks", headers=mine).status_code == 401
    assert client.post(f"{url}/unlock", headers=admin).status_code == 409  # not locked
    reset = client.post(f"{url}/password", headers=admin, json={"password": GOOD + "!"})
    assert reset.get_json() == {"id": user["id"], "tokens_revoked": 0}
    listed = client.get("/api/v1/users?q=minh", headers=admin).get_json()["users"]
    assert [u["username"] for u in listed] == ["minh.tv"]
    admin_id = _id(sqlite_core, "admin")
    demoted = client.patch(f"/api/v1/users/{admin_id}", headers=admin,
                           json={"roles": ["supervisor"]})
    assert demoted.status_code == 403
    assert "own administrator role" in demoted.get_json()["error"]["message"]
    assert client.delete("/api/v1/auth/token", headers=admin).status_code == 204
    assert client.get("/api/v1/users", headers=admin).status_code == 401
    assert [k for _, k in _kinds(sqlite_core)] == [
        "user_created", "user_roles_changed", "user_department_changed", "token_revoked",
        "user_password_reset", "token_revoked"]


def test_the_last_active_administrator_cannot_be_removed_through_the_api(
        client: FlaskClient, sqlite_core: Core) -> None:
    admin = _token(client, "admin")
    designer = _id(sqlite_core, "designer")
    client.patch(f"/api/v1/users/{designer}", headers=admin,
                 json={"roles": ["designer", "admin"]})
    second = _token(client, "designer")
    admin_id = _id(sqlite_core, "admin")
    assert client.patch(f"/api/v1/users/{admin_id}", headers=second,
                        json={"active": False}).status_code == 200
    # The designer is now the only administrator and cannot demote themselves.
    response = client.patch(f"/api/v1/users/{designer}", headers=second,
                            json={"roles": ["designer"]})
    assert response.status_code == 403
    assert client.get("/api/v1/users", headers=admin).status_code == 401  # deactivated


def test_a_password_reset_ends_the_sessions_opened_with_the_old_password(
        app: Flask, sqlite_core: Core) -> None:
    victim = Auth(app.test_client())
    victim.login("specialist")
    assert victim.client.get("/account/password").status_code == 200
    users.reset_password(sqlite_core, "admin", _id(sqlite_core, "specialist"),
                         "a-new-password-2026", MONDAY_9AM)
    response = victim.client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    victim.login("specialist", "a-new-password-2026")
    assert victim.client.get("/account/password").status_code == 200
