"""Concurrent officers on PostgreSQL: one completion wins, codes stay unique and gap-free."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.bootstrap import Core
from engine.demo import step_data
from engine.errors import Conflict
from engine.runtime import Runtime
from engine.services import dossiers, tasks
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import ready_tasks, receive, user

pytestmark = pytest.mark.postgres


class _Rendezvous(Runtime):
    """Holds each completion until both have loaded the same state, to force the race."""

    def __init__(self, base: Runtime, parties: int) -> None:
        super().__init__(base.cache, base.serializer)
        self.barrier = threading.Barrier(parties, timeout=20)

    def complete(self, workflow: BpmnWorkflow, task_id: str, data: dict[str, Any],
                 now: datetime) -> None:
        super().complete(workflow, task_id, data, now)
        self.barrier.wait()


def test_two_concurrent_completions_of_one_task_one_wins(pg_core: Core) -> None:
    dossier = receive(pg_core, MONDAY_9AM)
    [task] = ready_tasks(pg_core, dossier.code)
    pg_core.runtime = _Rendezvous(pg_core.runtime, parties=2)
    specialist = user(pg_core, "specialist")

    def attempt(minute: int) -> str:
        try:
            tasks.complete_task(pg_core, specialist, task.id,
                                step_data("check_records", "2026-11-23"), at(23, 10, minute))
        except Conflict:
            return "conflict"
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(attempt, [1, 2]))
    assert outcomes == ["conflict", "done"]
    detail = dossiers.get_dossier(pg_core, dossier.code)
    assert [t.bpmn_id for t in detail.tasks if t.state == "ready"] == ["draft_certificate"]
    assert len([e for e in detail.events if e.kind == "completed"]) == 1


def test_parallel_receipts_get_unique_gap_free_codes(pg_core: Core) -> None:
    def receive_five(worker: int) -> list[str]:
        return [receive(pg_core, MONDAY_9AM + timedelta(seconds=worker * 10 + i)).code
                for i in range(5)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = [code for batch in pool.map(receive_five, range(6)) for code in batch]
    assert sorted(codes) == [f"000.00.18.H57-261123-{n:04d}" for n in range(1, 31)]
