"""The scheduler's pass: escalate overdue steps and fire due BPMN timers, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import Conflict
from engine.models import (
    Dossier,
    DueItem,
    Escalation,
    Notification,
    Task,
    User,
)
from engine.projections import (
    APPOINTMENT,
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
from workflows.statuses import DossierStatus, is_open


@dataclass
class PassResult:
    """What one scheduler pass did."""

    claimed: int = 0
    escalated: int = 0
    timers_fired: int = 0
    deserialized: int = 0


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
        if item.kind in (DEADLINE, APPOINTMENT):
            if _escalate(core, session, item, now):
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


def _escalate(core: Core, session: Session, item: DueItem, now: datetime) -> bool:
    """Raise the item's warning or escalation once, and tell the officers it concerns."""
    dossier = session.get_one(Dossier, item.dossier_id)
    procedure = core.parsed_for(session, dossier.procedure_version_id).procedure
    if item.kind == DEADLINE:
        task = session.get(Task, item.ref)
        if task is None or task.state != "ready" or task.due_at is None:
            return False
        policy, role, deadline = procedure.step_policy(task.bpmn_id), task.role, task.due_at
        department, name = task.department, task.name
    else:
        if not is_open(DossierStatus(dossier.status)):
            return False
        policy, role, deadline = procedure.appointment_escalation, "", dossier.appointment_at
        task, department, name = None, None, None
    exists = session.scalars(select(Escalation.id).where(
        Escalation.dossier_id == dossier.id, Escalation.ref == item.ref,
        Escalation.level == item.level)).first()
    if exists is not None:
        return False
    audience = policy.audience(item.level, role) or "supervisor"
    escalation = Escalation(
        dossier_id=dossier.id, kind="step" if task else "appointment", ref=item.ref,
        task_id=task.id if task else None, level=item.level, role=audience, due_at=deadline,
        raised_at=now)
    session.add(escalation)
    session.flush()
    data = {"level": item.level, "due_at": deadline.isoformat(), "code": dossier.code,
            "step": name, "role": audience}
    recipients = session.scalars(select(User.id).where(*_holders_of(audience, department)))
    session.add_all(Notification(user_id=user_id, dossier_id=dossier.id,
                                 escalation_id=escalation.id, kind="escalation", data=data,
                                 created_at=now) for user_id in recipients)
    write_events(session.connection(), [
        event(dossier.id, "warned" if item.level == 0 else "escalated", now, None,
              task.id if task else None, name, data)])
    return True


def _holders_of(role: str, department: str | None) -> list[Any]:
    """Conditions selecting the active users with `role` (in `department`, if given)."""
    # Roles are stored comma-separated: match a whole item, not a substring of another.
    conditions = [User.active.is_(True),
                  (literal(",") + User.roles + literal(",")).contains(f",{role},")]
    if department is not None:
        conditions.append(User.department == department)
    return conditions


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
