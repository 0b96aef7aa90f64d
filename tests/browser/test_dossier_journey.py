"""In a real browser: reception receives a dossier, each officer completes their step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.web.conftest import Clock

pytestmark = pytest.mark.browser

APPLICANT = {"#f-name": "Phạm Thị Dung", "#f-id_number": "036187001122",
             "#f-phone": "0934567890", "#f-address": "27 Nguyễn Huệ, phường Vĩnh Ninh, Huế",
             "#f-birth_date": "1987-04-12"}


def _login(browser: Any, server: LiveServer, username: str) -> Any:
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=whoami]")
    return page


def _complete_first_task(page: Any, server: LiveServer, fill: dict[str, str],
                         choose: dict[str, str], radios: list[str]) -> None:
    page.goto(f"{server.url}/")
    page.click("[data-task-id] a.btn")
    page.click("form[action$='/claim'] button")
    for selector, value in fill.items():
        page.fill(selector, value)
    for selector, value in choose.items():
        page.select_option(selector, value)
    for selector in radios:
        page.check(selector)
    page.click("[data-testid=task-form] button[type=submit]")
    page.wait_for_selector(".alert-success")


def test_a_dossier_goes_from_reception_to_result_returned(
        browser: Any, live_server: LiveServer, browser_clock: Clock) -> None:
    reception = _login(browser, live_server, "reception")
    reception.goto(f"{live_server.url}/dossiers/new?procedure=judicial_record_certificate")
    for selector, value in APPLICANT.items():
        reception.fill(selector, value)
    reception.click("[data-testid=receive-form] button[type=submit]")
    code = reception.inner_text("[data-testid=dossier-code]")
    assert code == "000.00.18.H57-261123-0001"
    assert reception.inner_text("[data-testid=appointment]") == "04/12/2026 09:00"

    # The receipt, the tracking sheet and the task list agree on the dates.
    reception.goto(f"{live_server.url}/dossiers/{code}/tracking")
    assert reception.inner_text("[data-testid=appointment]").startswith("04/12/2026 09:00")
    assert "27/11/2026 09:00" in reception.inner_text("[data-testid=handoffs]")
    specialist = _login(browser, live_server, "specialist")
    assert specialist.locator("[data-task-id]").count() == 1
    assert "27/11/2026 09:00" in specialist.inner_text("[data-task-id]")
    assert "04/12/2026 09:00" in specialist.inner_text("[data-task-id]")
    head = _login(browser, live_server, "head")
    assert head.locator("[data-testid=no-tasks]").count() == 1  # not the head's step yet

    browser_clock.now += timedelta(hours=1)
    _complete_first_task(specialist, live_server, {}, {"#f-residence_history": "one_province"},
                         ["#f-dossier_complete-yes", "#f-needs_verification-no"])
    browser_clock.now += timedelta(hours=2)
    _complete_first_task(specialist, live_server, {"#f-copies_requested": "2"},
                         {"#f-certificate_type": "no_1"}, ["#f-criminal_record_found-no"])
    browser_clock.now += timedelta(hours=1)
    _complete_first_task(head, live_server, {}, {}, ["#f-review_approved-yes"])
    leader = _login(browser, live_server, "leader")
    _complete_first_task(leader, live_server,
                         {"#f-certificate_number": "245/2026/PLLTP",
                          "#f-signed_date": "2026-11-23"},
                         {}, ["#f-signed-yes"])
    browser_clock.now += timedelta(hours=1)
    _complete_first_task(reception, live_server,
                         {"#f-receiver_name": "Phạm Thị Dung", "#f-returned_date": "2026-11-23"},
                         {"#f-return_method": "in_person"}, [])

    reception.goto(f"{live_server.url}/dossiers/{code}")
    assert reception.inner_text("[data-testid=dossier-status]").startswith("Đã trả kết quả")
    assert reception.locator("[data-testid=steps] li").count() == 5
