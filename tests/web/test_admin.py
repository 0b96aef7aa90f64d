"""The administrator keeps the working-day calendar."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.services import dossiers
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import receive
from tests.web.conftest import Auth


def test_an_administrator_adds_a_day_off_and_open_deadlines_move(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("admin")
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "Ngày Văn hóa Việt Nam" in page  # the public holidays of the year
    response = auth.post("/admin/calendar", {"day": "2026-11-26", "kind": "day_off",
                                             "note": "Nghỉ bù"}, page="/admin/calendar")
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'data-day="2026-11-26"' in page
    assert "1 ngày hẹn trả và 1 hạn bước xử lý" in page
    moved = dossiers.get_dossier(sqlite_core, dossier.code).dossier
    assert moved.appointment_at == at(7, 9, month=12)


def test_a_bad_date_is_refused_and_a_useless_override_explained(client: FlaskClient,
                                                                auth: Auth) -> None:
    auth.login("admin")
    response = auth.post("/admin/calendar", {"day": "", "kind": "day_off"},
                         page="/admin/calendar")
    assert response.status_code == 422  # type: ignore[attr-defined]
    auth.post("/admin/calendar", {"day": "2026-11-29", "kind": "day_off"},
              page="/admin/calendar")
    assert "29/11/2026" in client.get("/admin/calendar").get_data(as_text=True)


def test_days_beyond_the_calendar_are_refused_on_the_day_field(client: FlaskClient,
                                                              auth: Auth) -> None:
    auth.login("admin")
    for day in ("0001-01-01", "9999-12-31"):
        response = auth.post("/admin/calendar", {"day": day, "kind": "day_off"},
                             page="/admin/calendar")
        assert response.status_code == 422  # type: ignore[attr-defined]
        page = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert "Vui lòng chọn ngày trong khoảng từ năm 2000 đến năm 2100." in page
        assert 'is-invalid" type="date"' in page
    page = client.get("/admin/calendar?year=9999").get_data(as_text=True)
    assert "data-day=" not in page
    assert client.get("/admin/calendar?year=99999").status_code == 200


def test_only_administrators_keep_the_calendar(client: FlaskClient, auth: Auth) -> None:
    auth.login("supervisor")
    assert client.get("/admin/calendar").status_code == 403
