"""Completing a step reads the administrator's settings with the task, finds the ready steps
in one pass over the workflow, and refuses a loop past its procedure's cap."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bootstrap import Core, overrides_column
from engine.errors import Conflict
from engine.models import DueItem
from engine.runtime import Runtime
from engine.serializer import LeanSerializer
from engine.services import catalogue, dossiers, tasks
from engine.services.escalation_settings import set_policy
from engine.services.working_days import set_override
from engine.specs import ParsedVersion, SpecCache, read_package
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import APPLICANT, JUDICIAL_RECORD, complete, ready_tasks, receive, user
from workflows.deadlines import step_due_at

ROOT = Path(__file__).resolve().parents[2]
REVIEW_LOOP = ROOT / "bench" / "fixtures" / "review_loop"
REMINDED = ROOT / "tests" / "fixtures" / "reminded_review"


def test_the_overrides_read_with_a_task_give_the_calendar_read_on_its_own(core: Core) -> None:
    set_override(core, date(2026, 11, 26), False, "Nghỉ bù", "admin", at(23, 10))
    set_override(core, date(2026, 11, 28), True, "Làm bù thứ Bảy", "admin", at(23, 10))
    with core.uow() as uow:
        text = uow.session.execute(select(overrides_column())).scalar()
        assert core.calendar_from(uow.session, text) is core.calendar_for(uow.session)
        assert core.calendar_from(uow.session, None) is not core.calendar_for(uow.session)


def test_a_step_completed_after_a_day_off_is_added_is_due_after_it(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with core.uow() as uow:
        before = core.calendar_for(uow.session)
    set_override(core, date(2026, 11, 26), False, "Nghỉ bù", "admin", at(23, 10))
    complete(core, dossier.code, "check_records", at(25, 10))
    [draft] = ready_tasks(core, dossier.code)
    with core.uow() as uow:
        after = core.calendar_for(uow.session)
    assert draft.due_at == step_due_at(after, at(25, 10), 2)
    assert draft.due_at != step_due_at(before, at(25, 10), 2)


def test_a_step_completed_after_a_policy_change_is_escalated_by_the_new_policy(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    set_policy(core, JUDICIAL_RECORD, {
        "warn_before_working_days": 0.5, "repeat_after_working_days": 2,
        "levels": ["officer", "leader"]}, "admin", at(23, 10))
    complete(core, dossier.code, "check_records", at(23, 11))
    [draft] = ready_tasks(core, dossier.code)
    with core.uow() as uow:
        levels = list(uow.session.scalars(
            select(DueItem.level).where(DueItem.ref == draft.id).order_by(DueItem.level)))
    assert levels == [0, 1, 2]  # procedure.toml's policy has a level more (head, leader)


def _deploy_review_loop(core: Core, max_rounds: int) -> str:
    package = read_package(REVIEW_LOOP)
    package = dataclasses.replace(package, meta={**package.meta,
                                                 "max_rounds_per_step": max_rounds})
    catalogue.deploy(core, package, "test", MONDAY_9AM)
    return dossiers.receive_dossier(core, procedure_code="review_loop", applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM).code


def _complete(core: Core, code: str, data: dict[str, Any], minutes: int) -> None:
    [task] = ready_tasks(core, code)
    tasks.complete_task(core, user(core, task.role), task.id, data,
                        MONDAY_9AM + timedelta(minutes=minutes))


def test_a_loop_is_refused_past_its_procedures_max_rounds_per_step(core: Core) -> None:
    code = _deploy_review_loop(core, max_rounds=2)
    _complete(core, code, {"approved": False, "comment": "Sửa lại"}, 1)
    _complete(core, code, {"note": "Đã sửa"}, 2)
    _complete(core, code, {"approved": False, "comment": "Sửa lại"}, 3)  # the 2nd review
    [rework] = ready_tasks(core, code)
    with pytest.raises(Conflict) as refused:  # a 3rd review would follow this rework
        tasks.complete_task(core, user(core, "specialist"), rework.id, {"note": "Đã sửa"},
                            MONDAY_9AM + timedelta(minutes=4))
    assert refused.value.params == {"step": "review"}
    assert [t.id for t in ready_tasks(core, code)] == [rework.id]  # nothing was saved


def _tree_walk(workflow: BpmnWorkflow) -> tuple[list[str], int, int]:
    """What SpiffWorkflow's own walks of the tree say: ready user tasks, count, depth."""
    ready = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    depth, stack = 1, [(workflow.task_tree, 1)]
    while stack:
        task, level = stack.pop()
        depth = max(depth, level)
        stack.extend((child, level + 1) for child in task.children)
    return ready, len(workflow.tasks), depth


def test_the_flat_pass_finds_what_the_tree_walks_find() -> None:
    cache = SpecCache()

    def load(content_hash: str) -> ParsedVersion:
        parsed = cache.get(content_hash)
        assert parsed is not None
        return parsed

    runtime = Runtime(cache, LeanSerializer(load))
    loop = cache.load(read_package(REVIEW_LOOP))
    workflow = runtime.start(loop, {}, MONDAY_9AM)
    for _ in range(30):
        [ready] = runtime.ready_tasks(workflow)
        data = {"approved": False} if ready.bpmn_id == "review" else {"note": "x"}
        runtime.complete(workflow, ready.id, data, MONDAY_9AM)
        assert _walk_of(runtime, workflow) == _tree_walk(workflow)
    assert runtime.max_rounds(workflow) == 210
    reminded = cache.load(read_package(REMINDED))
    workflow = runtime.restore(runtime.dump(runtime.start(reminded, {}, MONDAY_9AM)))
    runtime.fire_timers(workflow, MONDAY_9AM + timedelta(minutes=31))
    runtime.fire_timers(workflow, MONDAY_9AM + timedelta(hours=1, minutes=32))
    assert len(runtime.ready_tasks(workflow)) == 2
    assert _walk_of(runtime, workflow) == _tree_walk(workflow)
    assert runtime.max_rounds(workflow) == 25


def _walk_of(runtime: Runtime, workflow: BpmnWorkflow) -> tuple[list[str], int, int]:
    return ([t.id for t in runtime.ready_tasks(workflow)], *runtime.measure(workflow))
