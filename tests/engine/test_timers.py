"""BPMN timers fire from the due_item index, only for the instances that are due."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from engine.bootstrap import Core
from engine.services import catalogue, dossiers
from engine.services.escalations import run_due
from tests.conftest import HANOI, MONDAY_9AM
from tests.engine.walk import APPLICANT, ready_tasks

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "timed_review"


def _receive(core: Core, minutes: int) -> str:
    return dossiers.receive_dossier(
        core, procedure_code="timed_review", applicant=APPLICANT, channel="in_person",
        actor="reception", now=MONDAY_9AM + timedelta(minutes=minutes)).code


def test_a_boundary_timer_fires_for_the_due_instance_only(core: Core) -> None:
    from engine.specs import read_package

    catalogue.deploy(core, read_package(FIXTURE), "test", MONDAY_9AM)
    early, late = _receive(core, 0), _receive(core, 30)
    # Two hours and one minute after the first dossier: only its timer is due.
    result = run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=1), "one")
    assert (result.timers_fired, result.deserialized) == (1, 1)
    assert [t.bpmn_id for t in ready_tasks(core, early)] == ["handle_late"]
    assert [t.bpmn_id for t in ready_tasks(core, late)] == ["review"]
    cancelled = [t for t in dossiers.get_dossier(core, early).tasks if t.state == "cancelled"]
    assert [t.bpmn_id for t in cancelled] == ["review"]
    # Running again at the same moment finds nothing more to do.
    again = run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=1), "one")
    assert (again.timers_fired, again.deserialized) == (0, 0)
    later = run_due(core, MONDAY_9AM + timedelta(hours=2, minutes=31), "one")
    assert (later.timers_fired, later.deserialized) == (1, 1)
    assert [t.bpmn_id for t in ready_tasks(core, late)] == ["handle_late"]


REMINDED = Path(__file__).resolve().parent.parent / "fixtures" / "reminded_review"


def test_an_intermediate_timer_then_a_non_interrupting_reminder_beside_the_escalations(
        core: Core) -> None:
    from engine.specs import read_package

    catalogue.deploy(core, read_package(REMINDED), "test", MONDAY_9AM)
    code = dossiers.receive_dossier(
        core, procedure_code="reminded_review", applicant=APPLICANT, channel="in_person",
        actor="reception", now=MONDAY_9AM).code
    assert ready_tasks(core, code) == []  # cooling off for 30 minutes
    assert run_due(core, MONDAY_9AM + timedelta(minutes=29), "one").timers_fired == 0
    assert run_due(core, MONDAY_9AM + timedelta(minutes=31), "one").timers_fired == 1
    [review] = ready_tasks(core, code)
    assert review.bpmn_id == "review"
    # An hour later the head is reminded and the review stays with the specialist.
    result = run_due(core, MONDAY_9AM + timedelta(hours=1, minutes=32), "one")
    assert result.timers_fired == 1
    assert sorted(t.bpmn_id for t in ready_tasks(core, code)) == ["remind_head", "review"]
    # The policy's warning and escalation of the review still run beside the BPMN timer:
    # its deadline is one working day after 09:31, Tuesday… 24/11 is a holiday: 25/11 09:31.
    late = run_due(core, datetime(2026, 11, 25, 9, 32, tzinfo=HANOI), "one")
    assert late.escalated == 2  # the warning and the deadline of the review
