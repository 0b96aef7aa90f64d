"""The dossier page and the citizen's lookup show an appointment moved for verification."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.demo import step_data
from engine.services import portal
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, receive
from tests.web.conftest import Auth


def _verified(core: Core) -> str:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23") | {"needs_verification": True})
    return dossier.code


def test_the_dossier_history_says_why_the_appointment_moved_in_both_languages(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    code = _verified(sqlite_core)
    auth.login("reception")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Ngày hẹn trả được lùi lại theo thời hạn luật định cho trường hợp này" in page
    assert "15/12/2026 09:00" in page
    client.get("/lang/en")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Appointment date moved to the time the law allows for this path" in page


def test_the_citizens_lookup_shows_the_new_appointment_and_why(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    code = _verified(sqlite_core)
    client.post("/portal/lookup", data={"code": code, "id_number": "001089012345",
                                        "csrf_token": auth.csrf("/portal/lookup")})
    page = client.get(f"/portal/dossiers/{code}").get_data(as_text=True)
    assert "15/12/2026 09:00" in page and "04/12/2026 09:00" not in page
    assert "Hồ sơ của bạn cần xác minh" in page
    assert portal.public_dossier(sqlite_core, code).dossier.appointment_at == at(
        15, 9, month=12)
