"""Use cases of officers: list, claim, unclaim and complete the tasks of their roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import CHANGED_MEANWHILE, N_, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Dossier, Procedure, ProcedureVersion, ProcessInstance, Task, User
from engine.projections import project, record, save_state
from engine.runtime import Incident, LoopLimitReached
from workflows.forms import field_errors


@dataclass(frozen=True)
class TaskRow:
    """A task as a task list shows it."""

    task: Task
    dossier: Dossier
    procedure: Procedure
    claimed_by_name: str | None
    form: dict[str, Any] | None


@dataclass(frozen=True)
class TaskDetail:
    """A task with its dossier and its form."""

    task: Task
    dossier: Dossier
    procedure: Procedure
    form: dict[str, Any] | None


def _visible(user: User) -> Any:
    roles = list(user.role_set)
    return (Task.role.in_(roles)) & or_(Task.department.is_(None),
                                         Task.department == user.department)


def list_tasks(core: Core, user: User, *, limit: int = 200) -> list[TaskRow]:
    """The ready tasks the user may act on, the most urgent first."""
    with core.uow() as uow:
        claimer = select(User.full_name).where(User.id == Task.claimed_by).scalar_subquery()
        rows = uow.session.execute(
            select(Task, Dossier, Procedure, claimer, ProcedureVersion.forms)
            .join(Dossier, Dossier.id == Task.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .where(Task.state == "ready", _visible(user),
                   or_(Task.claimed_by.is_(None), Task.claimed_by == user.id))
            .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
            .limit(limit)
        ).all()
        return [TaskRow(t, d, p, name, forms.get(t.form_key) if t.form_key else None)
                for t, d, p, name, forms in rows]


def get_task(core: Core, user: User, task_id: str) -> TaskDetail:
    """A task the user may see, with its dossier and form."""
    with core.uow() as uow:
        task = _task_for(uow.session, user, task_id)
        dossier = uow.session.get_one(Dossier, task.dossier_id)
        version = uow.session.get_one(ProcedureVersion, dossier.procedure_version_id)
        return TaskDetail(task=task, dossier=dossier,
                          procedure=uow.session.get_one(Procedure, dossier.procedure_id),
                          form=version.forms.get(task.form_key) if task.form_key else None)


def _task_for(session: Session, user: User, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(N_("This task does not exist. Reload your task list."), task_id=task_id)
    if task.role not in user.role_set or (task.department and task.department != user.department):
        raise Forbidden(N_("This task belongs to another role or department."))
    return task


def _check_open(task: Task, user: User) -> None:
    if task.state != "ready":
        raise Conflict(N_("This task has already been completed. Reload your task list."),
                       state=task.state)
    if task.claimed_by is not None and task.claimed_by != user.id:
        raise Conflict(N_("Another officer has claimed this task."))


def claim_task(core: Core, user: User, task_id: str, now: datetime) -> Task:
    """Make a ready task the user's own, so that colleagues no longer see it."""
    with core.uow() as uow:
        task = _task_for(uow.session, user, task_id)
        _check_open(task, user)
        result = uow.session.execute(
            update(Task).where(Task.id == task_id, Task.state == "ready",
                               or_(Task.claimed_by.is_(None), Task.claimed_by == user.id))
            .values(claimed_by=user.id).execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(N_("Another officer has claimed this task."))
        record(uow.session, task.dossier_id, "claimed", now, user.username, task=task)
        uow.commit()
        uow.session.refresh(task)
        return task


def unclaim_task(core: Core, user: User, task_id: str, now: datetime) -> Task:
    """Give a claimed task back to the group."""
    with core.uow() as uow:
        task = _task_for(uow.session, user, task_id)
        _check_open(task, user)
        task.claimed_by = None
        record(uow.session, task.dossier_id, "unclaimed", now, user.username, task=task)
        uow.commit()
        return task


def complete_task(core: Core, user: User, task_id: str, data: dict[str, Any], now: datetime,
                  lang: str = "vi", expected_revision: int | None = None) -> Dossier:
    """Complete a task with its form data and move the dossier to its next steps."""
    with core.uow() as uow:
        session = uow.session
        task = _task_for(session, user, task_id)
        _check_open(task, user)
        dossier = session.get_one(Dossier, task.dossier_id)
        version = session.get_one(ProcedureVersion, dossier.procedure_version_id)
        parsed = core.parsed_version(version)
        form = parsed.forms.get(task.form_key) if task.form_key else None
        errors = field_errors(form, data, lang) if form else {}
        if errors:
            raise InvalidInput(N_("The form has errors: correct the fields marked."), errors)
        instance = session.get_one(ProcessInstance, task.instance_id)
        if expected_revision is not None and instance.revision != expected_revision:
            raise Conflict(CHANGED_MEANWHILE)
        workflow = core.runtime.restore(instance.state)
        try:
            core.runtime.complete(workflow, task_id, data, now)
        except KeyError as exc:
            raise Conflict(N_("This task is no longer waiting to be completed. Reload your "
                              "task list.")) from exc
        except LoopLimitReached as exc:
            raise Conflict(N_("This step has been repeated too many times for one dossier. "
                              "Contact the process designer."), step=exc.bpmn_id) from exc
        except Incident as exc:
            raise Conflict(N_("The procedure failed while running this step; the dossier is "
                              "unchanged. Report it to the process designer."),
                           detail=str(exc)) from exc
        save_state(session, core.runtime, instance, workflow, now)
        task.state, task.completed_at, task.completed_by = "completed", now, user.id
        task.claimed_by = task.claimed_by or user.id
        record(session, dossier.id, "completed", now, user.username, task=task, data=data)
        project(session, core.runtime, core.calendar, parsed, dossier, instance.id, workflow,
                now, user.username)
        uow.commit()
        return dossier
