"""The tracking sheet (phiếu kiểm soát quá trình giải quyết hồ sơ): every hand-off of a dossier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.bootstrap import Core
from engine.lookups import dossier_by_code
from engine.models import Dossier, DossierPause, Procedure, Task, User
from workflows.deadlines import classify_outcome, standing


@dataclass(frozen=True)
class Handoff:
    """One step of the dossier: handed from whom, to which role and whom, when, how it went."""

    step: str
    role: str
    handed_by: str | None
    handed_at: datetime
    due_at: datetime | None
    done_by: str | None
    done_at: datetime | None
    state: str
    result: str | None  # early / on_time / late when done; within_deadline / overdue when open


@dataclass(frozen=True)
class TrackingSheet:
    """A dossier's tracking sheet."""

    dossier: Dossier
    procedure: Procedure
    received_by: str | None
    handoffs: list[Handoff]
    pauses: list[DossierPause]


def tracking_sheet(core: Core, code: str, now: datetime) -> TrackingSheet:
    """The tracking sheet of the dossier with this code, as it stands at `now`."""
    timezone = core.settings.hours.timezone
    with core.uow() as uow:
        session = uow.session
        dossier = dossier_by_code(session, code)
        users = session.execute(select(User.id, User.username, User.full_name)).all()
        names = {u.username: u.full_name for u in users}
        ids = {u.id: u.full_name for u in users}
        tasks = list(session.scalars(select(Task).where(Task.dossier_id == dossier.id)
                                     .order_by(Task.created_at, Task.completed_at)))
        pauses = list(session.scalars(select(DossierPause).where(
            DossierPause.dossier_id == dossier.id).order_by(DossierPause.started_at)))
        procedure = session.get_one(Procedure, dossier.procedure_id)
    received_by = names.get(dossier.received_by or "", dossier.received_by)
    finished = {t.completed_at: ids.get(t.completed_by or 0) for t in tasks
                if t.state == "completed"}
    handoffs = []
    for task in tasks:
        if task.created_at in finished:
            handed_by = finished[task.created_at]
        elif task.created_at == dossier.received_at:
            handed_by = received_by
        else:
            handed_by = None  # started by the engine itself (a timer)
        result = None
        if task.due_at is not None:
            if task.state == "completed" and task.completed_at is not None:
                result = classify_outcome(task.completed_at, task.due_at, timezone).value
            elif task.state == "ready":
                result = standing(task.due_at, now).value
        handoffs.append(Handoff(
            step=task.name, role=task.role, handed_by=handed_by, handed_at=task.created_at,
            due_at=task.due_at, done_by=ids.get(task.completed_by or 0),
            done_at=task.completed_at, state=task.state, result=result))
    return TrackingSheet(dossier, procedure, received_by, handoffs, pauses)
