"""An administrator's escalation policy replaces procedure.toml's at once, for running
dossiers too, and never raises a level twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import InvalidInput
from engine.models import DueItem, EscalationSetting
from engine.services.escalation_settings import get_policy, list_policies, set_policy
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import ready_tasks, receive

JUDICIAL_RECORD = "judicial_record_certificate"


def _items(core: Core, ref: str) -> list[tuple[int, str]]:
    with core.uow() as uow:
        zone = core.calendar_zone()
        return [(level, due_at.astimezone(zone).strftime("%d/%m %H:%M"))
                for level, due_at in uow.session.execute(
                    select(DueItem.level, DueItem.due_at).where(DueItem.ref == ref)
                    .order_by(DueItem.level))]


def test_a_new_policy_reschedules_a_waiting_step_and_new_dossiers_follow_it(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    # procedure.toml: warn at 75% (Wed 26/11 10:52:30), deadline Fri 27/11 09:00, head, leader.
    assert _items(core, task.id) == [(0, "26/11 10:52"), (1, "27/11 09:00"),
                                     (2, "30/11 09:00"), (3, "01/12 09:00")]
    moved = set_policy(core, JUDICIAL_RECORD, {
        "warn_before_working_days": 0.5, "repeat_after_working_days": 2,
        "levels": ["officer", "leader"]}, "admin", at(25, 8))
    assert moved == 1
    # Half a day of office time (3 h 45 min) before Friday 09:00 is Thursday 14:45.
    assert _items(core, task.id) == [(0, "26/11 14:45"), (1, "27/11 09:00"),
                                     (2, "01/12 09:00")]
    later = receive(core, at(25, 9))
    [new_task] = ready_tasks(core, later.code)
    assert [level for level, _ in _items(core, new_task.id)] == [0, 1, 2]
    setting = get_policy(core, JUDICIAL_RECORD)
    assert setting.overridden and setting.changed_by == "admin"
    assert ("check_records", "Kiểm tra hồ sơ, tra cứu thông tin lý lịch tư pháp") in setting.steps


def test_levels_already_raised_are_not_raised_again_after_a_change(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    assert run_due(core, at(26, 11), "one").escalated == 1          # the 75% warning
    set_policy(core, JUDICIAL_RECORD, {"warn_at_fraction": 0.5}, "admin", at(26, 12))
    assert [level for level, _ in _items(core, task.id)] == [1, 2, 3]
    assert run_due(core, at(26, 16), "one").escalated == 0


def test_removing_the_policy_brings_back_procedure_toml(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    before = _items(core, task.id)
    set_policy(core, JUDICIAL_RECORD, {"levels": ["officer"]}, "admin", at(25, 8))
    assert len(_items(core, task.id)) == 2
    set_policy(core, JUDICIAL_RECORD, None, "admin", at(25, 9))
    assert _items(core, task.id) == before
    assert not get_policy(core, JUDICIAL_RECORD).overridden
    assert (JUDICIAL_RECORD, False) in [(p.code, o) for p, o in list_policies(core)]


def test_a_nonsense_policy_is_refused_and_changes_nothing(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    before = _items(core, task.id)
    with pytest.raises(InvalidInput) as caught:
        set_policy(core, JUDICIAL_RECORD, {"levels": ["officer", "minister"]}, "admin",
                   at(25, 8))
    assert "officer, head, leader" in caught.value.fields["policy"]
    assert _items(core, task.id) == before
    with core.uow() as uow:
        assert uow.session.scalars(select(EscalationSetting)).all() == []


def test_a_waiting_step_shows_when_its_policy_warns(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    zone = core.calendar_zone()
    assert task.warn_at is not None
    assert task.warn_at.astimezone(zone).strftime("%d/%m %H:%M") == "26/11 10:52"
    set_policy(core, JUDICIAL_RECORD, {"warn_before_working_days": 0.5}, "admin", at(25, 8))
    [task] = ready_tasks(core, dossier.code)
    assert task.warn_at is not None
    assert task.warn_at.astimezone(zone).strftime("%d/%m %H:%M") == "26/11 14:45"
