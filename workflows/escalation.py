"""Escalation policy: warn before a deadline, escalate at it, and again up the hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflows.calendar import WorkingCalendar

# Who hears of a late step at each level: the officers of the step's role, then the
# department head, then the agency's leader (the director).
DEFAULT_LEVELS = ("officer", "head", "leader")


class PolicyError(ValueError):
    """An escalation policy in procedure.toml is inconsistent."""


@dataclass(frozen=True)
class EscalationPolicy:
    """When to warn and escalate, for one step or for the dossier's appointment date."""

    warn_at_fraction: float = 0.75
    repeat_after_working_days: float = 1.0
    levels: tuple[str, ...] = DEFAULT_LEVELS
    # When set, the warning comes this much office time before the deadline instead (a
    # working day being one day of office hours), and at the start if the step is shorter.
    warn_before_working_days: float | None = None

    def schedule(self, calendar: WorkingCalendar, start: datetime,
                 due_at: datetime) -> list[tuple[int, datetime]]:
        """(level, moment) pairs: 0 warns, 1 escalates at the deadline, 2… go up a level."""
        total = calendar.working_seconds_between(start, due_at)
        if self.warn_before_working_days is None:
            warn_after = total * self.warn_at_fraction
        else:
            warn_after = max(0.0, total - self.warn_before_working_days
                             * _office_seconds_per_day(calendar))
        moments = [(0, calendar.add_working_seconds(start, warn_after))]
        moment = due_at
        for level in range(1, len(self.levels) + 1):
            moments.append((level, moment))
            moment = calendar.add_working_days(moment, self.repeat_after_working_days)
        return moments

    def audience(self, level: int, step_role: str) -> str:
        """The role told at `level`: the warning goes to the first level's people too."""
        target = self.levels[min(max(level, 1), len(self.levels)) - 1]
        return step_role if target == "officer" else target


def _office_seconds_per_day(calendar: WorkingCalendar) -> float:
    hours = calendar.hours
    day = date(2000, 1, 1)
    return sum((datetime.combine(day, end) - datetime.combine(day, begin)).total_seconds()
               for begin, end in ((hours.morning_start, hours.morning_end),
                                  (hours.afternoon_start, hours.afternoon_end)))


# A working year: no warning or repeat delay is longer (and dates stay within the calendar).
MAX_WORKING_DAYS = 250


def _half_days(value: float) -> bool:
    """A positive number of half working days, at most MAX_WORKING_DAYS."""
    return 0 < value <= MAX_WORKING_DAYS and float(value * 2).is_integer()


def policy_from_dict(raw: dict[str, Any] | None,
                     base: EscalationPolicy | None = None) -> EscalationPolicy:
    """A policy from an [escalation] table of procedure.toml, on top of `base`."""
    base = base or EscalationPolicy()
    raw = raw or {}
    before = raw.get("warn_before_working_days", base.warn_before_working_days)
    if "warn_at_fraction" in raw and "warn_before_working_days" not in raw:
        before = None  # a fraction given here replaces an inherited "before"
    policy = EscalationPolicy(
        warn_at_fraction=float(raw.get("warn_at_fraction", base.warn_at_fraction)),
        repeat_after_working_days=float(raw.get("repeat_after_working_days",
                                                base.repeat_after_working_days)),
        levels=tuple(raw.get("levels", base.levels)),
        warn_before_working_days=None if before is None else float(before),
    )
    if not 0 < policy.warn_at_fraction < 1:
        raise PolicyError("escalation.warn_at_fraction must be between 0 and 1 (e.g. 0.75)")
    if policy.warn_before_working_days is not None and not _half_days(
            policy.warn_before_working_days):
        raise PolicyError("escalation.warn_before_working_days must be a positive multiple "
                          f"of 0.5, at most {MAX_WORKING_DAYS}")
    if not set(policy.levels) <= set(DEFAULT_LEVELS):
        raise PolicyError("escalation.levels may name only: officer, head, leader")
    if not _half_days(policy.repeat_after_working_days):
        raise PolicyError("escalation.repeat_after_working_days must be a positive multiple "
                          f"of 0.5, at most {MAX_WORKING_DAYS}")
    if not policy.levels:
        raise PolicyError("escalation.levels must name at least one level")
    return policy


@dataclass(frozen=True)
class Policies:
    """A procedure's policies: its default, its steps' own, and its appointment date's."""

    default: EscalationPolicy = EscalationPolicy()
    steps: tuple[tuple[str, EscalationPolicy], ...] = ()
    appointment: EscalationPolicy = EscalationPolicy()


def policies_from_table(raw: dict[str, Any] | None) -> Policies:
    """The policies of an [escalation] table, with [escalation.steps.<id>] and .appointment."""
    raw = dict(raw or {})
    try:
        default = policy_from_dict(raw)
        steps = tuple((str(bpmn_id), policy_from_dict(dict(spec), default))
                      for bpmn_id, spec in dict(raw.get("steps") or {}).items())
        appointment = policy_from_dict(raw.get("appointment"), default)
    except (TypeError, ValueError) as exc:
        raise PolicyError(str(exc)) from exc
    return Policies(default, steps, appointment)


def policy_to_dict(policy: EscalationPolicy) -> dict[str, Any]:
    """A policy as an [escalation] table would say it in full."""
    table: dict[str, Any] = {"repeat_after_working_days": policy.repeat_after_working_days,
                             "levels": list(policy.levels)}
    if policy.warn_before_working_days is None:
        table["warn_at_fraction"] = policy.warn_at_fraction
    else:
        table["warn_before_working_days"] = policy.warn_before_working_days
    return table
