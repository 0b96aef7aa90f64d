"""Projections rewritten in the same transaction as every save of a workflow's state.

Pages and the scheduler read these tables; they never deserialize a workflow to list things.
Written with SQLAlchemy Core on the unit of work's connection: this is the hot path of every
completion, and ORM bookkeeping would cost more than the engine itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    Connection,
    Delete,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from engine.db import listed, listed_values
from engine.errors import CHANGED_MEANWHILE, N_, Conflict
from engine.models import (
    Dossier,
    DossierNotice,
    DossierPause,
    DueItem,
    Escalation,
    Event,
    ProcessInstance,
    Task,
)
from engine.runtime import ReadyTask, Runtime
from engine.search import search_key
from engine.services import outbox
from engine.specs import ParsedVersion
from workflows.calendar import WorkingCalendar
from workflows.deadlines import (
    classify_outcome,
    extended_appointment,
    moved_appointment,
    step_due_at,
)
from workflows.escalation import EscalationPolicy
from workflows.statuses import DossierStatus, InvalidTransition, is_open, transition

DEADLINE = "task_deadline"
APPOINTMENT = "appointment"
TIMER = "timer"
TASKS = cast(Table, Task.__table__)
DUE = cast(Table, DueItem.__table__)
DOSSIERS = cast(Table, Dossier.__table__)
INSTANCES = cast(Table, ProcessInstance.__table__)
EVENTS = cast(Table, Event.__table__)
PAUSES = cast(Table, DossierPause.__table__)
NOTICES = cast(Table, DossierNotice.__table__)
ESCALATIONS = cast(Table, Escalation.__table__)


# Statements of the hot path, built once: building a statement costs more than running it.
_INSERT_EVENTS = insert(EVENTS)
_INSERT_TASKS = insert(TASKS)
_INSERT_DUE = insert(DUE)
_SAVE_STATE = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("instance_id"),
           INSTANCES.c.revision == bindparam("revision"))
    .values(state=bindparam("state"), revision=bindparam("revision") + 1,
            status=bindparam("status"), task_count=bindparam("task_count"),
            depth=bindparam("depth"), updated_at=bindparam("now"), incident=None)
)
# An alert stops running when its step stops waiting, or (an appointment's, which has no
# step) when its dossier closes: settled in the same transaction (ix_escalation_running).
@functools.cache
def _settle_steps(ready: int) -> Update:
    """Settle the dossier's running step alerts but those of its `ready` waiting steps."""
    return (update(ESCALATIONS)
            .where(ESCALATIONS.c.dossier_id == bindparam("alerts_of"),
                   ESCALATIONS.c.settled_at.is_(None), ESCALATIONS.c.task_id.is_not(None),
                   *([ESCALATIONS.c.task_id.not_in(listed("ready", ready))] if ready else []))
            .values(settled_at=bindparam("now")))


_SETTLE_APPOINTMENT = (
    update(ESCALATIONS)
    .where(ESCALATIONS.c.dossier_id == bindparam("alerts_of"),
           ESCALATIONS.c.settled_at.is_(None), ESCALATIONS.c.task_id.is_(None))
    .values(settled_at=bindparam("now")))
_SETTLE_TASK = (
    update(ESCALATIONS)
    .where(ESCALATIONS.c.task_id == bindparam("step"), ESCALATIONS.c.settled_at.is_(None))
    .values(settled_at=bindparam("now")))


def settle_step_alerts(conn: Connection, task_id: str, now: datetime) -> None:
    """Settle the alerts of a step that ended without a projection (kept in an incident)."""
    conn.execute(_SETTLE_TASK, {"step": task_id, "now": now})


@functools.cache
def _drop_deadlines(ready: int) -> Delete:
    """Drop the instance's step deadlines but those of its `ready` waiting steps."""
    return delete(DUE).where(DUE.c.instance_id == bindparam("instance_id"),
                             DUE.c.kind == DEADLINE,
                             *([DUE.c.ref.not_in(listed("ready", ready))] if ready else []))


# While a dossier waits for the applicant, its clock stands still (DOMAIN.md, Pauses).
PAUSING = {DossierStatus.SUPPLEMENT_REQUESTED: "supplement",
           DossierStatus.AWAITING_FEES: "fees"}


def _end_pause(conn: Connection, calendar: WorkingCalendar, dossier: DossierState,
               now: datetime, events: list[dict[str, Any]], actor: str | None
               ) -> tuple[datetime, datetime]:
    """Close the open pause; return the appointment moved by its working time, and when
    the pause ended.

    A supplement's pause ends when the applicant answered (DOMAIN.md, Pauses): online, at
    the answer's time, however long reception takes to check it; at the desk, now."""
    pause = conn.execute(select(PAUSES.c.id, PAUSES.c.started_at, PAUSES.c.reason).where(
        PAUSES.c.dossier_id == dossier.id, PAUSES.c.ended_at.is_(None))).first()
    if pause is None:
        return dossier.appointment_at, now
    ended = now
    if pause.reason == "supplement":
        answered = conn.execute(select(func.min(EVENTS.c.at)).where(
            EVENTS.c.dossier_id == dossier.id, EVENTS.c.kind == "supplement_answered",
            EVENTS.c.at >= pause.started_at)).scalar()
        if answered is not None and answered < now:
            ended = answered
    appointment, paused = moved_appointment(calendar, dossier.appointment_at,
                                            pause.started_at, ended)
    conn.execute(update(PAUSES).where(PAUSES.c.id == pause.id)
                 .values(ended_at=ended, working_seconds=paused))
    events.append(event(dossier.id, "resumed", now, actor, data={
        "working_seconds": paused, "appointment_at": appointment.isoformat(),
        "previous_appointment_at": dossier.appointment_at.isoformat(),
        "paused_until": ended.isoformat()}))
    return appointment, ended


_TIMER_ITEMS = select(DUE.c.id, DUE.c.ref, DUE.c.due_at).where(
    DUE.c.instance_id == bindparam("instance_id"), DUE.c.kind == TIMER)
_DROP_ITEM = delete(DUE).where(DUE.c.id == bindparam("item_id"))
_MOVE_ITEM = update(DUE).where(DUE.c.id == bindparam("item_id")).values(
    due_at=bindparam("new_due_at"))
_CANCEL_TASKS = update(TASKS).where(TASKS.c.id.in_(bindparam("ids", expanding=True))).values(
    state="cancelled", completed_at=bindparam("now"), search_key=None, dossier_status=None)
_MOVE_STATUS = update(TASKS).where(TASKS.c.id.in_(bindparam("ids", expanding=True))).values(
    dossier_status=bindparam("status"))
_DROP_APPOINTMENT_ITEMS = delete(DUE).where(DUE.c.dossier_id == bindparam("dossier_id"),
                                            DUE.c.kind == APPOINTMENT)


class SupplementLimitReached(Conflict):
    """The law allows a limited number of supplement requests per dossier."""

    code = "supplement_limit"


@dataclass(frozen=True)
class DossierState:
    """What the projections need to know about a dossier before a save."""

    id: int
    code: str
    status: int
    appointment_at: datetime
    supplement_rounds: int
    resolved_at: datetime | None
    received_at: datetime
    applicant_name: str
    applicant_email: str

    @classmethod
    def of(cls, row: Any) -> DossierState:
        """From an ORM dossier or a row selected with DOSSIER_COLUMNS."""
        return cls(row.id, row.code, row.status, row.appointment_at, row.supplement_rounds,
                   row.resolved_at, row.received_at, row.applicant_name, row.applicant_email)


DOSSIER_COLUMNS = (DOSSIERS.c.id, DOSSIERS.c.code, DOSSIERS.c.status,
                   DOSSIERS.c.appointment_at, DOSSIERS.c.supplement_rounds,
                   DOSSIERS.c.resolved_at, DOSSIERS.c.received_at,
                   DOSSIERS.c.applicant_name, DOSSIERS.c.applicant_email)


def due_rows(policy: EscalationPolicy, calendar: WorkingCalendar, kind: str, ref: str,
             start: datetime, deadline: datetime, instance_id: int,
             dossier_id: int) -> list[dict[str, Any]]:
    """The due items of one deadline: a warning, the deadline, then each level above."""
    return [{"kind": kind, "instance_id": instance_id, "dossier_id": dossier_id, "ref": ref,
             "level": level, "due_at": moment, "lock_owner": None, "lock_expires_at": None}
            for level, moment in policy.schedule(calendar, start, deadline)]


def rewrite_appointment_items(conn: Connection, calendar: WorkingCalendar,
                              policy: EscalationPolicy, dossier_id: int, instance_id: int,
                              received_at: datetime, appointment: datetime | None, *,
                              replace: bool = True) -> None:
    """Replace the due items of a dossier's appointment date (none while it is paused/done);
    `replace=False`: the dossier has none yet (its process starts now)."""
    if replace:
        conn.execute(_DROP_APPOINTMENT_ITEMS, {"dossier_id": dossier_id})
    if appointment is not None:
        conn.execute(_INSERT_DUE, due_rows(policy, calendar, APPOINTMENT, APPOINTMENT,
                                           calendar.receipt_start(received_at), appointment,
                                           instance_id, dossier_id))


def event(dossier_id: int | None, kind: str, now: datetime, actor: str | None,
          task_id: str | None = None, task_name: str | None = None,
          data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An audit event, as a row to insert."""
    return {"dossier_id": dossier_id, "at": now, "actor": actor, "kind": kind,
            "task_id": task_id, "task_name": task_name, "data": data or {}}


def write_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Append events to the audit log."""
    if events:
        conn.execute(_INSERT_EVENTS, events)


def save_state(conn: Connection, runtime: Runtime, instance_id: int, revision: int,
               workflow: BpmnWorkflow, now: datetime) -> None:
    """Write the workflow's state if nobody saved a newer revision meanwhile."""
    task_count, depth = runtime.measure(workflow)
    result = conn.execute(_SAVE_STATE, {
        "instance_id": instance_id, "revision": revision, "state": runtime.dump(workflow),
        "status": "completed" if workflow.is_completed() else "running",
        "task_count": task_count, "depth": depth, "now": now})
    if result.rowcount != 1:
        raise Conflict(CHANGED_MEANWHILE)


def project(conn: Connection, runtime: Runtime, calendar: WorkingCalendar,
            parsed: ParsedVersion, dossier: DossierState, instance_id: int,
            workflow: BpmnWorkflow, now: datetime, actor: str | None,
            events: list[dict[str, Any]], previous: set[str],
            clock_start: datetime | None = None, *, started: bool = False,
            dossier_changes: dict[str, Any] | None = None) -> list[ReadyTask]:
    """Rewrite the task, due_item and dossier rows of one instance; append events; return
    the user tasks now ready.

    `previous` holds the ids of the user tasks that were ready before this change and are
    still projected as ready (the one just completed excluded): the projections are written
    with every save, so the workflow itself tells what the table holds. New steps' deadlines
    count from `clock_start` (the receipt's start, after the cut-off) or else from `now`.
    `started`: the dossier's process began in this transaction, so that nothing of it is
    projected yet (no step, due item or alert: they all belong to a process) and there is
    nothing to drop. `dossier_changes`, if given, receives the dossier's columns written.
    """
    ready = runtime.ready_tasks(workflow)
    status = _target_status(workflow, ready)
    _project_tasks(conn, calendar, parsed, dossier, instance_id, ready, now, previous,
                   clock_start or now, started, status)
    if parsed.has_timers:
        _project_timers(conn, runtime, dossier, instance_id, workflow, started)
    changes = _project_status(conn, calendar, parsed, dossier, instance_id, workflow, status,
                              now, actor, events, started)
    changes.update(_extend_appointment(conn, calendar, parsed, dossier, instance_id, ready,
                                       previous, changes, now, actor, events))
    waiting = previous.intersection(task.id for task in ready)
    if waiting and status != dossier.status:  # the steps still waiting carry the new status
        conn.execute(_MOVE_STATUS, {"ids": sorted(waiting), "status": int(status)})
    if dossier_changes is not None:
        dossier_changes.update(changes)
    return ready


def _project_tasks(conn: Connection, calendar: WorkingCalendar, parsed: ParsedVersion,
                   dossier: DossierState, instance_id: int, ready: list[ReadyTask],
                   now: datetime, existing: set[str], clock_start: datetime,
                   started: bool, status: DossierStatus) -> None:
    ready_ids = [task.id for task in ready]
    gone = existing.difference(ready_ids)
    if gone:
        # Left without an officer completing it: cancelled by an event or a gateway.
        conn.execute(_CANCEL_TASKS, {"ids": list(gone), "now": now})
    if not started:
        # Deadlines of steps no longer waiting are no longer due, nor their alerts running.
        listing = listed_values("ready", ready_ids)
        conn.execute(_drop_deadlines(len(ready_ids)), {"instance_id": instance_id, **listing})
        conn.execute(_settle_steps(len(ready_ids)), {"alerts_of": dossier.id, "now": now,
                                                     **listing})
    rows, deadlines = [], []
    key = search_key(dossier.code, dossier.applicant_name)
    for task in ready:
        if task.id in existing:
            continue
        lane = parsed.procedure.lanes.get(task.lane or "")
        sla = task.properties.get("slaWorkingDays")
        # A step that waits for the applicant (supplement, fees) runs while the clock stands
        # still: it has no deadline of its own and is never escalated.
        waits = int(task.properties.get("dossierStatus") or 0) in PAUSING
        due_at = step_due_at(calendar, clock_start, float(sla)) if sla and not waits else None
        rows.append({"id": task.id, "dossier_id": dossier.id, "instance_id": instance_id,
                     "bpmn_id": task.bpmn_id, "name": task.name, "lane": task.lane,
                     "role": lane.role if lane else "",
                     "department": lane.department if lane else None,
                     "form_key": task.properties.get("formKey"), "state": "ready",
                     "claimed_by": None, "created_at": now, "warn_at": None, "due_at": due_at,
                     "completed_at": None, "completed_by": None,
                     "received_at": dossier.received_at,
                     "search_key": key,
                     "dossier_status": int(status)})
        if due_at is not None:
            items = due_rows(parsed.procedure.step_policy(task.bpmn_id), calendar, DEADLINE,
                             task.id, clock_start, due_at, instance_id, dossier.id)
            rows[-1]["warn_at"] = items[0]["due_at"]  # level 0: the policy's warning
            deadlines += items
    if rows:
        conn.execute(_INSERT_TASKS, rows)
    if deadlines:
        conn.execute(_INSERT_DUE, deadlines)


def _project_timers(conn: Connection, runtime: Runtime, dossier: DossierState,
                    instance_id: int, workflow: BpmnWorkflow, started: bool) -> None:
    wanted = {timer.ref: timer.due_at for timer in runtime.waiting_timers(workflow)}
    if not started:  # a process that starts now has no timer items yet
        for item in conn.execute(_TIMER_ITEMS, {"instance_id": instance_id}):
            due_at = wanted.pop(item.ref, None)
            if due_at is None:
                conn.execute(_DROP_ITEM, {"item_id": item.id})
            elif due_at != item.due_at:
                conn.execute(_MOVE_ITEM, {"item_id": item.id, "new_due_at": due_at})
    if wanted:
        conn.execute(_INSERT_DUE, [
            {"kind": TIMER, "instance_id": instance_id, "dossier_id": dossier.id, "ref": ref,
             "level": 0, "due_at": due_at, "lock_owner": None, "lock_expires_at": None}
            for ref, due_at in wanted.items()])


def _target_status(workflow: BpmnWorkflow, ready: list[ReadyTask]) -> DossierStatus:
    """The status the dossier's ready steps declare (the highest), or returned once the
    process has ended, or else processing."""
    if workflow.is_completed():
        return DossierStatus.RESULT_RETURNED
    declared = [int(t.properties["dossierStatus"]) for t in ready
                if t.properties.get("dossierStatus")]
    return DossierStatus(max(declared)) if declared else DossierStatus.PROCESSING


def _project_status(conn: Connection, calendar: WorkingCalendar, parsed: ParsedVersion,
                    dossier: DossierState, instance_id: int, workflow: BpmnWorkflow,
                    target: DossierStatus, now: datetime, actor: str | None,
                    events: list[dict[str, Any]], started: bool) -> dict[str, Any]:
    """Move the dossier to `target`, the status its ready steps declare; the columns
    written."""
    current = DossierStatus(dossier.status)
    if target == current:
        return {}
    limit = parsed.procedure.max_supplement_rounds
    if target == DossierStatus.SUPPLEMENT_REQUESTED and dossier.supplement_rounds >= limit:
        raise SupplementLimitReached(
            N_("The law allows only %(limit)s supplement request(s) per dossier: choose "
               "another outcome."), limit=limit)
    steps = [target]
    if target == DossierStatus.RESULT_RETURNED and current == DossierStatus.PROCESSING:
        steps = [DossierStatus.RESOLVED, target]
    values: dict[str, Any] = {}
    for step in steps:
        try:
            transition(current, step)
        except InvalidTransition as exc:
            raise Conflict(N_("The procedure would move the dossier from status %(current)s "
                              "to %(target)s, which is not allowed. Report it to the process "
                              "designer."), current=int(current), target=int(step)) from exc
        events.append(event(dossier.id, "status_changed", now, actor,
                            data={"from": int(current), "to": int(step)}))
        answered = now
        if current in PAUSING and step not in PAUSING:
            values["appointment_at"], answered = _end_pause(conn, calendar, dossier, now,
                                                            events, actor)
        if step in PAUSING and current not in PAUSING:
            conn.execute(insert(PAUSES).values(dossier_id=dossier.id, reason=PAUSING[step],
                                               started_at=now))
            events.append(event(dossier.id, "paused", now, actor,
                                data={"reason": PAUSING[step]}))
        if current == DossierStatus.SUPPLEMENT_REQUESTED:
            conn.execute(update(NOTICES).where(
                NOTICES.c.dossier_id == dossier.id, NOTICES.c.kind == "supplement",
                NOTICES.c.answered_at.is_(None)).values(answered_at=answered))
        current = step
        if step == DossierStatus.SUPPLEMENT_REQUESTED:
            values["supplement_rounds"] = dossier.supplement_rounds + 1
            conn.execute(insert(NOTICES).values(
                dossier_id=dossier.id, kind="supplement", items=_missing(workflow),
                reason="", issued_at=now, issued_by=actor or "system"))
        if step == DossierStatus.RESOLVED and dossier.resolved_at is None:
            values["resolved_at"] = now
            values["outcome"] = classify_outcome(
                now, values.get("appointment_at", dossier.appointment_at),
                calendar.hours.timezone).value
        if step == DossierStatus.RESULT_RETURNED:
            values["returned_at"] = now
    conn.execute(update(DOSSIERS).where(DOSSIERS.c.id == dossier.id)
                 .values(status=int(current), **values))
    if not is_open(current):
        conn.execute(_SETTLE_APPOINTMENT, {"alerts_of": dossier.id, "now": now})
    _tell_applicant(conn, calendar, parsed, dossier, steps, values, now)
    # The appointment date's warnings run only while its clock runs.
    receipt = DossierStatus(dossier.status) == DossierStatus.RECEIVED
    if receipt or "appointment_at" in values or current in PAUSING or not is_open(current):
        running = is_open(current) and current not in PAUSING
        rewrite_appointment_items(
            conn, calendar, parsed.procedure.appointment_escalation, dossier.id, instance_id,
            dossier.received_at,
            values.get("appointment_at", dossier.appointment_at) if running else None,
            replace=not started)
    return {"status": int(current), **values}


# A step can carry the time the law allows for the path it starts (the police's verification
# of a judicial record: 15 working days instead of the committed 8): when it becomes ready,
# the appointment moves to that time from the receipt, plus the pauses already ended.
EXTENDS = "appointmentWorkingDays"
_ENDED_PAUSES = (select(PAUSES.c.working_seconds)
                 .where(PAUSES.c.dossier_id == bindparam("dossier_id"),
                        PAUSES.c.ended_at.is_not(None))
                 .order_by(PAUSES.c.started_at, PAUSES.c.id))


def _extend_appointment(conn: Connection, calendar: WorkingCalendar, parsed: ParsedVersion,
                        dossier: DossierState, instance_id: int, ready: list[ReadyTask],
                        previous: set[str], changes: dict[str, Any], now: datetime,
                        actor: str | None, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Move the appointment to the time a newly ready step allows, never earlier; the
    columns written. The receipt's date (original_appointment_at) is kept."""
    steps = [task for task in ready if task.id not in previous and task.properties.get(EXTENDS)]
    status = DossierStatus(changes.get("status", dossier.status))
    if not steps or not is_open(status):
        return {}
    step = max(steps, key=lambda task: float(task.properties[EXTENDS]))
    days = float(step.properties[EXTENDS])
    paused = [row.working_seconds or 0.0
              for row in conn.execute(_ENDED_PAUSES, {"dossier_id": dossier.id})]
    appointment = extended_appointment(calendar, dossier.received_at, days, paused)
    previous_appointment = changes.get("appointment_at", dossier.appointment_at)
    if appointment <= previous_appointment:
        return {}
    conn.execute(update(DOSSIERS).where(DOSSIERS.c.id == dossier.id)
                 .values(appointment_at=appointment))
    events.append(event(dossier.id, "appointment_extended", now, actor, step.id, step.name,
                        data={"working_days": days, "step": step.bpmn_id,
                              "appointment_at": appointment.isoformat(),
                              "previous_appointment_at": previous_appointment.isoformat()}))
    # The appointment's warnings follow the new date (none while the clock stands still).
    rewrite_appointment_items(conn, calendar, parsed.procedure.appointment_escalation,
                              dossier.id, instance_id, dossier.received_at,
                              None if status in PAUSING else appointment)
    return {"appointment_at": appointment}


def _missing(workflow: BpmnWorkflow) -> list[str]:
    """What the applicant must supply: the `missing_documents` field of the examining form,
    one item per line (the convention of every procedure's supplement path)."""
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        text = task.data.get("missing_documents")
        if isinstance(text, str) and text.strip():
            return [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]
    return []


def _tell_applicant(conn: Connection, calendar: WorkingCalendar, parsed: ParsedVersion,
                    dossier: DossierState, steps: list[DossierStatus], values: dict[str, Any],
                    now: datetime) -> None:
    """E-mail the applicant when the dossier is received, sent back or resolved."""
    if not dossier.applicant_email:
        return
    procedure = parsed.procedure
    common = {"agency_name": procedure.agency or "MotCua", "code": dossier.code,
              "procedure_name": procedure.name, "applicant_name": dossier.applicant_name,
              "zone": calendar.hours.timezone}
    letters: list[tuple[str, outbox.Letter]] = []
    if DossierStatus(dossier.status) == DossierStatus.RECEIVED:
        letters.append((f"{dossier.code}:received", outbox.received_letter(
            received_at=dossier.received_at, appointment_at=dossier.appointment_at, **common)))
    if DossierStatus.SUPPLEMENT_REQUESTED in steps:
        rounds = values.get("supplement_rounds", dossier.supplement_rounds)
        letters.append((f"{dossier.code}:supplement:{rounds}", outbox.supplement_letter(
            requested_at=now, **common)))
    if DossierStatus.RESOLVED in steps:
        letters.append((f"{dossier.code}:resolved", outbox.result_ready_letter(
            resolved_at=now, **common)))
    for key, letter in letters:
        outbox.enqueue(conn, key=key, to_address=dossier.applicant_email,
                       subject=letter.subject, body=letter.body, now=now,
                       dossier_id=dossier.id)
