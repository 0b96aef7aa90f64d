"""Escalation policy: warn before a deadline, escalate at it, and again up the hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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

    def schedule(self, calendar: WorkingCalendar, start: datetime,
                 due_at: datetime) -> list[tuple[int, datetime]]:
        """(level, moment) pairs: 0 warns, 1 escalates at the deadline, 2… go up a level."""
        total = calendar.working_seconds_between(start, due_at)
        moments = [(0, calendar.add_working_seconds(start, total * self.warn_at_fraction))]
        moment = due_at
        for level in range(1, len(self.levels) + 1):
            moments.append((level, moment))
            moment = calendar.add_working_days(moment, self.repeat_after_working_days)
        return moments

    def audience(self, level: int, step_role: str) -> str:
        """The role told at `level`: the warning goes to the first level's people too."""
        target = self.levels[min(max(level, 1), len(self.levels)) - 1]
        return step_role if target == "officer" else target


def policy_from_dict(raw: dict[str, Any] | None,
                     base: EscalationPolicy | None = None) -> EscalationPolicy:
    """A policy from an [escalation] table of procedure.toml, on top of `base`."""
    base = base or EscalationPolicy()
    raw = raw or {}
    policy = EscalationPolicy(
        warn_at_fraction=float(raw.get("warn_at_fraction", base.warn_at_fraction)),
        repeat_after_working_days=float(raw.get("repeat_after_working_days",
                                                base.repeat_after_working_days)),
        levels=tuple(raw.get("levels", base.levels)),
    )
    if not 0 < policy.warn_at_fraction < 1:
        raise PolicyError("escalation.warn_at_fraction must be between 0 and 1 (e.g. 0.75)")
    if policy.repeat_after_working_days <= 0 or \
            not float(policy.repeat_after_working_days * 2).is_integer():
        raise PolicyError("escalation.repeat_after_working_days must be a positive multiple "
                          "of 0.5")
    if not policy.levels:
        raise PolicyError("escalation.levels must name at least one level")
    return policy
