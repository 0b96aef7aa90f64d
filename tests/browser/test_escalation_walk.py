"""In the browser: a dossier left untouched warns its officer, then climbs to the head and
the director, each once, seen in each one's notifications, on the supervisor's dashboard
(counts that link to the dossier), in the outbox, and acknowledged with a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Escalation, OutboxMessage, User
from engine.services.escalations import run_due
from tests.browser.conftest import LiveServer
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import receive
from tests.web.conftest import Clock

pytestmark = pytest.mark.browser


def _login(browser: Any, server: LiveServer, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    return page


def _pass(core: Core, clock: Clock, moment: datetime) -> int:
    """Move the clock and run two scheduler passes, as two processes would."""
    clock.now = moment
    return run_due(core, moment, "a").escalated + run_due(core, moment, "b").escalated


def _notified(browser: Any, server: LiveServer, username: str, code: str) -> tuple[str, str]:
    page = _login(browser, server, username)
    unread = page.locator("[data-testid=unread]").inner_text()
    page.click("[data-testid=notifications]")
    text = page.locator("[data-testid=notification-list]").inner_text()
    assert code in text
    page.context.close()
    return unread, text


def _dashboard_count(page: Any, stage: str, procedure: str) -> str:
    row = page.locator("[data-testid=counts-procedure] tbody tr").first
    stages = {"near_due": 1, "overdue": 2, "escalated": 3}
    cell = row.locator("td").nth(stages[stage])
    assert procedure in row.locator("td").first.inner_text()
    return str(cell.inner_text())


def test_an_untouched_dossier_climbs_to_the_director_once_and_is_acknowledged(
        browser: Any, live_server: LiveServer, browser_core: Core,
        browser_clock: Clock) -> None:
    with browser_core.uow() as uow:
        for name in ("specialist", "head", "leader"):
            uow.session.scalars(select(User).where(User.username == name)).one().email = (
                f"{name}@sotuphap.example")
        uow.commit()
    code = receive(browser_core, MONDAY_9AM).code
    procedure = "lý lịch tư pháp"

    # The check has three working days (24/11 is a holiday): due Friday 27/11 09:00.
    assert _pass(browser_core, browser_clock, at(26, 10, 52)) == 0
    assert _pass(browser_core, browser_clock, at(26, 10, 53)) == 1      # 75%: warn
    unread, text = _notified(browser, live_server, "specialist", code)
    assert (unread, "Sắp đến hạn" in text) == ("1", True)
    supervisor = _login(browser, live_server, "supervisor")
    supervisor.goto(f"{live_server.url}/supervise/")
    assert _dashboard_count(supervisor, "near_due", procedure) == "1"

    assert _pass(browser_core, browser_clock, at(27, 9)) == 1           # the deadline
    assert _pass(browser_core, browser_clock, at(30, 9)) == 1           # the head
    unread, _ = _notified(browser, live_server, "head", code)
    assert unread == "1"
    assert _pass(browser_core, browser_clock, at(1, 9, month=12)) == 1  # the director
    assert _pass(browser_core, browser_clock, at(1, 9, 30, month=12)) == 0
    unread, _ = _notified(browser, live_server, "leader", code)
    assert unread == "1"

    supervisor.goto(f"{live_server.url}/supervise/")
    assert _dashboard_count(supervisor, "escalated", procedure) == "1"
    supervisor.locator("[data-testid=counts-procedure] tbody tr").first.locator(
        "td").nth(3).locator("a").click()
    row = supervisor.locator("[data-testid=escalation-list] tbody tr", has_text=code)
    assert row.count() == 1
    row.locator("input[name=note]").fill("Đã nhắc chuyên viên, xong trong ngày")
    row.locator("button", has_text="Ghi nhận").click()
    supervisor.wait_for_selector(".alert-success")
    supervisor.screenshot(path=str(live_server.screenshot_dir / "escalations.png"),
                          full_page=True)

    with browser_core.uow() as uow:
        levels = [(e.level, e.role, e.note) for e in uow.session.scalars(
            select(Escalation).where(Escalation.kind == "step").order_by(Escalation.level))]
        mails = [m.to_address for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.like("escalation:%"),
                                        OutboxMessage.subject.contains("Chuyển cấp"))
            .order_by(OutboxMessage.id))]
    assert [(level, role) for level, role, _ in levels] == [
        (0, "specialist"), (1, "specialist"), (2, "head"), (3, "leader")]
    assert levels[-1][2] == "Đã nhắc chuyên viên, xong trong ngày"
    assert mails == ["head@sotuphap.example", "leader@sotuphap.example"]
