"""Timers fire in groups, one transaction with a savepoint each: a failing timer puts its
instance in incident, the others fire; a crash loses nothing and fires nothing twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import DueItem
from engine.projections import TIMER
from engine.runtime import Incident
from engine.services import catalogue, dossiers, incidents
from engine.services.escalations import run_due
from engine.specs import read_package
from tests.conftest import MONDAY_9AM
from tests.engine.walk import APPLICANT, ready_tasks, user

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "timed_review"
FIRE_AT = MONDAY_9AM + timedelta(hours=2, minutes=5)


def _three(core: Core) -> list[str]:
    catalogue.deploy(core, read_package(FIXTURE), "test", MONDAY_9AM)
    return [dossiers.receive_dossier(core, procedure_code="timed_review", applicant=APPLICANT,
                                     channel="in_person", actor="reception",
                                     now=MONDAY_9AM + timedelta(minutes=m)).code
            for m in range(3)]


def _timer_leases(core: Core) -> list[tuple[int, str | None]]:
    with core.db.connect() as conn:
        return [(row.dossier_id, row.lock_owner) for row in conn.execute(
            select(DueItem.dossier_id, DueItem.lock_owner).where(DueItem.kind == TIMER)
            .order_by(DueItem.dossier_id))]


def _failing_second(core: Core, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    real = core.runtime.fire_timers
    calls = []

    def fire(workflow: Any, now: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise error
        real(workflow, now)
    monkeypatch.setattr(core.runtime, "fire_timers", fire)


def _bpmn(core: Core, code: str) -> list[str]:
    return [t.bpmn_id for t in ready_tasks(core, code)]


def test_an_incident_parks_its_own_timer_only(core: Core,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _three(core)
    _failing_second(core, monkeypatch, Incident("boom"))
    result = run_due(core, FIRE_AT, "one")
    assert (result.timers_fired, result.deserialized, result.incidents) == (2, 3, 1)
    assert [_bpmn(core, c) for c in codes] == [["handle_late"], ["review"], ["handle_late"]]
    assert _timer_leases(core) == []  # the failed one's item is parked, not retried forever
    assert [row.dossier_code for row in incidents.list_incidents(core)] == [codes[1]]
    monkeypatch.undo()
    later = FIRE_AT + timedelta(seconds=core.settings.lease_seconds + 1)
    assert run_due(core, later, "two").timers_fired == 0
    assert incidents.retry_incident(core, user(core, "designer"), codes[1], later).cleared
    assert [_bpmn(core, c) for c in codes] == [["handle_late"]] * 3
    assert _timer_leases(core) == []


def test_another_error_keeps_the_timers_fired_before_it(core: Core,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _three(core)
    _failing_second(core, monkeypatch, RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        run_due(core, FIRE_AT, "one")
    assert [_bpmn(core, c) for c in codes] == [["handle_late"], ["review"], ["review"]]
    assert [owner for _, owner in _timer_leases(core)] == ["one", "one"]
    monkeypatch.undo()
    later = FIRE_AT + timedelta(seconds=core.settings.lease_seconds + 1)
    assert run_due(core, later, "two").timers_fired == 2
    assert [_bpmn(core, c) for c in codes] == [["handle_late"]] * 3


def test_a_crash_mid_transaction_fires_nothing_and_loses_nothing(
        core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _three(core)
    _failing_second(core, monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run_due(core, FIRE_AT, "one")
    assert [_bpmn(core, c) for c in codes] == [["review"]] * 3
    assert [owner for _, owner in _timer_leases(core)] == ["one"] * 3
    monkeypatch.undo()
    assert run_due(core, FIRE_AT, "two").timers_fired == 0
    later = FIRE_AT + timedelta(seconds=core.settings.lease_seconds + 1)
    assert run_due(core, later, "two").timers_fired == 3
    again = run_due(core, later + timedelta(hours=1), "three")
    assert again.timers_fired == 0
    assert [_bpmn(core, c) for c in codes] == [["handle_late"]] * 3
