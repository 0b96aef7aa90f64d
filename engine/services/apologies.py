"""Apology letters (phiếu xin lỗi và hẹn lại ngày trả kết quả) for dossiers that will be late.

The letter gives the applicant a new date; the dossier still counts as late against the
appointment date of its receipt, which the letter does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from engine.lookups import dossier_by_code
from engine.models import Apology, Dossier, Procedure, Task, User
from engine.projections import event, write_events
from engine.services import outbox
from engine.specs import user_task_properties
from workflows.calendar import WorkingCalendar
from workflows.statuses import DossierStatus, is_open

DRAFTERS = ("reception", "head")
APPROVERS = ("leader",)


@dataclass(frozen=True)
class Proposal:
    """What the system proposes for a new letter: a reason to complete and a new date."""

    dossier: Dossier
    procedure: Procedure
    new_appointment_at: datetime
    steps_left: list[str]


@dataclass(frozen=True)
class ApologyRow:
    """A letter with its dossier and the names of who drafted and decided it."""

    apology: Apology
    dossier: Dossier
    procedure: Procedure
    drafted_by: str
    decided_by: str | None


def propose(core: Core, code: str, now: datetime) -> Proposal:
    """A draft: the appointment moved by the working time the waiting steps still need."""
    with core.uow() as uow:
        session = uow.session
        dossier = _open_dossier(session, code)
        parsed = core.parsed_for(session, dossier.procedure_version_id)
        calendar = core.calendar_for(session)
        steps = list(session.scalars(select(Task).where(Task.dossier_id == dossier.id,
                                                        Task.state == "ready")))
        days = sum(float(user_task_properties(parsed.spec.task_specs[t.bpmn_id])
                         .get("slaWorkingDays") or 0) for t in steps) or 1.0
        start = max(now, dossier.appointment_at)
        return Proposal(dossier, session.get_one(Procedure, dossier.procedure_id),
                        calendar.add_working_days(start, days), [t.name for t in steps])


def _open_dossier(session: Session, code: str) -> Dossier:
    dossier = dossier_by_code(session, code)
    if not is_open(DossierStatus(dossier.status)):
        raise Conflict(N_("This dossier is no longer being handled: no apology is needed."))
    if dossier.instance_id is None:
        raise Conflict(N_("This dossier has not been received yet: it has no appointment "
                          "date to apologise for."))
    return dossier


def draft(core: Core, user: User, code: str, reason: str, new_appointment_at: datetime | None,
          now: datetime, lang: str = "vi") -> Apology:
    """Draft a letter for the leader to approve."""
    if not set(DRAFTERS) & user.role_set:
        raise Forbidden(N_("Only the reception desk or a department head drafts apologies."))
    with core.uow() as uow:
        session = uow.session
        dossier = _open_dossier(session, code)
        errors = {}
        if len(reason.strip()) < 10:
            errors["reason"] = ("Vui lòng nêu rõ lý do chậm trễ (ít nhất 10 ký tự)."
                                if lang != "en" else
                                "Please state why the dossier is late (10 characters or more).")
        if new_appointment_at is None:
            errors["new_date"] = ("Vui lòng chọn ngày hẹn mới." if lang != "en"
                                  else "Please choose the new date.")
        else:
            message = _new_date_error(core.calendar_for(session), new_appointment_at,
                                      dossier.appointment_at, now, lang)
            if message:
                errors["new_date"] = message
        if errors:
            raise InvalidInput(N_("The apology letter has errors: correct the fields marked."),
                               errors)
        assert new_appointment_at is not None
        pending = session.scalars(select(Apology.id).where(
            Apology.dossier_id == dossier.id, Apology.state == "draft")).first()
        if pending is not None:
            raise Conflict(N_("A letter for this dossier is already waiting for the leader."))
        apology = Apology(dossier_id=dossier.id, reason=reason.strip(),
                          new_appointment_at=new_appointment_at,
                          previous_appointment_at=dossier.appointment_at, state="draft",
                          drafted_by=user.id, drafted_at=now)
        session.add(apology)
        session.flush()
        write_events(session.connection(), [event(dossier.id, "apology_drafted", now,
                                                  user.username, data={"id": apology.id})])
        uow.commit()
        return apology


def _new_date_error(calendar: WorkingCalendar, new: datetime, current: datetime,
                    now: datetime, lang: str) -> str | None:
    """Why `new` cannot be promised: not a working day after today and the appointment's."""
    # Dates, not instants: a later hour of the same day is no new date.
    day = new.astimezone(calendar.zone).date()
    if (day <= current.astimezone(calendar.zone).date()
            or day <= now.astimezone(calendar.zone).date()):
        return ("Ngày hẹn mới phải sau ngày hẹn hiện tại và sau hôm nay." if lang != "en" else
                "The new date must be after the current appointment and today.")
    if not calendar.is_working_day(day):
        after = calendar.next_working_day(day).strftime("%d/%m/%Y")
        return (f"Ngày {day:%d/%m/%Y} không phải ngày làm việc: vui lòng chọn một ngày làm "
                f"việc, ví dụ ngày {after}." if lang != "en" else
                f"{day:%d/%m/%Y} is not a working day: choose a working day, such as {after}.")
    return None


def decide(core: Core, user: User, apology_id: int, approve: bool, note: str,
           now: datetime) -> Apology:
    """The leader approves (the applicant is told the new date) or sends the draft back."""
    if not set(APPROVERS) & user.role_set:
        raise Forbidden(N_("Only the leader approves apology letters."))
    with core.uow() as uow:
        session = uow.session
        apology = session.get(Apology, apology_id)
        if apology is None:
            raise NotFound(N_("This apology letter does not exist. Reload the list."))
        if apology.state != "draft":
            raise Conflict(N_("This apology letter has already been decided."))
        apology.state = "approved" if approve else "rejected"
        apology.decided_by, apology.decided_at = user.id, now
        apology.decision_note = note.strip()[:1000] or None
        session.flush()
        dossier = session.get_one(Dossier, apology.dossier_id)
        if approve and dossier.applicant_email:
            procedure = session.get_one(Procedure, dossier.procedure_id)
            letter = outbox.apology_letter(
                agency_name=core.settings.agency_name, code=dossier.code,
                procedure_name=procedure.name, applicant_name=dossier.applicant_name,
                reason=apology.reason, new_appointment_at=apology.new_appointment_at,
                previous_appointment_at=apology.previous_appointment_at,
                zone=core.settings.hours.timezone)
            outbox.enqueue(session.connection(), key=f"apology:{apology.id}",
                           to_address=dossier.applicant_email, subject=letter.subject,
                           body=letter.body, now=now, dossier_id=dossier.id)
        write_events(session.connection(), [event(
            apology.dossier_id, "apology_approved" if approve else "apology_rejected", now,
            user.username, data={"id": apology.id,
                                 "new_appointment_at": apology.new_appointment_at.isoformat()})])
        uow.commit()
        return apology


def letters(core: Core, *, state: str | None = None, code: str | None = None
            ) -> list[ApologyRow]:
    """Letters, newest first, optionally of one state or one dossier."""
    with core.uow() as uow:
        drafter = select(User.full_name).where(User.id == Apology.drafted_by).scalar_subquery()
        decider = select(User.full_name).where(User.id == Apology.decided_by).scalar_subquery()
        query = (select(Apology, Dossier, Procedure, drafter, decider)
                 .join(Dossier, Dossier.id == Apology.dossier_id)
                 .join(Procedure, Procedure.id == Dossier.procedure_id)
                 .order_by(Apology.drafted_at.desc(), Apology.id.desc()))
        if state:
            query = query.where(Apology.state == state)
        if code:
            query = query.where(Dossier.code == code)
        return [ApologyRow(*row) for row in uow.session.execute(query).all()]
