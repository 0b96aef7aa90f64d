"""The dossier page draws its process with bpmn-js and marks the steps by state."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bootstrap import Core
from engine.services.escalations import run_due
from tests.browser.conftest import LiveServer
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, receive

pytestmark = pytest.mark.browser


def test_the_diagram_marks_done_waiting_and_late_steps(browser: Any, live_server: LiveServer,
                                                      browser_core: Core) -> None:
    dossier = receive(browser_core, MONDAY_9AM)
    complete(browser_core, dossier.code, "check_records", at(23, 10))
    run_due(browser_core, at(30, 9), "test")  # the draft (due 25/11 10:00) is late
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/dossiers/{dossier.code}")
    page.wait_for_selector("[data-testid=diagram][data-rendered=true]")
    assert page.locator('.step-done[data-element-id="check_records"]').count() == 1
    assert page.locator('.step-active[data-element-id="draft_certificate"]').count() == 1
    assert page.locator('.step-escalated[data-element-id="draft_certificate"]').count() == 1
    page.screenshot(path="/tmp/diagram.png", full_page=True)
