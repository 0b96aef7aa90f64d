"""Concurrent officers on PostgreSQL: one completion wins, codes stay unique and gap-free."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import insert, text

from engine.bootstrap import Core
from engine.demo import step_data
from engine.errors import Conflict
from engine.projections import DUE
from engine.runtime import Runtime
from engine.services import catalogue, dossiers, tasks
from engine.services.escalations import run_due
from engine.specs import read_package
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import APPLICANT, ready_tasks, receive, user

TIMED = Path(__file__).resolve().parent.parent / "fixtures" / "timed_review"

pytestmark = pytest.mark.postgres


class _Held(Runtime):
    """Holds the first completion inside the engine, its rows locked, until released."""

    def __init__(self, base: Runtime) -> None:
        super().__init__(base.cache, base.serializer)
        self.inside = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def complete(self, workflow: BpmnWorkflow, task_id: str, data: dict[str, Any],
                 now: datetime) -> None:
        self.calls += 1
        super().complete(workflow, task_id, data, now)
        if self.calls == 1:
            self.inside.set()
            assert self.release.wait(20)


def _wait_for_a_lock_wait(core: Core, query: str = "%FROM process_instance%FOR NO KEY UPDATE%"
                          ) -> None:
    """Return once a statement like `query` waits on rows another one holds (at most 20 s)."""
    deadline = time.monotonic() + 20
    with core.db.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                "datname = current_database() AND query LIKE :query"), {"query": query}
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.005)
    raise AssertionError("the second completion never waited for the first one's lock")


def test_two_concurrent_completions_of_one_task_one_wins(pg_core: Core) -> None:
    dossier = receive(pg_core, MONDAY_9AM)
    [task] = ready_tasks(pg_core, dossier.code)
    held = _Held(pg_core.runtime)
    pg_core.runtime = held
    specialist = user(pg_core, "specialist")

    def attempt(minute: int) -> str:
        try:
            tasks.complete_task(pg_core, specialist, task.id,
                                step_data("check_records", "2026-11-23"), at(23, 10, minute))
        except Conflict:
            return "conflict"
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(attempt, 1)
        assert held.inside.wait(20)
        second = pool.submit(attempt, 2)
        _wait_for_a_lock_wait(pg_core)  # the workflow is locked by the first
        held.release.set()
        outcomes = sorted([first.result(), second.result()])
    assert outcomes == ["conflict", "done"]
    assert held.calls == 1  # the second read the task completed: no engine run for nothing
    detail = dossiers.get_dossier(pg_core, dossier.code)
    assert [t.bpmn_id for t in detail.tasks if t.state == "ready"] == ["draft_certificate"]
    assert len([e for e in detail.events if e.kind == "completed"]) == 1


def test_a_completion_under_way_does_not_hold_up_rows_that_refer_to_its_workflow(
        pg_core: Core) -> None:
    dossier = receive(pg_core, MONDAY_9AM)
    [task] = ready_tasks(pg_core, dossier.code)
    held = _Held(pg_core.runtime)
    pg_core.runtime = held
    specialist = user(pg_core, "specialist")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(tasks.complete_task, pg_core, specialist, task.id,
                            step_data("check_records", "2026-11-23"), at(23, 10, 1))
        assert held.inside.wait(20)  # the workflow is locked by the completion
        try:
            # What the scheduler does meanwhile: a due item of the same workflow, whose
            # foreign-key check reads the locked row. Not held up: no lock_timeout error.
            with pg_core.db.connect() as conn:
                with conn.begin() as transaction:
                    conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    conn.execute(insert(DUE).values(
                        kind="timer", instance_id=dossier.instance_id, dossier_id=dossier.id,
                        ref="probe", level=0, due_at=at(24, 9, 0)))
                    transaction.rollback()
        finally:
            held.release.set()
        first.result()


def test_a_timer_firing_while_its_step_is_completed_waits_instead_of_deadlocking(
        pg_core: Core) -> None:
    catalogue.deploy(pg_core, read_package(TIMED), "test", MONDAY_9AM)
    dossier = dossiers.receive_dossier(pg_core, procedure_code="timed_review",
                                       applicant=APPLICANT, channel="in_person",
                                       actor="reception", now=MONDAY_9AM)
    [review] = ready_tasks(pg_core, dossier.code)
    due = MONDAY_9AM + timedelta(hours=2, minutes=5)  # the review's 2-hour timer is due
    held = _Held(pg_core.runtime)
    pg_core.runtime = held
    with ThreadPoolExecutor(max_workers=2) as pool:
        completion = pool.submit(tasks.complete_task, pg_core, user(pg_core, review.role),
                                 review.id, {"note": "Đã xem"}, due)
        assert held.inside.wait(20)  # the officer's completion holds the workflow
        scheduler = pool.submit(run_due, pg_core, due, "scheduler-1")
        _wait_for_a_lock_wait(pg_core, "%process_instance%")  # the timer waits for it
        held.release.set()
        completion.result()  # not a deadlock victim
        fired = scheduler.result()  # nor the scheduler: it found the timer gone with its step
    assert fired.timers_fired == 0
    assert [t.bpmn_id for t in ready_tasks(pg_core, dossier.code)] != ["handle_late"]


def test_parallel_receipts_get_unique_gap_free_codes(pg_core: Core) -> None:
    def receive_five(worker: int) -> list[str]:
        return [receive(pg_core, MONDAY_9AM + timedelta(seconds=worker * 10 + i)).code
                for i in range(5)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = [code for batch in pool.map(receive_five, range(6)) for code in batch]
    assert sorted(codes) == [f"000.00.18.H57-261123-{n:04d}" for n in range(1, 31)]
