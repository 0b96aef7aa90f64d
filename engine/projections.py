"""Projections rewritten in the same transaction as every save of a workflow's state.

Pages and the scheduler read these tables; they never deserialize a workflow to list things.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import CHANGED_MEANWHILE, N_, Conflict
from engine.models import Dossier, DueItem, Escalation, Event, ProcessInstance, Task
from engine.runtime import ReadyTask, Runtime
from engine.specs import ParsedVersion
from workflows.calendar import WorkingCalendar
from workflows.deadlines import classify_outcome, step_due_at
from workflows.statuses import DossierStatus, transition

DEADLINE = "task_deadline"


class SupplementLimitReached(Conflict):
    """The law allows a limited number of supplement requests per dossier."""

    code = "supplement_limit"
TIMER = "timer"


def save_state(session: Session, runtime: Runtime, instance: ProcessInstance,
               workflow: BpmnWorkflow, now: datetime) -> None:
    """Write the workflow's state if nobody saved a newer revision meanwhile."""
    task_count, depth = runtime.measure(workflow)
    status = "completed" if workflow.is_completed() else "running"
    result = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id, ProcessInstance.revision == instance.revision)
        .values(state=runtime.dump(workflow), revision=instance.revision + 1, status=status,
                task_count=task_count, depth=depth, updated_at=now, incident=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(CHANGED_MEANWHILE)
    session.expire(instance)


def project(session: Session, runtime: Runtime, calendar: WorkingCalendar,
            parsed: ParsedVersion, dossier: Dossier, instance_id: int,
            workflow: BpmnWorkflow, now: datetime, actor: str | None) -> list[Task]:
    """Rewrite the task, due_item and dossier rows of one instance; return new tasks."""
    ready = runtime.ready_tasks(workflow)
    new_tasks = _project_tasks(session, calendar, parsed, dossier, instance_id, ready, now)
    _project_due_items(session, runtime, dossier, instance_id, workflow)
    _project_status(session, calendar, parsed, dossier, workflow, ready, now, actor)
    return new_tasks


def _project_tasks(session: Session, calendar: WorkingCalendar, parsed: ParsedVersion,
                   dossier: Dossier, instance_id: int, ready: list[ReadyTask],
                   now: datetime) -> list[Task]:
    existing = {
        row.id: row
        for row in session.scalars(
            select(Task).where(Task.instance_id == instance_id, Task.state == "ready")
        )
    }
    ready_ids = {task.id for task in ready}
    for task_id, row in existing.items():
        if task_id not in ready_ids:
            # Left without an officer completing it: cancelled by an event or a gateway.
            row.state = "cancelled"
            row.completed_at = now
    created = []
    for task in ready:
        if task.id in existing:
            continue
        lane = parsed.procedure.lanes.get(task.lane or "")
        sla = task.properties.get("slaWorkingDays")
        row = Task(
            id=task.id, dossier_id=dossier.id, instance_id=instance_id, bpmn_id=task.bpmn_id,
            name=task.name, lane=task.lane, role=lane.role if lane else "",
            department=lane.department if lane else None,
            form_key=task.properties.get("formKey"), state="ready", created_at=now,
            due_at=step_due_at(calendar, now, float(sla)) if sla else None,
        )
        session.add(row)
        created.append(row)
    return created


def _project_due_items(session: Session, runtime: Runtime, dossier: Dossier, instance_id: int,
                       workflow: BpmnWorkflow) -> None:
    session.flush()
    wanted: dict[tuple[str, str, int], datetime] = {}
    escalated = set(session.scalars(
        select(Escalation.task_id).where(Escalation.dossier_id == dossier.id,
                                         Escalation.level == 1)))
    for task in session.scalars(
        select(Task).where(Task.instance_id == instance_id, Task.state == "ready")
    ):
        if task.due_at is not None and task.id not in escalated:
            wanted[(DEADLINE, task.id, 1)] = task.due_at
    for timer in runtime.waiting_timers(workflow):
        wanted[(TIMER, timer.ref, 0)] = timer.due_at
    for item in session.scalars(select(DueItem).where(DueItem.instance_id == instance_id)):
        key = (item.kind, item.ref, item.level)
        if key not in wanted:
            session.delete(item)
            continue
        due_at = wanted.pop(key)
        if item.due_at != due_at:
            item.due_at = due_at
    for (kind, ref, level), due_at in wanted.items():
        session.add(DueItem(kind=kind, instance_id=instance_id, dossier_id=dossier.id, ref=ref,
                            level=level, due_at=due_at))


def _project_status(session: Session, calendar: WorkingCalendar, parsed: ParsedVersion,
                    dossier: Dossier, workflow: BpmnWorkflow, ready: list[ReadyTask],
                    now: datetime, actor: str | None) -> None:
    target = DossierStatus.PROCESSING
    if workflow.is_completed():
        target = DossierStatus.RESULT_RETURNED
    else:
        declared = [int(t.properties["dossierStatus"]) for t in ready
                    if t.properties.get("dossierStatus")]
        if declared:
            target = DossierStatus(max(declared))
    current = DossierStatus(dossier.status)
    if target == current:
        return
    limit = parsed.procedure.max_supplement_rounds
    if target == DossierStatus.SUPPLEMENT_REQUESTED and dossier.supplement_rounds >= limit:
        raise SupplementLimitReached(
            N_("The law allows only %(limit)s supplement request(s) per dossier: choose "
               "another outcome."), limit=limit)
    if target == DossierStatus.RESULT_RETURNED and current == DossierStatus.PROCESSING:
        _set_status(session, dossier, DossierStatus.RESOLVED, now, actor, calendar)
        current = DossierStatus.RESOLVED
    _set_status(session, dossier, transition(current, target), now, actor, calendar)


def _set_status(session: Session, dossier: Dossier, status: DossierStatus, now: datetime,
                actor: str | None, calendar: WorkingCalendar) -> None:
    previous = dossier.status
    dossier.status = int(status)
    if status == DossierStatus.SUPPLEMENT_REQUESTED:
        dossier.supplement_rounds += 1
    if status == DossierStatus.RESOLVED and dossier.resolved_at is None:
        dossier.resolved_at = now
        dossier.outcome = classify_outcome(now, dossier.appointment_at,
                                           calendar.hours.timezone).value
    if status == DossierStatus.RESULT_RETURNED:
        dossier.returned_at = now
    record(session, dossier.id, "status_changed", now, actor,
           data={"from": previous, "to": int(status)})


def record(session: Session, dossier_id: int | None, kind: str, now: datetime,
           actor: str | None, task: Task | None = None, data: dict[str, Any] | None = None
           ) -> None:
    """Append an event to the audit log."""
    session.add(Event(dossier_id=dossier_id, at=now, actor=actor, kind=kind,
                      task_id=task.id if task else None, task_name=task.name if task else None,
                      data=data or {}))
