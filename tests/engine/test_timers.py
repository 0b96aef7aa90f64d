"""BPMN timers fire from the due_item index, only for the instances that are due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine.bootstrap import Core
from engine.services import catalogue, dossiers
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM
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
