"""The supervisor's use cases: open alerts and their counts, acknowledging, reassigning."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from engine.bootstrap import Core
from engine.errors import N_, Conflict, Forbidden, NotFound
from engine.models import Dossier, Escalation, Procedure, Task, User
from engine.projections import event, write_events
from workflows.statuses import DossierStatus, is_open

STAGES = ("near_due", "overdue", "escalated")


@dataclass(frozen=True)
class Alert:
    """The latest warning or escalation of one deadline that is still running."""

    escalation: Escalation
    dossier: Dossier
    procedure: Procedure
    task: Task | None
    officer: str | None

    @property
    def stage(self) -> str:
        """near_due (warned), overdue (at the deadline) or escalated (up the hierarchy)."""
        return STAGES[min(self.escalation.level, 2)]


@dataclass(frozen=True)
class Filters:
    """What the supervisor narrowed the list to."""

    stage: str | None = None
    procedure: str | None = None
    role: str | None = None
    officer: str | None = None

    def keep(self, alert: Alert) -> bool:
        """Whether `alert` passes these filters."""
        return ((not self.stage or alert.stage == self.stage)
                and (not self.procedure or alert.procedure.code == self.procedure)
                and (not self.role or alert.escalation.role == self.role)
                and (not self.officer or (alert.officer or "") == self.officer))


def open_alerts(core: Core, filters: Filters = Filters(), *, include_settled: bool = False
                ) -> list[Alert]:
    """Alerts of running deadlines, the most serious and oldest first."""
    with core.uow() as uow:
        officer = select(User.full_name).where(User.id == Task.claimed_by).scalar_subquery()
        rows = uow.session.execute(
            select(Escalation, Dossier, Procedure, Task, officer)
            .join(Dossier, Dossier.id == Escalation.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .outerjoin(Task, Task.id == Escalation.task_id)
            .order_by(Escalation.level.desc(), Escalation.raised_at)
        ).all()
    latest: dict[tuple[int, str], Alert] = {}
    for escalation, dossier, procedure, task, name in rows:
        key = (dossier.id, escalation.ref)
        if key not in latest:  # rows come highest level first
            latest[key] = Alert(escalation, dossier, procedure, task, name)
    alerts = [a for a in latest.values() if include_settled or _running(a)]
    return [a for a in alerts if filters.keep(a)]


def _running(alert: Alert) -> bool:
    if alert.escalation.acknowledged_at is not None:
        return False
    if alert.task is not None:
        return alert.task.state == "ready"
    return is_open(DossierStatus(alert.dossier.status))


def counts(alerts: list[Alert]) -> dict[str, dict[str, Counter[str]]]:
    """Alerts counted by stage, per procedure, per role and per officer."""
    table: dict[str, dict[str, Counter[str]]] = {
        "procedure": defaultdict(Counter), "role": defaultdict(Counter),
        "officer": defaultdict(Counter)}
    for alert in alerts:
        table["procedure"][alert.procedure.code][alert.stage] += 1
        table["role"][alert.escalation.role][alert.stage] += 1
        table["officer"][alert.officer or ""][alert.stage] += 1
    return table


def acknowledge(core: Core, user: User, escalation_id: int, note: str, now: datetime) -> None:
    """Record that a supervisor has seen an alert and what they did about it."""
    with core.uow() as uow:
        escalation = uow.session.get(Escalation, escalation_id)
        if escalation is None:
            raise NotFound(N_("This alert does not exist. Reload the list."))
        if escalation.acknowledged_at is not None:
            raise Conflict(N_("This alert has already been acknowledged."))
        escalation.acknowledged_at, escalation.acknowledged_by = now, user.id
        escalation.note = note.strip()[:1000] or None
        uow.session.flush()
        write_events(uow.session.connection(), [event(
            escalation.dossier_id, "acknowledged", now, user.username, escalation.task_id,
            None, {"level": escalation.level, "note": escalation.note})])
        uow.commit()


def officers_with_role(core: Core, role: str) -> list[User]:
    """Active users who hold `role`, by name."""
    with core.uow() as uow:
        return [u for u in uow.session.scalars(select(User).where(User.active.is_(True))
                                               .order_by(User.full_name)) if role in u.role_set]


def reassign(core: Core, supervisor: User, task_id: str, officer_id: int, now: datetime) -> Task:
    """Give a waiting task to another officer who holds its role."""
    with core.uow() as uow:
        task = uow.session.get(Task, task_id)
        officer = uow.session.get(User, officer_id)
        if task is None or task.state != "ready":
            raise Conflict(N_("This task is no longer waiting. Reload the list."))
        if officer is None or not officer.active or task.role not in officer.role_set or (
                task.department and task.department != officer.department):
            raise Forbidden(N_("Choose an officer who holds this step's role."))
        previous, task.claimed_by = task.claimed_by, officer.id
        uow.session.flush()
        write_events(uow.session.connection(), [event(
            task.dossier_id, "reassigned", now, supervisor.username, task.id, task.name,
            {"from": previous, "to": officer.id, "to_name": officer.full_name})])
        uow.commit()
        return task


def workload(core: Core, now: datetime) -> list[tuple[str, str, int, int]]:
    """Per officer: name, roles, waiting tasks claimed, and how many of those are overdue."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(User.full_name, User.roles, func.count(Task.id),
                   func.count(Task.id).filter(Task.due_at < now))
            .join(Task, (Task.claimed_by == User.id) & (Task.state == "ready"), isouter=True)
            .where(User.active.is_(True), or_(*(User.roles.contains(r) for r in (
                "reception", "specialist", "head", "leader", "clerk"))))
            .group_by(User.id, User.full_name, User.roles).order_by(User.full_name)
        ).all()
    return [(name, roles, waiting, late) for name, roles, waiting, late in rows]
