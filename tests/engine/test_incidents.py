"""A failing script puts the dossier in incident: the step is kept, a retry resumes it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine.bootstrap import Core
from engine.errors import Conflict, Forbidden
from engine.models import Dossier, Event, ProcessInstance
from engine.scripting import SCRIPT_ENGINE
from engine.services import catalogue, dossiers, incidents
from engine.services.escalations import run_due
from engine.services.incidents import ProcedureIncident
from engine.specs import read_package
from tests.conftest import MONDAY_9AM
from tests.engine.walk import APPLICANT, complete, ready_tasks, user

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "scripted_review"
LATER = MONDAY_9AM + timedelta(minutes=10)


def _receive(core: Core) -> str:
    catalogue.deploy(core, read_package(FIXTURE), "test", MONDAY_9AM)
    return dossiers.receive_dossier(core, procedure_code="scripted_review", applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM).code


def _instance(core: Core, code: str) -> ProcessInstance:
    with core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        return uow.session.get_one(ProcessInstance, dossier.instance_id)


def _kinds(core: Core, code: str) -> list[str]:
    return [e.kind for e in dossiers.get_dossier(core, code).events]


def _fail_review(core: Core) -> str:
    code = _receive(core)
    with pytest.raises(ProcedureIncident) as raised:
        complete(core, code, "review", LATER, {"copies": 0})
    assert raised.value.code == "incident"
    assert raised.value.params["step"] == "Tính lệ phí mỗi bản"
    return code


def _correct_copies(core: Core, code: str, copies: int) -> None:
    """What a designer's data fix does: the completed step's data, in the stored state."""
    instance = _instance(core, code)
    workflow = core.runtime.restore(instance.state)
    [review] = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id == "review"]
    review.data["copies"] = copies
    with core.db.begin() as conn:
        conn.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                     .values(state=core.runtime.dump(workflow)))


def test_a_failing_script_keeps_the_completed_step_and_stops_in_incident(core: Core) -> None:
    code = _fail_review(core)
    detail = dossiers.get_dossier(core, code)
    assert [(t.bpmn_id, t.state) for t in detail.tasks] == [("review", "completed")]
    assert detail.dossier.status == 4  # unchanged: processing
    instance = _instance(core, code)
    assert instance.status == "incident"
    assert "'compute_fee' (Tính lệ phí mỗi bản)" in (instance.incident or "")
    assert "ZeroDivisionError" in (instance.incident or "")
    assert _kinds(core, code)[-2:] == ["completed", "incident"]
    # SpiffWorkflow leaves the failing script task in ERROR, and it is saved so.
    workflow = core.runtime.restore(instance.state)
    assert [t.task_spec.bpmn_id for t in core.runtime.failed(workflow)] == ["compute_fee"]
    assert workflow.script_engine is SCRIPT_ENGINE
    [row] = incidents.list_incidents(core)
    assert (row.dossier_code, row.procedure_code) == (code, "scripted_review")


def test_a_retry_fails_again_until_the_data_is_corrected(core: Core) -> None:
    code = _fail_review(core)
    designer = user(core, "designer")
    again = incidents.retry_incident(core, designer, code, LATER + timedelta(minutes=1))
    assert not again.cleared and "ZeroDivisionError" in (again.error or "")
    assert _instance(core, code).status == "incident"
    _correct_copies(core, code, 4)
    done = incidents.retry_incident(core, designer, code, LATER + timedelta(minutes=2))
    assert done.cleared
    instance = _instance(core, code)
    assert (instance.status, instance.incident) == ("running", None)
    assert [t.bpmn_id for t in ready_tasks(core, code)] == ["approve"]
    assert dossiers.get_dossier(core, code).dossier.status == 4  # processing
    assert _kinds(core, code).count("incident") == 2
    assert "incident_resolved" in _kinds(core, code)
    assert incidents.list_incidents(core) == []
    complete(core, code, "approve", LATER + timedelta(minutes=3), {"note": "ok"})
    assert _instance(core, code).status == "completed"


def test_only_designers_admins_and_supervisors_retry_and_only_a_stopped_dossier(
        core: Core) -> None:
    code = _fail_review(core)
    with pytest.raises(Forbidden):
        incidents.retry_incident(core, user(core, "specialist"), code, LATER)
    _correct_copies(core, code, 1)
    assert incidents.retry_incident(core, user(core, "supervisor"), code, LATER).cleared
    with pytest.raises(Conflict):
        incidents.retry_incident(core, user(core, "admin"), code, LATER)


def test_a_failing_timer_records_its_incident_once_and_does_not_loop(core: Core) -> None:
    code = _receive(core)
    first = run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=1), "one")
    assert (first.timers_fired, first.incidents) == (0, 1)
    instance = _instance(core, code)
    assert instance.status == "incident" and "late_script" in (instance.incident or "")
    assert "days_late" in (instance.incident or "")
    for minutes in (3, 5, 60):  # later passes find nothing: the timer's item is parked
        again = run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=minutes), "two")
        assert (again.claimed, again.incidents) == (0, 0)
    with core.uow() as uow:
        logged = uow.session.scalars(select(Event).where(Event.kind == "incident")).all()
    assert [e.data["timer"] for e in logged] == ["Quá 2 giờ"]  # the timer event's name
    outcome = incidents.retry_incident(core, user(core, "designer"), code,
                                       MONDAY_9AM + timedelta(hours=3))
    assert not outcome.cleared and "days_late" in (outcome.error or "")


def test_no_other_step_of_a_stopped_dossier_can_be_completed(core: Core) -> None:
    code = _receive(core)
    run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=1), "one")
    # The review was cancelled by the timer inside the failed run; its row waits for a retry.
    [review] = ready_tasks(core, code)
    with pytest.raises(Conflict) as refused:
        complete(core, code, review.bpmn_id, LATER, {"copies": 1})
    assert "stopped on an error" in refused.value.message


def test_a_script_failing_at_receipt_keeps_the_dossier_received_in_incident(core: Core) -> None:
    package = read_package(FIXTURE)
    xml = package.bpmn_xml  # the fee is computed before anyone has said how many copies
    for source, target, rerouted in (("start", "review", "compute_fee"),
                                     ("review", "compute_fee", "approve"),
                                     ("compute_fee", "approve", "review")):
        xml = xml.replace(f'sourceRef="{source}" targetRef="{target}"',
                          f'sourceRef="{source}" targetRef="{rerouted}"')
    catalogue.deploy(core, type(package)(xml, package.forms, package.meta), "test", MONDAY_9AM)
    dossier = dossiers.receive_dossier(core, procedure_code="scripted_review",
                                       applicant=APPLICANT, channel="in_person",
                                       actor="reception", now=MONDAY_9AM)
    instance = _instance(core, dossier.code)
    assert (dossier.status, instance.status) == (2, "incident")
    assert "compute_fee" in (instance.incident or "")
    assert _kinds(core, dossier.code) == ["received", "incident"]
    assert [row.dossier_code for row in incidents.list_incidents(core)] == [dossier.code]
