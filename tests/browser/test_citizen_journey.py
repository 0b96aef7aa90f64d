"""In a real browser: a citizen submits online with files, answers a supplement request, the
officers complete their steps, the result goes back by post, the citizen looks the dossier up
and rates the service; then the same officer path in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Attachment, Dossier, DossierNotice, Rating
from tests.browser.conftest import LiveServer
from tests.conftest import at
from tests.web.conftest import Clock
from tests.web.test_english import has_vietnamese

pytestmark = pytest.mark.browser

PROCEDURE = "judicial_record_certificate"
CITIZEN = {"#f-name": "Nguyễn Thị Thu Hằng", "#f-id_number": "001190012345",
           "#f-birth_date": "1990-05-17", "#f-phone": "0912345678",
           "#f-email": "hang.nguyen@example.vn",
           "#f-address": "12 Lý Thường Kiệt, phường Hàng Bài, Hà Nội"}
POSTAL_ADDRESS = "Số 8 ngõ 45 Trần Hưng Đạo, phường Cửa Nam, Hà Nội"
TRACKING = "EB123456789VN"
SUPPLEMENT_ITEM = "Bản chụp CCCD rõ nét hơn"
VIEWPORT = {"width": 1280, "height": 900}


def _pdf(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    return path


def _citizen(browser: Any) -> Any:
    """A fresh browser, not logged in."""
    return browser.new_context(locale="vi-VN", viewport=VIEWPORT).new_page()


def _login(browser: Any, server: LiveServer, username: str, *, english: bool = False) -> Any:
    page = browser.new_context(locale="vi-VN", viewport=VIEWPORT).new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=whoami]")
    if english:
        page.click("nav >> text=English")
        page.wait_for_selector("html[lang=en]")
    return page


def _open_first_task(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/")
    page.click("[data-task-id] a.btn")
    page.click("form[action$='/claim'] button")
    page.wait_for_selector("[data-testid=task-form]")


def _complete_open_task(page: Any, fill: dict[str, str], choose: dict[str, str],
                        radios: list[str]) -> None:
    for selector, value in choose.items():
        page.select_option(selector, value)
    for selector, value in fill.items():
        page.fill(selector, value)
    for selector in radios:
        page.check(selector)
    page.click("[data-testid=task-form] button[type=submit]")
    page.wait_for_selector(".alert-success")


def _complete_first_task(page: Any, server: LiveServer, fill: dict[str, str],
                         choose: dict[str, str], radios: list[str]) -> None:
    _open_first_task(page, server)
    _complete_open_task(page, fill, choose, radios)


def _look_up(page: Any, server: LiveServer, code: str, id_number: str) -> None:
    page.goto(f"{server.url}/portal/lookup")
    page.fill("#f-code", code)
    page.fill("#f-id_number", id_number)
    page.click("[data-testid=lookup-form] button[type=submit]")
    page.wait_for_selector("[data-testid=dossier-facts]")


def _officer_steps(browser: Any, server: LiveServer, clock: Clock, reception: Any, *,
                   english: bool, day: int, checks: Any = None) -> None:
    """Check, draft, review, sign and return by post, each officer in their own browser."""
    steps = [
        ("specialist", 10, {}, {"#f-residence_history": "one_province"},
         ["#f-dossier_complete-yes", "#f-needs_verification-no"]),
        ("specialist", 14, {"#f-copies_requested": "2"}, {"#f-certificate_type": "no_1"},
         ["#f-criminal_record_found-no"]),
        ("head", 16, {}, {}, ["#f-review_approved-yes"]),
    ]
    pages: dict[str, Any] = {}
    for username, hour, fill, choose, radios in steps:
        clock.now = at(day, hour)
        if username not in pages:
            pages[username] = _login(browser, server, username, english=english)
        _open_first_task(pages[username], server)
        if checks:
            checks(pages[username])
        _complete_open_task(pages[username], fill, choose, radios)
    clock.now = at(day + 1, 9)
    leader = _login(browser, server, "leader", english=english)
    _open_first_task(leader, server)
    if checks:
        checks(leader)
    _complete_open_task(leader, {"#f-certificate_number": "312/2026/PLLTP",
                                 "#f-signed_date": f"2026-11-{day + 1:02d}"},
                        {}, ["#f-signed-yes"])
    clock.now = at(day + 1, 14)
    _open_first_task(reception, server)
    if checks:
        checks(reception)
    _complete_open_task(reception, {"#f-receiver_name": CITIZEN["#f-name"],
                                    "#f-returned_date": f"2026-11-{day + 1:02d}",
                                    "#f-copies_returned": "2",
                                    "#f-postal_address": POSTAL_ADDRESS,
                                    "#f-postal_tracking": TRACKING},
                        {"#f-return_method": "post"}, [])


def test_a_citizen_submits_online_answers_a_supplement_and_rates_the_service(
        browser: Any, live_server: LiveServer, browser_core: Core, browser_clock: Clock,
        tmp_path: Path) -> None:
    url = live_server.url
    scan = _pdf(tmp_path, "to-khai.pdf")

    # 1. The citizen finds the procedure in the catalogue and submits it online.
    citizen = _citizen(browser)
    citizen.goto(f"{url}/portal/")
    card = citizen.locator(f"[data-testid=procedure-{PROCEDURE}]")
    assert "Cấp Phiếu lý lịch tư pháp" in card.inner_text()
    card.get_by_role("link", name="Nộp hồ sơ trực tuyến").click()
    citizen.wait_for_selector("[data-testid=submit-form]")
    for selector, value in CITIZEN.items():
        citizen.fill(selector, value)
    document_inputs = citizen.locator("[data-testid=submit-form] input[type=file]")
    required = 0
    for index in range(document_inputs.count()):
        field = document_inputs.nth(index)
        label = citizen.locator(f"label[for={field.get_attribute('id')}]")
        if label.locator(".text-danger").count():      # optional documents need no file
            field.set_input_files(str(scan))
            required += 1
    assert (required, document_inputs.count()) == (3, 5)
    citizen.check("#f-return-post")
    citizen.fill("#f-return_address", POSTAL_ADDRESS)
    citizen.check("#f-consent")
    citizen.click("[data-testid=submit-form] button[type=submit]")
    code = citizen.inner_text("[data-testid=submitted] [data-testid=dossier-code]")
    assert code == "000.00.18.H57-261123-0001"
    assert "/portal/lookup" in citizen.inner_text("[data-testid=lookup-url]")

    # 2. Reception finds it in the online queue, sees the files and asks for a supplement.
    browser_clock.now = at(23, 10)
    reception = _login(browser, live_server, "reception")
    reception.goto(f"{url}/dossiers/")
    assert "Nộp trực tuyến, chờ tiếp nhận" in reception.inner_text("body")
    queue = reception.locator("[data-testid=submission-queue]")
    assert CITIZEN["#f-name"] in queue.inner_text()
    queue.get_by_role("link", name=code).click()
    assert reception.locator("[data-testid=checklist] a", has_text="to-khai.pdf").count() == 3
    reception.fill("#f-items", SUPPLEMENT_ITEM)
    reception.click("[data-testid=submission-actions] form[action$='/supplement-request'] "
                    "button")
    reception.wait_for_selector("[data-testid=notices]")
    assert SUPPLEMENT_ITEM in reception.inner_text("[data-testid=notices]")
    assert reception.inner_text("[data-testid=dossier-status]").startswith("Yêu cầu bổ sung")

    # 3. The citizen, in another browser, looks the dossier up and answers online.
    browser_clock.now = at(23, 15, 20)
    citizen = _citizen(browser)
    _look_up(citizen, live_server, code, CITIZEN["#f-id_number"])
    notice = citizen.locator("[data-testid=notice-supplement]")
    assert SUPPLEMENT_ITEM in notice.inner_text()
    citizen.set_input_files("#f-files", str(_pdf(tmp_path, "cccd-ro-net.pdf")))
    citizen.fill("#f-note", "Tôi gửi lại bản chụp CCCD rõ nét hơn.")
    citizen.click("[data-testid=supplement-form] button[type=submit]")
    citizen.wait_for_selector("[data-testid=answered]")
    assert citizen.locator("[data-testid=supplement-form]").count() == 0
    assert "cccd-ro-net.pdf" in citizen.inner_text("[data-testid=files]")

    # 4. Reception sees it back in the queue (24/11 is a holiday) and receives it.
    browser_clock.now = at(25, 8)
    reception.goto(f"{url}/dossiers/")
    reception.locator("[data-testid=submission-queue]").get_by_role("link", name=code).click()
    assert "cccd-ro-net.pdf" in reception.inner_text("[data-testid=checklist]")
    reception.get_by_role("button", name="Tiếp nhận hồ sơ này").click()
    reception.wait_for_selector(".alert-success")
    appointment = reception.inner_text("[data-testid=appointment]")
    assert appointment.endswith("/2026 08:00") and appointment != "25/11/2026 08:00"
    slip = reception.request.get(url + reception.get_attribute("[data-testid=slip-link]",
                                                               "href"))
    assert slip.ok and slip.headers["content-type"] == "application/pdf"
    assert slip.body().startswith(b"%PDF")

    # 5. The officers complete their steps; reception returns the result by post.
    _officer_steps(browser, live_server, browser_clock, reception, english=False, day=25)
    reception.goto(f"{url}/dossiers/{code}")
    assert reception.inner_text("[data-testid=dossier-status]").startswith("Đã trả kết quả")
    assert reception.inner_text("[data-testid=tracking-number]") == TRACKING

    # 6. The citizen looks it up again and rates the service, once.
    browser_clock.now = at(27, 9)
    citizen = _citizen(browser)
    _look_up(citizen, live_server, code, CITIZEN["#f-id_number"])
    assert citizen.inner_text("[data-testid=status]") == "Đã trả kết quả"
    assert "Qua dịch vụ bưu chính công ích" in citizen.inner_text("[data-testid=dossier-facts]")
    citizen.click("[data-testid=rate-link]")
    twin = citizen.context.new_page()                  # the same form open in a second tab
    twin.goto(citizen.url)
    citizen.select_option("#f-overall", "satisfied")
    citizen.fill("#f-comment", "Cán bộ hướng dẫn tận tình, nhận kết quả qua bưu điện nhanh.")
    citizen.click("[data-testid=rating-form] button[type=submit]")
    assert "Cảm ơn" in citizen.inner_text("[data-testid=rated]")
    assert citizen.locator("[data-testid=rate-link]").count() == 0
    twin.select_option("#f-overall", "not_satisfied")
    twin.click("[data-testid=rating-form] button[type=submit]")
    assert "đã được đánh giá" in twin.inner_text("[data-testid=problem]")
    citizen.goto(f"{url}/portal/dossiers/{code}/rating")
    assert citizen.locator("[data-testid=already-rated]").count() == 1
    citizen.goto(f"{url}/portal/dossiers/{code}")
    citizen.screenshot(path=str(live_server.screenshot_dir / "citizen-journey.png"),
                       full_page=True)

    with browser_core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        assert (dossier.status, dossier.channel, dossier.return_method,
                dossier.postal_tracking) == (10, "online", "post", TRACKING)
        notices = uow.session.scalars(select(DossierNotice)
                                      .where(DossierNotice.dossier_id == dossier.id)).all()
        assert [(n.kind, n.answered_at is not None) for n in notices] == [("supplement", True)]
        assert len(uow.session.scalars(select(Rating)
                                       .where(Rating.dossier_id == dossier.id)).all()) == 1
        purposes = {a.purpose for a in uow.session.scalars(
            select(Attachment).where(Attachment.dossier_id == dossier.id))}
        assert {"intake", "supplement"} <= purposes


def test_the_officer_path_in_english(browser: Any, live_server: LiveServer,
                                     browser_core: Core, browser_clock: Clock,
                                     tmp_path: Path) -> None:
    url = live_server.url
    typed = [CITIZEN["#f-name"], CITIZEN["#f-address"], POSTAL_ADDRESS, "Sở Tư pháp",
             "SỞ TƯ PHÁP"]  # the agency's name, upper-cased by CSS on the tracking sheet
    seen: list[str] = []

    def english_only(page: Any) -> None:
        """The task page names the step in English and shows no Vietnamese but typed data."""
        seen.append(page.inner_text("h1"))
        text = page.inner_text("body")
        for data in (*typed, "Tiếng Việt"):
            text = text.replace(data, " ")
        leftovers = [line for line in text.splitlines() if has_vietnamese(line)]
        assert leftovers == [], f"Vietnamese on {page.url}: {leftovers[:5]}"

    browser_clock.now = at(25, 8, 30)
    reception = _login(browser, live_server, "reception", english=True)
    reception.goto(f"{url}/dossiers/new?procedure={PROCEDURE}")
    assert reception.inner_text("h1") == "Receive a dossier"
    for selector, value in CITIZEN.items():
        reception.fill(selector, value)
    reception.set_input_files("[name=document_1_files]", str(_pdf(tmp_path, "id-card.pdf")))
    reception.check("#f-return-post")
    reception.fill("#f-return_address", POSTAL_ADDRESS)
    reception.get_by_role("button", name="Receive and issue the receipt").click()
    assert "received. Appointment date" in reception.inner_text(".alert-success")
    code = reception.inner_text("[data-testid=dossier-code]")
    assert reception.inner_text("[data-testid=dossier-status]") == "Processing"

    specialist = _login(browser, live_server, "specialist", english=True)
    specialist.goto(f"{url}/")
    assert "My tasks" in specialist.inner_text("[data-testid=views]")
    assert specialist.get_by_role("link", name="Open").count() == 1
    specialist.context.close()

    _officer_steps(browser, live_server, browser_clock, reception, english=True, day=25,
                   checks=english_only)
    assert seen == ["Check the dossier and look up judicial record information",
                    "Draft the judicial record certificate",
                    "Review and submit for signature",
                    "Sign the judicial record certificate",
                    "Return the result to the applicant"]
    reception.goto(f"{url}/dossiers/{code}")
    assert reception.inner_text("[data-testid=dossier-status]").startswith("Result returned")
    assert reception.inner_text("[data-testid=tracking-number]") == TRACKING
    steps = reception.inner_text("[data-testid=steps]")
    assert "Return the result to the applicant" in steps and not has_vietnamese(steps)
    reception.screenshot(path=str(live_server.screenshot_dir / "officer-path-english.png"),
                         full_page=True)

    with browser_core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        assert (dossier.status, dossier.channel, dossier.return_method,
                dossier.postal_tracking) == (10, "in_person", "post", TRACKING)
