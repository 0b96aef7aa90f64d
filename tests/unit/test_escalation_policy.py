"""Escalation policy: when to warn and escalate, and whom each level tells."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.calendar import WorkingCalendar
from workflows.escalation import EscalationPolicy, PolicyError, policy_from_dict

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_schedule_warns_at_three_quarters_then_climbs_a_working_day_at_a_time() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 11, 25, 7, 30, tzinfo=HANOI)   # Wednesday
    due = datetime(2026, 11, 26, 7, 30, tzinfo=HANOI)     # one working day later
    # 75% of 7.5 working hours is 5 h 37.5 min: the morning's 4 h, then 13:30 + 1 h 37.5.
    moments = EscalationPolicy().schedule(calendar, start, due)
    assert [(level, m.astimezone(HANOI).strftime("%d/%m %H:%M")) for level, m in moments] == [
        (0, "25/11 15:07"), (1, "26/11 07:30"), (2, "27/11 07:30"), (3, "30/11 07:30")]


def test_each_level_tells_its_people() -> None:
    policy = EscalationPolicy()
    assert [policy.audience(level, "specialist") for level in range(4)] == [
        "specialist", "specialist", "head", "leader"]
    appointment = EscalationPolicy(levels=("head", "leader"))
    assert [appointment.audience(level, "") for level in range(3)] == ["head", "head", "leader"]


def test_a_step_policy_inherits_what_it_does_not_say() -> None:
    base = policy_from_dict({"warn_at_fraction": 0.5, "repeat_after_working_days": 2})
    step = policy_from_dict({"levels": ["officer"]}, base)
    assert (step.warn_at_fraction, step.repeat_after_working_days, step.levels) == (
        0.5, 2.0, ("officer",))


def test_nonsense_policies_are_refused() -> None:
    with pytest.raises(PolicyError):
        policy_from_dict({"warn_at_fraction": 1.5})
    with pytest.raises(PolicyError):
        policy_from_dict({"repeat_after_working_days": 0.3})
    with pytest.raises(PolicyError):
        policy_from_dict({"levels": []})
