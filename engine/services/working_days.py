"""The administrator's calendar overrides, and the deadlines they move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput, NotFound
from engine.models import CalendarOverride, Dossier, DossierPause, DueItem, Event, Task
from engine.projections import (
    DEADLINE,
    PAUSING,
    due_rows,
    event,
    rewrite_appointment_items,
    write_events,
)
from engine.specs import user_task_properties
from workflows.calendar import FIRST_YEAR, LAST_YEAR, WorkingCalendar, in_sane_years
from workflows.deadlines import appointment_at, step_due_at
from workflows.statuses import DossierStatus, is_open


@dataclass(frozen=True)
class Recomputed:
    """How many open deadlines a change of the calendar moved."""

    dossiers: int
    tasks: int


def list_overrides(core: Core) -> list[CalendarOverride]:
    """Every override, the latest day first."""
    with core.uow() as uow:
        return list(uow.session.scalars(
            select(CalendarOverride).order_by(CalendarOverride.day.desc())))


def set_override(core: Core, day: date, working: bool, note: str, actor: str,
                 now: datetime) -> Recomputed:
    """Make `day` a working day or a day off, and move the open deadlines it affects."""
    if not in_sane_years(day):
        error = InvalidInput(N_("Choose a day between the years %(first)s and %(last)s."),
                             {"day": "range"})
        error.params = {"first": FIRST_YEAR, "last": LAST_YEAR}
        raise error
    with core.uow() as uow:
        session = uow.session
        existing = session.get(CalendarOverride, day)
        if existing is not None:
            session.delete(existing)
            session.flush()
        if core.calendar_for(session).is_working_day(day) == working:
            raise Conflict(N_("%(day)s is already a working day.") if working else
                           N_("%(day)s is already a day off."), day=day.strftime("%d/%m/%Y"))
        session.add(CalendarOverride(day=day, working=working, note=note.strip()[:200],
                                     changed_by=actor, changed_at=now))
        session.flush()
        result = _recompute(core, session, now)
        write_events(session.connection(), [event(None, "calendar_changed", now, actor, data={
            "day": day.isoformat(), "working": working, "note": note.strip()[:200],
            "dossiers_moved": result.dossiers, "tasks_moved": result.tasks})])
        uow.commit()
        return result


def remove_override(core: Core, day: date, actor: str, now: datetime) -> Recomputed:
    """Return `day` to the public calendar, and move the open deadlines it affects."""
    with core.uow() as uow:
        session = uow.session
        existing = session.get(CalendarOverride, day)
        if existing is None:
            raise NotFound(N_("There is no override on %(day)s."),
                           day=day.strftime("%d/%m/%Y"))
        session.delete(existing)
        session.flush()
        result = _recompute(core, session, now)
        write_events(session.connection(), [event(None, "calendar_changed", now, actor, data={
            "day": day.isoformat(), "removed": True, "dossiers_moved": result.dossiers,
            "tasks_moved": result.tasks})])
        uow.commit()
        return result


def _recompute(core: Core, session: Session, now: datetime) -> Recomputed:
    """Recount the future deadlines of open dossiers and waiting steps on the new calendar."""
    calendar = core.calendar_for(session)
    open_statuses = [int(s) for s in DossierStatus if is_open(s)]
    moved_dossiers = moved_tasks = 0
    # A dossier not yet received (an online submission waiting for reception) has no clock
    # yet: its appointment date is counted when reception accepts it.
    for dossier in session.scalars(select(Dossier).where(Dossier.status.in_(open_statuses),
                                                         Dossier.instance_id.is_not(None))):
        parsed = core.parsed_for(session, dossier.procedure_version_id)
        original = appointment_at(calendar, dossier.received_at,
                                  _allowed_days(session, dossier.id,
                                                parsed.procedure.committed_working_days))
        current = _with_pauses(session, calendar, dossier.id, original)
        # The receipt's date (original_appointment_at) is what the applicant holds: kept.
        if dossier.appointment_at > now and current != dossier.appointment_at:
            dossier.appointment_at = current
            moved_dossiers += 1
            paused = DossierStatus(dossier.status) in PAUSING
            rewrite_appointment_items(session.connection(), calendar,
                                      parsed.procedure.appointment_escalation, dossier.id,
                                      dossier.instance_id or 0, dossier.received_at,
                                      None if paused else current)
        for task in session.scalars(select(Task).where(Task.dossier_id == dossier.id,
                                                       Task.state == "ready")):
            sla = user_task_properties(parsed.spec.task_specs[task.bpmn_id]).get(
                "slaWorkingDays")
            if not sla or task.due_at is None or task.due_at <= now:
                continue
            # The first step counts from the receipt's start, as when it was created.
            start = (calendar.receipt_start(task.created_at)
                     if task.created_at == dossier.received_at else task.created_at)
            due_at = step_due_at(calendar, start, float(sla))
            if due_at != task.due_at:
                task.due_at = due_at
                session.execute(delete(DueItem).where(DueItem.kind == DEADLINE,
                                                      DueItem.ref == task.id))
                items = due_rows(parsed.procedure.step_policy(task.bpmn_id), calendar,
                                 DEADLINE, task.id, start, due_at, task.instance_id, dossier.id)
                task.warn_at = items[0]["due_at"]
                session.connection().execute(insert(DueItem), items)
                moved_tasks += 1
    return Recomputed(moved_dossiers, moved_tasks)


def _allowed_days(session: Session, dossier_id: int, committed: float) -> float:
    """The working days the dossier's path allows: the committed time, or the time a step
    moved its appointment to (projections.EXTENDS)."""
    extended = session.scalars(select(Event.data).where(
        Event.dossier_id == dossier_id, Event.kind == "appointment_extended")
        .order_by(Event.id.desc()).limit(1)).first()
    return float(extended["working_days"]) if extended else committed


def _with_pauses(session: Session, calendar: WorkingCalendar, dossier_id: int,
                 appointment: datetime) -> datetime:
    for pause in session.scalars(select(DossierPause).where(
            DossierPause.dossier_id == dossier_id, DossierPause.ended_at.is_not(None))
            .order_by(DossierPause.started_at)):
        assert pause.ended_at is not None
        pause.working_seconds = calendar.working_seconds_between(pause.started_at,
                                                                 pause.ended_at)
        appointment = calendar.add_working_seconds(appointment, pause.working_seconds)
    return appointment
