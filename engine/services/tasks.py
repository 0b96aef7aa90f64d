"""Use cases of officers: list, claim, unclaim and complete the tasks of their roles."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core, overrides_column, policy_column
from engine.db import listed, listed_values
from engine.errors import CHANGED_MEANWHILE, N_, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Dossier, Procedure, ProcedureVersion, Task, User
from engine.projections import (
    DOSSIER_COLUMNS,
    DOSSIERS,
    INSTANCES,
    TASKS,
    DossierState,
    event,
    project,
    save_state,
    settle_step_alerts,
    write_events,
)
from engine.runtime import Incident, LoopLimitReached
from engine.services.incidents import INCIDENT, raised, record_incident
from engine.services.result_return import record_return
from engine.services.task_list import TaskRow as TaskRow
from engine.services.task_list import list_tasks as list_tasks
from workflows.forms import day_errors, field_errors, submitted


@dataclass(frozen=True)
class TaskDetail:
    """A task with its dossier and its form."""

    task: Task
    dossier: Dossier
    procedure: Procedure
    form: dict[str, Any] | None


@dataclass(frozen=True)
class NextStep:
    """A step of the dossier waiting for an officer once a task is completed."""

    id: str
    name: str
    lane: str | None
    role: str


@dataclass(frozen=True)
class Completion:
    """What completing a task did to its dossier: its status and the steps now waiting."""

    dossier_code: str
    status: int
    next_steps: tuple[NextStep, ...] = ()


def get_task(core: Core, user: User, task_id: str) -> TaskDetail:
    """A task the user may see, with its dossier and form."""
    with core.reads() as uow:
        task = _task_for(uow.session, user, task_id)
        dossier = uow.session.get_one(Dossier, task.dossier_id)
        version = uow.session.get_one(ProcedureVersion, dossier.procedure_version_id)
        return TaskDetail(task=task, dossier=dossier,
                          procedure=uow.session.get_one(Procedure, dossier.procedure_id),
                          form=version.forms.get(task.form_key) if task.form_key else None)


def version_forms(core: Core, version_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The forms of each procedure version, from the parsed versions' cache.

    A task list shows each task's form: taken from memory, not read and parsed from the
    database with every row.
    """
    forms: dict[int, dict[str, Any]] = {}
    missing = []
    for version_id in set(version_ids):
        content_hash = core.version_hashes.get(version_id)
        parsed = core.cache.get(content_hash) if content_hash else None
        if parsed is None:
            missing.append(version_id)
        else:
            forms[version_id] = parsed.forms
    if missing:
        with core.uow() as uow:
            for version_id in missing:
                forms[version_id] = core.parsed_for(uow.session, version_id).forms
    return forms


def _check_access(user: User, role: str, department: str | None) -> None:
    if role not in user.role_set or (department and department != user.department):
        raise Forbidden(N_("This task belongs to another role or department."))


def _check_open(state: str, claimed_by: int | None, user: User) -> None:
    if state != "ready":
        raise Conflict(N_("This task has already been completed. Reload your task list."),
                       state=state)
    if claimed_by is not None and claimed_by != user.id:
        raise Conflict(N_("Another officer has claimed this task."))


def _task_for(session: Session, user: User, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(N_("This task does not exist. Reload your task list."), task_id=task_id)
    _check_access(user, task.role, task.department)
    return task


@functools.cache
def _claim(roles: int) -> Update:
    """Claim a ready task of one of the user's `roles` roles, unclaimed or already theirs."""
    return (update(TASKS)
            .where(TASKS.c.id == bindparam("task_id"), TASKS.c.state == "ready",
                   or_(TASKS.c.claimed_by.is_(None), TASKS.c.claimed_by == bindparam("user_id")),
                   TASKS.c.role.in_(listed("roles", roles)),
                   or_(TASKS.c.department.is_(None), TASKS.c.department == "",
                       TASKS.c.department == bindparam("user_department")))
            .values(claimed_by=bindparam("user_id"))
            .returning(*TASKS.c))


def claim_task(core: Core, user: User, task_id: str, now: datetime) -> Task:
    """Make a ready task the user's own, so that colleagues no longer see it."""
    with core.uow() as uow:
        # One statement checks and claims: the role, the state and nobody else's claim.
        conn = uow.session.connection()
        roles = sorted(user.role_set)
        row = conn.execute(_claim(len(roles)), {
            "task_id": task_id, "user_id": user.id, "user_department": user.department,
            **listed_values("roles", roles)}).first()
        if row is None:  # say why: unknown, another role's, done, or claimed by another
            task = _task_for(uow.session, user, task_id)
            _check_open(task.state, task.claimed_by, user)
            raise Conflict(N_("Another officer has claimed this task."))
        write_events(conn, [event(row.dossier_id, "claimed", now, user.username, row.id,
                                  row.name)])
        uow.commit()
        return Task(**row._mapping)


def unclaim_task(core: Core, user: User, task_id: str, now: datetime) -> Task:
    """Give a claimed task back to the group."""
    with core.uow() as uow:
        task = _task_for(uow.session, user, task_id)
        _check_open(task.state, task.claimed_by, user)
        task.claimed_by = None
        uow.session.flush()
        write_events(uow.session.connection(), [
            event(task.dossier_id, "unclaimed", now, user.username, task.id, task.name)])
        uow.commit()
        return task


_FOR_COMPLETION = (
    select(TASKS.c.id.label("task_id"), TASKS.c.role, TASKS.c.department, TASKS.c.state,
           TASKS.c.claimed_by, TASKS.c.form_key, TASKS.c.name, TASKS.c.instance_id,
           *DOSSIER_COLUMNS, DOSSIERS.c.procedure_version_id,
           INSTANCES.c.state.label("workflow_state"), INSTANCES.c.revision,
           INSTANCES.c.status.label("instance_status"),
           # The administrator's settings, read with the task: no query of their own, and
           # every process sees a change at once.
           policy_column(DOSSIERS.c.procedure_id).label("policy"),
           overrides_column().label("overrides"))
    .join(DOSSIERS, DOSSIERS.c.id == TASKS.c.dossier_id)
    .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
    .where(TASKS.c.id == bindparam("task_id"))
)
# On PostgreSQL a completion first locks its workflow until the commit, then reads: a second
# officer completing the same task waits, then reads it completed and gets a 409 at once,
# without running the engine for nothing; a step of a parallel branch of the same dossier
# waits, then reads the new state, dossier included, and completes on it. The workflow
# first, as every other writer (timers, migration, incidents) takes it before the task rows;
# FOR NO KEY UPDATE, the lock the completion's own UPDATE of it takes anyway, only earlier:
# rows inserted elsewhere that refer to it (their foreign-key checks) do not wait. SQLite's
# BEGIN IMMEDIATE already lets one writer in at a time.
_LOCK_WORKFLOW = (
    select(INSTANCES.c.id)
    .where(INSTANCES.c.id == select(TASKS.c.instance_id)
           .where(TASKS.c.id == bindparam("task_id")).scalar_subquery())
    .with_for_update(key_share=True)
)
_MARK_COMPLETED = (
    update(TASKS).where(TASKS.c.id == bindparam("task_id"))
    .values(state="completed", completed_at=bindparam("now"),
            completed_by=bindparam("user_id"), search_key=None, dossier_status=None,
            claimed_by=func.coalesce(TASKS.c.claimed_by, bindparam("user_id")))
)


def _load_for_completion(session: Session, task_id: str) -> Any:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_WORKFLOW, {"task_id": task_id})
    row = conn.execute(_FOR_COMPLETION, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(N_("This task does not exist. Reload your task list."), task_id=task_id)
    return row


def complete_task(core: Core, user: User, task_id: str, data: dict[str, Any], now: datetime,
                  lang: str = "vi", expected_revision: int | None = None) -> Completion:
    """Complete a task with its form data and move the dossier to its next steps."""
    with core.uow() as uow:
        row = _load_for_completion(uow.session, task_id)
        _check_access(user, row.role, row.department)
        _check_open(row.state, row.claimed_by, user)
        parsed = core.parsed_with_policy(uow.session, row.procedure_version_id, row.policy)
        form = parsed.forms.get(row.form_key) if row.form_key else None
        data = submitted(data) if isinstance(data, dict) else data
        errors = field_errors(form, data, lang) if form else {}
        if form and isinstance(data, dict):
            today = now.astimezone(core.calendar_zone()).date()
            errors = {**day_errors(form, data, today, lang), **errors}
        if errors:
            raise InvalidInput(N_("The form has errors: correct the fields marked."), errors)
        if expected_revision is not None and row.revision != expected_revision:
            raise Conflict(CHANGED_MEANWHILE)
        if row.instance_status == INCIDENT:
            raise Conflict(N_("The procedure of this dossier is stopped on an error that the "
                              "process designer must fix: try again after it is retried."))
        workflow = core.runtime.restore(row.workflow_state)
        previous = core.runtime.ready_ids(workflow) - {task_id}
        try:
            core.runtime.complete(workflow, task_id, data, now)
        except KeyError as exc:
            raise Conflict(N_("This task is no longer waiting to be completed. Reload your "
                              "task list.")) from exc
        except LoopLimitReached as exc:
            raise Conflict(N_("This step has been repeated too many times for one dossier. "
                              "Contact the process designer."), step=exc.bpmn_id) from exc
        except Incident as exc:
            _keep_completion(core, uow.session, row, user, data, workflow, exc, now)
            uow.commit()
            raise raised(exc) from exc
        conn = uow.session.connection()
        save_state(conn, core.runtime, row.instance_id, row.revision, workflow, now)
        conn.execute(_MARK_COMPLETED, {"task_id": task_id, "now": now, "user_id": user.id})
        dossier = DossierState.of(row)
        events = [event(dossier.id, "completed", now, user.username, task_id, row.name, data)]
        calendar = core.calendar_from(uow.session, row.overrides)
        ready = project(conn, core.runtime, calendar, parsed, dossier, row.instance_id,
                        workflow, now, user.username, events, previous)
        record_return(conn, dossier.id, row.form_key, data)
        write_events(conn, events)
        uow.commit()
        status = next((e["data"]["to"] for e in reversed(events)
                       if e["kind"] == "status_changed"), dossier.status)
        lanes = parsed.procedure.lanes
        return Completion(dossier_code=dossier.code, status=status, next_steps=tuple(
            NextStep(t.id, t.name, t.lane, lanes[t.lane].role if t.lane in lanes else "")
            for t in ready))


def _keep_completion(core: Core, session: Session, row: Any, user: User, data: dict[str, Any],
                     workflow: Any, incident: Incident, now: datetime) -> None:
    """The step is completed and the failed workflow saved in incident: nothing is lost."""
    conn = session.connection()
    conn.execute(_MARK_COMPLETED, {"task_id": row.task_id, "now": now, "user_id": user.id})
    settle_step_alerts(conn, row.task_id, now)
    record_return(conn, row.id, row.form_key, data)
    write_events(conn, [event(row.id, "completed", now, user.username, row.task_id, row.name,
                              data)])
    record_incident(conn, core.runtime, row.instance_id, row.revision, workflow, incident, now,
                    row.id, user.username)
