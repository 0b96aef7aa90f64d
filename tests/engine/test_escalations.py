"""The scheduler escalates a step once when `now` passes its deadline, and only then."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.bootstrap import Core
from engine.models import DueItem, Escalation
from engine.services.escalations import list_escalations, run_due
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, ready_tasks, receive


def _escalations(core: Core) -> int:
    with core.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Escalation)) or 0


def test_nothing_escalates_before_the_step_deadline(core: Core) -> None:
    receive(core, MONDAY_9AM)
    # check_records has 3 working days: due Friday 27/11 09:00 (24/11 is a holiday).
    result = run_due(core, at(27, 8, 59), "one")
    assert (result.claimed, result.escalated) == (0, 0)
    assert _escalations(core) == 0


def test_a_step_past_its_deadline_escalates_exactly_once(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    assert run_due(core, at(27, 9, 1), "one").escalated == 1
    assert run_due(core, at(27, 9, 2), "one").escalated == 0
    assert run_due(core, at(30, 9), "two").escalated == 0
    [row] = list_escalations(core)
    assert (row.task.id, row.dossier.code, row.escalation.level) == (task.id, dossier.code, 1)
    assert row.escalation.due_at == at(27, 9)
    assert row.escalation.raised_at == at(27, 9, 1)


def test_a_later_save_does_not_raise_the_same_escalation_again(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    run_due(core, at(27, 10), "one")
    # Claiming and completing rewrite the projections; the escalated step must not re-fire.
    complete(core, dossier.code, "check_records", at(27, 11))
    assert run_due(core, at(27, 12), "one").escalated == 0
    assert _escalations(core) == 1
    assert list_escalations(core) == []  # the late step is done: nothing open any more
    assert len(list_escalations(core, open_only=False)) == 1


def test_a_step_completed_in_time_never_escalates(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(25, 9))
    # The next step (draft, 2 working days from 25/11 09:00) is due 27/11 09:00.
    assert run_due(core, at(26, 17), "one").escalated == 0
    result = run_due(core, at(27, 9, 30), "one")
    assert result.escalated == 1 and result.deserialized == 0
    [row] = list_escalations(core)
    assert row.task.bpmn_id == "draft_certificate"


def test_a_lease_held_by_another_scheduler_is_left_alone_until_it_expires(core: Core) -> None:
    receive(core, MONDAY_9AM)
    from engine.services.escalations import claim_due, handle_due_item

    [item_id] = claim_due(core, at(27, 10), "crashed", 10)
    assert claim_due(core, at(27, 10), "other", 10) == []
    # The crashed owner never handles it; after the lease (60 s) another scheduler takes it.
    assert run_due(core, at(27, 10, 2), "other").escalated == 1
    with core.uow() as uow:
        assert uow.session.get(DueItem, item_id) is None
    from engine.services.escalations import PassResult

    handle_due_item(core, item_id, "crashed", at(27, 10, 3), PassResult())
    assert _escalations(core) == 1


def test_a_step_waiting_for_the_applicant_has_no_deadline_and_never_escalates(
        core: Core) -> None:
    from engine.demo import step_data

    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    [waiting] = ready_tasks(core, dossier.code)
    assert (waiting.bpmn_id, waiting.due_at) == ("receive_supplement", None)
    assert run_due(core, at(31, 9, month=12), "one").escalated == 0
