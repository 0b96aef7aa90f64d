"""Deadlines of dossiers and steps, and the outcome of a finished dossier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflows.calendar import WorkingCalendar


class Outcome(StrEnum):
    """How a finished dossier fared against its appointment date."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class Standing(StrEnum):
    """Where an open dossier or step stands against its deadline at a given moment."""

    WITHIN_DEADLINE = "within_deadline"
    OVERDUE = "overdue"


def appointment_at(calendar: WorkingCalendar, received_at: datetime,
                   committed_working_days: float) -> datetime:
    """The appointment date promised on the receipt: receipt + the committed time.

    A dossier received after the afternoon cut-off counts from the next working morning.
    """
    return calendar.add_working_days(calendar.receipt_start(received_at), committed_working_days)


def extended_appointment(calendar: WorkingCalendar, received_at: datetime,
                         working_days: float, paused_seconds: Iterable[float]) -> datetime:
    """The appointment a dossier gets when its path allows `working_days` from the receipt
    (counted as the receipt's own), moved by the working time of each pause already ended."""
    appointment = appointment_at(calendar, received_at, working_days)
    for paused in paused_seconds:
        appointment = calendar.add_working_seconds(appointment, paused)
    return appointment


def moved_appointment(calendar: WorkingCalendar, appointment: datetime,
                      paused_from: datetime, paused_to: datetime) -> tuple[datetime, float]:
    """The appointment moved by the working time of a pause, and that working time (s)."""
    paused = calendar.working_seconds_between(paused_from, paused_to)
    return calendar.add_working_seconds(appointment, paused), paused


def step_due_at(calendar: WorkingCalendar, ready_at: datetime, sla_working_days: float) -> datetime:
    """When a step that became ready at `ready_at` is due, given its own deadline."""
    return calendar.add_working_days(ready_at, sla_working_days)


def classify_outcome(resolved_at: datetime, appointment: datetime, timezone: str) -> Outcome:
    """Early, on time or late, by the local calendar day of resolution against the appointment."""
    zone = ZoneInfo(timezone)
    resolved_day = resolved_at.astimezone(zone).date()
    appointment_day = appointment.astimezone(zone).date()
    if resolved_day < appointment_day:
        return Outcome.EARLY
    if resolved_day == appointment_day:
        return Outcome.ON_TIME
    return Outcome.LATE


def standing(due_at: datetime, now: datetime) -> Standing:
    """Within deadline or overdue at `now`."""
    return Standing.OVERDUE if now > due_at else Standing.WITHIN_DEADLINE
