"""Moving running dossiers to a newer version, where SpiffWorkflow's diff says it is safe."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Core, bootstrap
from engine.demo import step_data
from engine.errors import Conflict
from engine.models import Dossier, Event, ProcedureVersion, ProcessInstance, Task
from engine.services import catalogue, dossiers, migration, tasks
from tests.conftest import MONDAY_9AM, at
from tests.engine.variants import REVIEW_RENAMED, STAMP_NAME, version_two
from tests.engine.walk import complete, ready_tasks, receive, user

CODE = "judicial_record_certificate"
POLICE = "Gửi yêu cầu xác minh và nhận kết quả xác minh từ Công an tỉnh"


def _verification(day: str) -> dict[str, Any]:
    return {**step_data("check_records", day), "needs_verification": True}


def _deploy_two(core: Core) -> None:
    catalogue.deploy(core, version_two(), "designer", MONDAY_9AM + timedelta(minutes=5))


def _version_of(core: Core, code: str) -> tuple[int, int]:
    with core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        instance = uow.session.get_one(ProcessInstance, dossier.instance_id)
        numbers = [uow.session.get_one(ProcedureVersion, v).version
                   for v in (dossier.procedure_version_id, instance.procedure_version_id)]
        return numbers[0], numbers[1]


def test_the_preview_says_which_dossiers_can_move_and_why_others_cannot(core: Core) -> None:
    waiting = receive(core, MONDAY_9AM)
    verifying = receive(core, MONDAY_9AM)
    complete(core, verifying.code, "check_records", at(23, 10), _verification("2026-11-23"))
    _deploy_two(core)
    preview = migration.preview(core, CODE, 2)
    rows = {c.code: c for c in preview.candidates}
    assert rows[waiting.code].can_move
    assert rows[waiting.code].current_steps == ["Kiểm tra hồ sơ, tra cứu thông tin lý lịch tư pháp"]
    assert not rows[verifying.code].can_move
    reason = rows[verifying.code].reasons[0]
    assert reason.message == "its current step '%(name)s' was removed"
    assert reason.params == {"name": POLICE}


def test_a_dossier_waiting_at_check_records_moves_and_then_runs_the_new_step(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [before] = ready_tasks(core, dossier.code)
    _deploy_two(core)
    [outcome] = migration.migrate(core, CODE, 2, {dossier.code: None}, "designer", at(23, 10))
    assert outcome.moved
    assert _version_of(core, dossier.code) == (2, 2)
    [after] = ready_tasks(core, dossier.code)
    assert (after.id, after.due_at) == (before.id, before.due_at)  # the same step goes on
    detail = dossiers.get_dossier(core, dossier.code)
    [moved] = [e for e in detail.events if e.kind == "migrated"]
    assert (moved.data, moved.actor) == ({"from": 1, "to": 2}, "designer")
    moment = at(23, 11)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign"]:
        moment += timedelta(minutes=10)
        complete(core, dossier.code, bpmn_id, moment)
    [stamp] = ready_tasks(core, dossier.code)
    assert (stamp.bpmn_id, stamp.name, stamp.role) == ("stamp", STAMP_NAME, "leader")
    complete(core, dossier.code, "stamp", moment, {})
    complete(core, dossier.code, "return_result", moment)
    assert dossiers.get_dossier(core, dossier.code).dossier.status == 10


def test_a_dossier_at_a_renamed_step_keeps_its_task_under_the_new_name(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    for minute, bpmn_id in enumerate(["check_records", "draft_certificate"]):
        complete(core, dossier.code, bpmn_id, at(23, 10, minute))
    _deploy_two(core)
    [outcome] = migration.migrate(core, CODE, 2, {dossier.code: None}, "designer", at(23, 11))
    assert outcome.moved
    [task] = ready_tasks(core, dossier.code)
    assert (task.bpmn_id, task.name) == ("review", REVIEW_RENAMED)


def test_a_dossier_on_a_removed_step_cannot_move_and_is_left_as_it_was(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10), _verification("2026-11-23"))
    _deploy_two(core)
    [outcome] = migration.migrate(core, CODE, 2, {dossier.code: None}, "designer", at(23, 11))
    assert not outcome.moved and not outcome.conflict
    assert outcome.reasons[0].params == {"name": POLICE}
    assert _version_of(core, dossier.code) == (1, 1)
    [task] = ready_tasks(core, dossier.code)
    assert task.bpmn_id == "request_police_verification"
    with core.uow() as uow:
        assert not uow.session.scalars(select(Event).where(Event.kind == "migrated")).all()


def test_a_dossier_past_a_step_whose_flow_changed_cannot_move(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    for minute, bpmn_id in enumerate(["check_records", "draft_certificate", "review", "sign"]):
        complete(core, dossier.code, bpmn_id, at(23, 10, minute))
    _deploy_two(core)
    [row] = migration.preview(core, CODE, 2).candidates
    # Version 2 puts a step after the "signed" flow of the gateway the dossier has passed.
    assert [r.params for r in row.reasons] == [
        {"name": "Đã ký Phiếu?", "what": "conditions, outgoing flows"}]


def test_a_completion_after_the_preview_makes_the_move_fail_cleanly(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    _deploy_two(core)
    [row] = migration.preview(core, CODE, 2).candidates
    complete(core, dossier.code, "check_records", at(23, 10))   # an officer, meanwhile
    [outcome] = migration.migrate(core, CODE, 2, {dossier.code: row.revision}, "designer",
                                  at(23, 11))
    assert outcome.conflict and not outcome.moved
    assert _version_of(core, dossier.code) == (1, 1)
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == ["draft_certificate"]


def test_a_completion_from_a_page_loaded_before_the_move_fails_cleanly(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    seen = migration.dossier_revision(core, dossier.code)
    _deploy_two(core)
    migration.migrate(core, CODE, 2, {dossier.code: seen}, "designer", at(23, 10))
    with pytest.raises(Conflict):
        tasks.complete_task(core, user(core, "specialist"), task.id,
                            step_data("check_records", "2026-11-23"), at(23, 11),
                            expected_revision=seen)
    assert _version_of(core, dossier.code) == (2, 2)


def test_a_move_racing_a_completion_lets_exactly_one_win(core: Core,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    if core.db.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN: the race cannot happen there")
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    _deploy_two(core)
    barrier = threading.Barrier(2, timeout=20)
    real_save, real_complete = migration.save_state, core.runtime.complete

    def wait_then_save(*args: Any) -> None:
        barrier.wait()
        real_save(*args)

    def complete_then_wait(*args: Any) -> None:
        real_complete(*args)
        barrier.wait()

    monkeypatch.setattr(migration, "save_state", wait_then_save)
    monkeypatch.setattr(core.runtime, "complete", complete_then_wait)

    def officer() -> str:
        try:
            tasks.complete_task(core, user(core, "specialist"), task.id,
                                step_data("check_records", "2026-11-23"), at(23, 10))
        except Conflict:
            return "conflict"
        return "done"

    def designer() -> str:
        [outcome] = migration.migrate(core, CODE, 2, {dossier.code: None}, "designer",
                                      at(23, 10))
        return "done" if outcome.moved else "conflict" if outcome.conflict else "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(f.result() for f in [pool.submit(officer), pool.submit(designer)])
    assert results == ["conflict", "done"]
    with core.uow() as uow:
        states = uow.session.scalars(select(Task.state).where(Task.id == task.id)).all()
    assert states in (["ready"], ["completed"])


def test_a_process_that_never_parsed_the_old_version_previews_and_moves(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    _deploy_two(core)
    fresh = bootstrap(core.settings, db=core.db)  # another worker: its spec cache is empty
    [row] = migration.preview(fresh, CODE, 2).candidates
    assert row.can_move
    [outcome] = migration.migrate(fresh, CODE, 2, {dossier.code: row.revision}, "designer",
                                  at(23, 10))
    assert outcome.moved
