"""A designer adds a step in the modeler, fixes what validation finds, and deploys version 2."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Dossier, ProcedureVersion
from engine.services import design
from tests.browser.conftest import LiveServer
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive

pytestmark = pytest.mark.browser
CODE = "judicial_record_certificate"
# A user task in the leader's lane between signing and returning the result, made with
# bpmn-js's own modeling API (clicking the palette by coordinates would be fragile).
ADD_TASK = """() => {
  const modeler = window.motcuaModeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const sign = registry.get('sign'), back = registry.get('return_result');
  const task = modeling.createShape({type: 'bpmn:UserTask'},
    {x: sign.x + sign.width + 100, y: sign.y + sign.height / 2}, registry.get('lane_leader'));
  modeling.reconnectEnd(registry.get('flow_signed'), task,
    {x: task.x, y: task.y + task.height / 2});
  modeling.connect(task, back);
  return task.id;
}"""


def _version_numbers(core: Core) -> dict[str, int]:
    with core.uow() as uow:
        return {d.code: uow.session.get_one(ProcedureVersion, d.procedure_version_id).version
                for d in uow.session.scalars(select(Dossier))}


def _open_modeler(browser: Any, live_server: LiveServer) -> Any:
    """The designer logged in, the judicial record's draft open in the modeler."""
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "designer")
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/design/{CODE}")
    page.wait_for_selector("#designer[data-ready=true]")
    return page


def test_a_designer_adds_a_step_fixes_it_and_deploys_version_two(
        browser: Any, live_server: LiveServer, browser_core: Core) -> None:
    older = receive(browser_core, MONDAY_9AM)
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "designer")
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.click("a[href='/design/']")
    page.click(f"tr[data-code={CODE}] a")
    page.wait_for_selector("#designer[data-ready=true]")

    task_id = page.evaluate(ADD_TASK)
    page.click("[data-action=validate]")
    page.wait_for_selector("#designer[data-validated=errors]")
    assert page.locator(f'.problem-error[data-element-id="{task_id}"]').count() == 1
    problem = page.locator(f'[data-list=error] [data-element="{task_id}"]').first
    assert problem.is_visible()
    page.screenshot(path=str(live_server.screenshot_dir / "designer-error.png"))

    problem.click()  # selects the task: the panel edits it
    panel = page.locator("[data-testid=properties]")
    assert task_id in panel.locator("[data-testid=selected-element]").inner_text()
    panel.locator("input[name=name]").fill("Kiểm tra lệ phí")
    panel.locator("input[name=name]").press("Tab")
    panel.locator("input[name=newFormKey]").fill("check_fees")
    panel.get_by_role("button").click()
    panel.locator("input[name=slaWorkingDays]").fill("0.5")
    panel.locator("input[name=slaWorkingDays]").press("Tab")
    assert panel.locator("select[name=formKey]").input_value() == "check_fees"

    page.click("[data-action=validate]")
    page.wait_for_selector("#designer[data-validated=clean]")
    assert page.locator(".problem-error").count() == 0
    page.fill("#change-note", "Thêm bước kiểm tra lệ phí trước khi trả kết quả")
    page.click("[data-action=deploy]")
    page.wait_for_selector("[data-testid=deploy-result] .alert-success")
    assert "2" in page.inner_text("[data-testid=deploy-result]")
    page.screenshot(path=str(live_server.screenshot_dir / "designer-deployed.png"))

    newer = receive(browser_core, MONDAY_9AM + timedelta(hours=1))
    assert _version_numbers(browser_core) == {older.code: 1, newer.code: 2}
    page.goto(f"{live_server.url}/design/{CODE}/versions")
    assert page.inner_text("[data-testid=running-2]") == "1"
    assert page.inner_text("[data-testid=running-1]") == "1"
    assert "Thêm bước kiểm tra lệ phí" in page.inner_text("[data-testid=versions]")


def test_a_diagram_that_cannot_be_written_out_says_the_draft_was_not_saved(
        browser: Any, live_server: LiveServer) -> None:
    page = _open_modeler(browser, live_server)
    page.evaluate("() => { window.motcuaModeler.saveXML = "
                  "() => Promise.reject(new Error('unknown element')); }")
    page.click("[data-action=validate]")
    status = page.locator("[data-testid=designer-status]")
    page.wait_for_function("() => document.querySelector('[data-testid=designer-status]')"
                           ".textContent.includes('unknown element')")
    assert "Chưa lưu được bản nháp" in status.inner_text()
    assert "Đang lưu" not in status.inner_text()


def test_a_lane_renamed_on_the_canvas_keeps_its_role(browser: Any, live_server: LiveServer,
                                                     browser_core: Core) -> None:
    page = _open_modeler(browser, live_server)
    # What double-clicking the lane's label and typing does.
    page.evaluate("() => { const m = window.motcuaModeler; m.get('modeling').updateLabel("
                  "m.get('elementRegistry').get('lane_leader'), 'Giám đốc Sở'); }")
    page.click("[data-action=validate]")
    page.wait_for_selector("#designer[data-validated=clean]")
    draft = design.open_draft(browser_core, CODE, "designer", MONDAY_9AM)
    assert draft.meta["lanes"]["Giám đốc Sở"]["role"] == "leader"
    assert "Lãnh đạo Sở" not in draft.meta["lanes"]


def test_the_panel_edits_the_step_that_moves_the_appointment(browser: Any,
                                                             live_server: LiveServer) -> None:
    page = _open_modeler(browser, live_server)
    page.evaluate("() => { const m = window.motcuaModeler; m.get('selection').select("
                  "m.get('elementRegistry').get('request_police_verification')); }")
    panel = page.locator("[data-testid=properties]")
    field = panel.locator("input[name=appointmentWorkingDays]")
    assert field.input_value() == "15"
    assert "Ngày hẹn trả khi bắt đầu bước này" in panel.inner_text()
    field.fill("0,3")  # not a multiple of 0.5: validation names the step
    field.press("Tab")
    page.click("[data-action=validate]")
    page.wait_for_selector("#designer[data-validated=errors]")
    assert page.locator('.problem-error[data-element-id="request_police_verification"]').count()
