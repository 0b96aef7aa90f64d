"""Supervisors read Biểu II.06a as a page, a CSV and an Excel file; clients get it as JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Dossier, Procedure
from tests.conftest import at
from tests.web.conftest import Auth


@pytest.fixture(autouse=True)
def registered(app: Flask) -> Flask:
    """The reports' blueprints on the app, until the app factory registers them itself."""
    from web import csrf, reports

    if "reports" not in app.blueprints:
        app.register_blueprint(reports.bp)
    if "reports_api" not in app.blueprints:
        app.register_blueprint(reports.api_bp)
        csrf.exempt(reports.api_bp)
    return app


@pytest.fixture(autouse=True)
def dossiers(sqlite_core: Core) -> None:
    """November 2026 for judicial records: 2 online, 1 by post, 1 carried over; 1 early."""
    rows: list[tuple[str, datetime, datetime, datetime | None]] = [
        ("online", at(2, 9), at(12, 9), at(10, 15)),   # early
        ("online", at(16, 9), at(26, 9), None),        # within deadline on 23/11
        ("post", at(3, 9), at(13, 9), None),           # overdue on 23/11
        ("in_person", at(20, 9, month=10), at(30, 9, month=10), None),  # carried over, overdue
    ]
    with sqlite_core.uow() as uow:
        procedure = uow.session.scalars(select(Procedure).where(
            Procedure.code == "judicial_record_certificate")).one()
        assert procedure.latest_version_id is not None
        for number, (channel, received, appointment, resolved) in enumerate(rows):
            uow.session.add(Dossier(
                code=f"WEB-{number}", procedure_id=procedure.id,
                procedure_version_id=procedure.latest_version_id, applicant_name="Phạm Thị Hoa",
                applicant_id_number="001089012345", channel=channel,
                status=4 if resolved is None else 10, received_at=received,
                appointment_at=appointment, original_appointment_at=appointment,
                resolved_at=resolved, outcome="early" if resolved else None))
        uow.commit()


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_the_supervisor_sees_this_months_report_in_vietnamese_with_its_chart(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("supervisor")
    response = client.get("/reports/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="2026-11-01"' in page and 'value="2026-11-23"' in page
    for term in ("Lĩnh vực", "Trực tuyến", "Từ kỳ trước chuyển qua", "Trước hạn",
                 "Trong hạn", "Lý lịch tư pháp", "Tổng cộng"):
        assert term in page
    chart = re.search(r'<script type="application/json" id="report-chart">(.*?)</script>',
                      page, re.S)
    assert chart and json.loads(chart.group(1))["labels"][0]
    assert "vendor/chartjs/chart.umd.js" in page and "reports.js" in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all("src=" in s or "application/json" in s for s in scripts), "no inline script"
    assert "/reports/summary.csv?" in page and "/reports/summary.xlsx?" in page


def test_a_period_that_ends_before_it_begins_is_shown_back_with_the_message(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("head")
    response = client.get("/reports/?from=2026-11-20&to=2026-11-01&by=field")
    assert response.status_code == 422
    assert "Ngày kết thúc không được trước ngày bắt đầu." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reports/", "/reports/summary.csv", "/reports/summary.xlsx"])
def test_days_beyond_the_calendar_are_refused_not_a_server_error(
        client: FlaskClient, auth: Auth, path: str) -> None:
    auth.login("supervisor")
    response = client.get(f"{path}?from=0001-01-01&to=9999-12-31&by=field")
    assert response.status_code == 422
    if path == "/reports/":
        assert "Chọn ngày trong khoảng từ năm 2000 đến năm 2100." in response.get_data(
            as_text=True)


def test_a_specialist_may_not_see_the_report(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/summary.csv").status_code == 403


def _csv(client: FlaskClient) -> list[list[str]]:
    response = client.get("/reports/summary.csv?from=2026-11-01&to=2026-11-23&by=field")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_has_the_header_then_one_row_per_field_then_the_total(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("leader")
    header, *rows = _csv(client)
    assert header[:3] == ["Lĩnh vực", "Số hồ sơ tiếp nhận – Tổng số",
                          "Số hồ sơ tiếp nhận – Trực tuyến"]
    by_label = {row[0]: row[1:] for row in rows}
    # received, online, in person/post, carried over, resolved, early, on time, late,
    # in progress, within deadline, overdue, then the four percentages
    assert by_label["Lý lịch tư pháp"] == ["4", "2", "1", "1", "1", "1", "0", "0", "3", "1",
                                           "2", "100.0", "0.0", "0.0", "100.0"]
    assert rows[-1][0] == "Tổng cộng" and rows[-1][1:] == by_label["Lý lịch tư pháp"]
    assert len(rows) == 6  # five fields and the total


def test_the_xlsx_opens_and_holds_the_same_numbers_as_the_csv(client: FlaskClient,
                                                               auth: Auth) -> None:
    auth.login("supervisor")
    rows = {row[0]: [float(v) for v in row[1:]] for row in _csv(client)[1:]}
    response = client.get("/reports/summary.xlsx?from=2026-11-01&to=2026-11-23&by=field")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    cells = {str(row[0]): [float(v) for v in row[1:]]  # type: ignore[arg-type]
             for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert cells == rows
    assert "Biểu II.06a" in str(sheet["A1"].value)


def test_the_api_returns_the_report_as_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/reports/summary?from=2026-11-01&to=2026-11-23&by=procedure",
                          headers=_token(client, "supervisor"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"], body["by"]) == ("2026-11-01", "2026-11-23", "procedure")
    [row] = [r for r in body["rows"] if r["key"] == "judicial_record_certificate"]
    assert {k: row[k] for k in ("online", "in_person_post", "carried_over", "received",
                                "early", "resolved", "within_deadline", "overdue")} == {
        "online": 2, "in_person_post": 1, "carried_over": 1, "received": 4, "early": 1,
        "resolved": 1, "within_deadline": 1, "overdue": 2}
    assert body["total"]["early_or_on_time_pct"] == 100.0


@pytest.mark.parametrize("query, field", [
    ("to=2026-11-30", "from"),
    ("from=2026-11-31&to=2026-12-01", "from"),
    ("from=2026-11-30&to=2026-11-01", "to"),
    ("from=2026-11-01&to=2026-11-30&by=month", "by"),
])
def test_the_api_refuses_bad_or_missing_dates_with_422(client: FlaskClient, query: str,
                                                        field: str) -> None:
    response = client.get(f"/api/v1/reports/summary?{query}",
                          headers={**_token(client, "head"), "Accept-Language": "en"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert error["message"] == "The report's period is wrong: correct the fields marked."


def test_the_api_wants_a_token_of_a_supervising_role(client: FlaskClient) -> None:
    url = "/api/v1/reports/summary?from=2026-11-01&to=2026-11-30"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=_token(client, "specialist")).status_code == 403
