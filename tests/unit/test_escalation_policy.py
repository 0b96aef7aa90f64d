"""Escalation policy: when to warn and escalate, and whom each level tells."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.calendar import WorkingCalendar
from workflows.escalation import (
    EscalationPolicy,
    PolicyError,
    policies_from_table,
    policy_from_dict,
    policy_to_dict,
)

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


def test_a_warning_can_come_half_a_working_day_before_the_deadline() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 11, 25, 7, 30, tzinfo=HANOI)   # Wednesday
    due = datetime(2026, 11, 27, 7, 30, tzinfo=HANOI)     # two working days later
    policy = policy_from_dict({"warn_before_working_days": 0.5})
    # 15 office hours in all; half a day (3 h 45 min) before the end is 11 h 15 min after
    # the start: Wednesday's 7 h 30 min, then Thursday 07:30 + 3 h 45 min = 11:15.
    [(_, warn), *_] = policy.schedule(calendar, start, due)
    assert warn.astimezone(HANOI).strftime("%d/%m %H:%M") == "26/11 11:15"
    short = policy_from_dict({"warn_before_working_days": 3})
    assert short.schedule(calendar, start, due)[0][1] == start


def test_a_step_that_gives_a_fraction_drops_the_inherited_before() -> None:
    policies = policies_from_table({
        "warn_before_working_days": 1, "levels": ["officer", "head"],
        "steps": {"sign": {"warn_at_fraction": 0.5}},
        "appointment": {"levels": ["leader"]}})
    assert policies.default.warn_before_working_days == 1.0
    [(step, sign)] = policies.steps
    assert (step, sign.warn_before_working_days, sign.warn_at_fraction, sign.levels) == (
        "sign", None, 0.5, ("officer", "head"))
    assert (policies.appointment.levels, policies.appointment.warn_before_working_days) == (
        ("leader",), 1.0)
    assert policy_to_dict(policies.default) == {
        "repeat_after_working_days": 1.0, "levels": ["officer", "head"],
        "warn_before_working_days": 1.0}


def test_unknown_levels_and_odd_lead_times_are_refused() -> None:
    with pytest.raises(PolicyError):
        policies_from_table({"levels": ["officer", "minister"]})
    with pytest.raises(PolicyError):
        policies_from_table({"steps": {"sign": {"warn_before_working_days": 0.2}}})
    with pytest.raises(PolicyError):
        policies_from_table({"steps": ["sign"]})
