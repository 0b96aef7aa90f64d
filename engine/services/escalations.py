"""The scheduler's pass: escalate overdue steps and fire due BPMN timers, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import Conflict
from engine.models import (
    Dossier,
    DueItem,
    Escalation,
    Procedure,
    Task,
    User,
)
from engine.projections import (
    DEADLINE,
    DOSSIER_COLUMNS,
    DOSSIERS,
    INSTANCES,
    TIMER,
    DossierState,
    event,
    project,
    save_state,
    write_events,
)
from engine.runtime import Incident


@dataclass
class PassResult:
    """What one scheduler pass did."""

    claimed: int = 0
    escalated: int = 0
    timers_fired: int = 0
    deserialized: int = 0


@dataclass(frozen=True)
class EscalationRow:
    """An escalation as the supervisor's list shows it."""

    escalation: Escalation
    task: Task
    dossier: Dossier
    procedure: Procedure
    claimed_by_name: str | None


def run_due(core: Core, now: datetime, owner: str, batch: int = 200) -> PassResult:
    """Claim the due items at `now` under a lease and handle each in its own transaction."""
    result = PassResult()
    item_ids = claim_due(core, now, owner, batch)
    result.claimed = len(item_ids)
    for item_id in item_ids:
        handle_due_item(core, item_id, owner, now, result)
    return result


def claim_due(core: Core, now: datetime, owner: str, batch: int) -> list[int]:
    """Lease up to `batch` due items nobody holds (SKIP LOCKED on PostgreSQL)."""
    with core.uow() as uow:
        query = (
            select(DueItem.id)
            .where(DueItem.due_at <= now,
                   or_(DueItem.lock_expires_at.is_(None), DueItem.lock_expires_at < now))
            .order_by(DueItem.due_at)
            .limit(batch)
        )
        if uow.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(uow.session.scalars(query))
        if ids:
            uow.session.execute(
                update(DueItem).where(DueItem.id.in_(ids))
                .values(lock_owner=owner,
                        lock_expires_at=now + timedelta(seconds=core.settings.lease_seconds))
                .execution_options(synchronize_session=False))
        uow.commit()
        return ids


def handle_due_item(core: Core, item_id: int, owner: str, now: datetime,
                    result: PassResult) -> None:
    """Act on one leased due item; a lost lease (someone else took it) means do nothing."""
    with core.uow() as uow:
        session = uow.session
        query = select(DueItem).where(DueItem.id == item_id, DueItem.lock_owner == owner)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        item = session.scalars(query).first()
        if item is None:
            return
        if item.kind == DEADLINE:
            if _escalate(session, item, now):
                result.escalated += 1
            session.delete(item)
            uow.commit()
            return
        if item.kind == TIMER:
            try:
                _fire_timers(core, session, item, now, result)
            except (Conflict, Incident):
                uow.rollback()
                return  # the lease expires and a later pass tries again
            session.execute(update(DueItem).where(DueItem.id == item_id)
                            .values(lock_owner=None, lock_expires_at=None)
                            .execution_options(synchronize_session=False))
            uow.commit()


def _escalate(session: Session, item: DueItem, now: datetime) -> bool:
    task = session.get(Task, item.ref)
    if task is None or task.state != "ready":
        return False
    exists = session.scalars(select(Escalation.id).where(
        Escalation.task_id == task.id, Escalation.level == item.level)).first()
    if exists is not None:
        return False
    session.add(Escalation(dossier_id=task.dossier_id, task_id=task.id, level=item.level,
                           role=task.role, due_at=item.due_at, raised_at=now))
    write_events(session.connection(), [
        event(task.dossier_id, "escalated", now, None, task.id, task.name,
              {"level": item.level, "due_at": item.due_at.isoformat()})])
    return True


def _fire_timers(core: Core, session: Session, item: DueItem, now: datetime,
                 result: PassResult) -> None:
    conn = session.connection()
    instance = conn.execute(select(INSTANCES.c.state, INSTANCES.c.revision,
                                   INSTANCES.c.procedure_version_id)
                            .where(INSTANCES.c.id == item.instance_id)).one()
    dossier = DossierState.of(conn.execute(
        select(*DOSSIER_COLUMNS).where(DOSSIERS.c.id == item.dossier_id)).one())
    parsed = core.parsed_for(session, instance.procedure_version_id)
    workflow = core.runtime.restore(instance.state)
    previous = {task.id for task in core.runtime.ready_tasks(workflow)}
    result.deserialized += 1
    core.runtime.fire_timers(workflow, now)
    save_state(conn, core.runtime, item.instance_id, instance.revision, workflow, now)
    events = [event(dossier.id, "timer_fired", now, None, data={"timer": item.ref})]
    project(conn, core.runtime, core.calendar_for(session), parsed, dossier, item.instance_id,
            workflow, now, None, events, previous)
    write_events(conn, events)
    result.timers_fired += 1


def list_escalations(core: Core, *, open_only: bool = True, limit: int = 200
                     ) -> list[EscalationRow]:
    """Escalations, newest first, with their task, dossier and procedure."""
    with core.uow() as uow:
        claimer = select(User.full_name).where(User.id == Task.claimed_by).scalar_subquery()
        query = (
            select(Escalation, Task, Dossier, Procedure, claimer)
            .join(Task, Task.id == Escalation.task_id)
            .join(Dossier, Dossier.id == Escalation.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .order_by(Escalation.raised_at.desc(), Escalation.id.desc())
            .limit(limit)
        )
        if open_only:
            query = query.where(Escalation.acknowledged_at.is_(None), Task.state == "ready")
        return [EscalationRow(*row) for row in uow.session.execute(query).all()]
