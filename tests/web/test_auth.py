"""Logging in and out."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.web.conftest import Auth


def test_pages_need_a_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_wrong_password_is_refused_with_a_message(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/login", data={"username": "specialist", "password": "nope",
                                           "csrf_token": auth.csrf()})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)


def test_a_login_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "specialist", "password": "pw"})
    assert response.status_code == 400


def test_an_officer_logs_in_and_out(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert "Specialist" in client.get("/").get_data(as_text=True)
    auth.post("/logout", {}, page="/")
    assert client.get("/").status_code == 302


def test_the_username_may_be_typed_with_a_capital(client: FlaskClient, auth: Auth) -> None:
    auth.login("Specialist ")
    assert "Specialist" in client.get("/").get_data(as_text=True)
    token = client.post("/api/v1/auth/token", json={"username": "SPECIALIST", "password": "pw"})
    assert token.status_code == 201


def test_the_language_switch_is_remembered(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert "Công việc của tôi" in client.get("/").get_data(as_text=True)
    client.get("/lang/en?next=/")
    assert "My tasks" in client.get("/").get_data(as_text=True)
