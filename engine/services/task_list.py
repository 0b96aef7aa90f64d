"""Officers' task lists: my tasks, my group's tasks, filtered, sorted, searched, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    Table,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Bundle

from engine.bootstrap import Core
from engine.db import UTCDateTime, listed, listed_values
from engine.models import Dossier, Procedure, ProcedureVersion, Task, User
from engine.search import Needle, needle
from workflows.statuses import FINISHED, DossierStatus

VIEWS = ("available", "mine", "group")  # available: unclaimed or mine (what I may act on)
URGENCIES = ("overdue", "due_soon", "on_track", "no_deadline")
SORTS = ("deadline", "received")
# The statuses a dossier may have while one of its steps waits (its process runs): what the
# lists' status filter offers. Not an online submission before acceptance (no process yet),
# nor a finished dossier.
WAITING_STATUSES = tuple(status for status in DossierStatus
                         if status != DossierStatus.SUBMITTED_ONLINE and status not in FINISHED)
PAGE_SIZE = 50
# Without a warning time of its own, a step is due soon in its last day.
SOON = timedelta(days=1)
_Query = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class TaskRow:
    """A task as a task list shows it: the task's columns, its dossier's and procedure's that
    a list shows (named tuples with the models' attribute names, not ORM objects)."""

    task: Row[Any]
    dossier: Row[Any]
    procedure: Row[Any]
    claimed_by_name: str | None
    form: dict[str, Any] | None
    urgency: str = "no_deadline"


@dataclass(frozen=True)
class TaskFilters:
    """What the officer narrowed the list to, and how it is ordered and paged."""

    view: str = "available"
    procedure: str | None = None
    urgency: str | None = None
    status: int | None = None
    sort: str = "deadline"
    search: str = ""
    page: int = 1
    per_page: int = PAGE_SIZE


@dataclass(frozen=True)
class TaskPage:
    """One page of a task list."""

    rows: list[TaskRow]
    filters: TaskFilters
    has_next: bool


def urgency(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str:
    """overdue, due_soon (past its warning time, or within SOON of its deadline without
    one), on_track or no_deadline."""
    if due_at is None:
        return "no_deadline"
    if due_at < now:
        return "overdue"
    if (warn_at or due_at - SOON) <= now:
        return "due_soon"
    return "on_track"


class _Shape(NamedTuple):
    """What the statement of a page's ids depends on: which filters are set, and how."""

    roles: int
    view: str
    procedure: bool
    status: bool
    urgency: str | None
    indexed: bool | None  # the search's: None without one
    sort: str


# The list's statements depend on the shape of the filters only: built once per shape and
# kept, with every value a bound parameter, as the SQL sent was already (building one cost
# about a tenth of a list request's CPU).
_ID_QUERIES: dict[_Shape, _Query] = {}
_DEPARTMENT = bindparam("department", type_=String)
_USER = bindparam("user_id", type_=Integer)
_NOW = bindparam("now", type_=UTCDateTime)
_SOON_AT = bindparam("soon_at", type_=UTCDateTime)


def _visible(roles: int) -> Any:
    return Task.role.in_(listed("roles", roles)) & or_(Task.department.is_(None),
                                                        Task.department == _DEPARTMENT)


def _shape(roles: int, filters: TaskFilters, wanted: Needle | None) -> _Shape:
    return _Shape(roles, filters.view, bool(filters.procedure), filters.status is not None,
                  filters.urgency, None if wanted is None else wanted.indexed, filters.sort)


def _where(query: _Query, shape: _Shape) -> _Query:
    query = query.where(Task.state == "ready", _visible(shape.roles))
    view, urgency, indexed = shape.view, shape.urgency, shape.indexed
    if view == "mine":
        query = query.where(Task.claimed_by == _USER)
    elif view == "available":
        # coalesce(), not `IS NULL OR =`: PostgreSQL then reads the role's index in the list's
        # order and stops at the page, instead of every unclaimed step of every role.
        query = query.where(func.coalesce(Task.claimed_by, _USER) == _USER)
    if shape.procedure:
        query = query.where(Procedure.code == bindparam("procedure", type_=String))
    if shape.status:
        # The step's copy of its dossier's status: ix_task_status_role_due (or _received)
        # lists only the steps of that status, where the dossier's own column made PostgreSQL
        # probe the dossier of every waiting step of the role when few or none had it.
        query = query.where(Task.dossier_status == bindparam("status", type_=Integer))
    if urgency:
        query = query.where(_urgency_clause(urgency))
    if indexed is not None:
        # The step's own folded code and applicant: its trigram index on PostgreSQL finds a
        # rare name among every waiting step; a common one is met walking the list's order.
        # A search without a trigram walks the order: `key || ''` is not what is indexed.
        # The pattern is sent as a literal (quoted by the dialect): a prepared statement's
        # generic plan, planned for any pattern, would never read the trigram index.
        key = Task.search_key if indexed else Task.search_key + ""
        query = query.where(key.like(bindparam("pattern", type_=String, literal_execute=True),
                                     escape="/"))
    if shape.sort == "received":
        # The dossier's receipt time copied on its steps: ix_task_state_role_received.
        query = query.order_by(Task.received_at, Task.dossier_id, Task.created_at, Task.id)
    else:
        # NULLS LAST rather than `due_at IS NULL, due_at`: the task indexes serve this order.
        query = query.order_by(Task.due_at.asc().nulls_last(), Task.created_at, Task.id)
    return query.offset(bindparam("offset", type_=Integer)).limit(
        bindparam("limit", type_=Integer))


def _page_ids(shape: _Shape) -> _Query:
    """The statement of a page's task ids for filters of this shape."""
    query = _ID_QUERIES.get(shape)
    if query is None:
        query = _ID_QUERIES[shape] = _where(_ids(shape.procedure), shape)
    return query


def _urgency_clause(urgency: str) -> Any:
    if urgency == "overdue":
        return Task.due_at < _NOW
    if urgency == "due_soon":
        return (Task.due_at >= _NOW) & or_(
            Task.warn_at <= _NOW, Task.warn_at.is_(None) & (Task.due_at <= _SOON_AT))
    if urgency == "on_track":
        return (Task.due_at >= _NOW) & or_(
            Task.warn_at > _NOW, Task.warn_at.is_(None) & (Task.due_at > _SOON_AT))
    return Task.due_at.is_(None)


def _joined(query: _Query) -> _Query:
    return (query.join(Dossier, Dossier.id == Task.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id))


def _ids(procedure: bool) -> _Query:
    query = select(Task.id)
    if procedure:
        query = query.join(Dossier, Dossier.id == Task.dossier_id).join(
            Procedure, Procedure.id == Dossier.procedure_id)
    return query


# Plain rows, not ORM objects: a page of 25 tasks made 75 identity-mapped objects, half
# the list's CPU (measured with bench/load.py's officers), for values that are only shown.
_TASK: Bundle[Any] = Bundle("task", *cast(Table, Task.__table__).columns)
_DOSSIER: Bundle[Any] = Bundle("dossier", Dossier.id, Dossier.code, Dossier.procedure_id,
                  Dossier.procedure_version_id, Dossier.applicant_name, Dossier.status,
                  Dossier.received_at, Dossier.appointment_at)
_PROCEDURE: Bundle[Any] = Bundle("procedure", Procedure.id, Procedure.code, Procedure.name,
                    Procedure.name_en)


def _full(with_forms: bool) -> _Query:
    claimer = select(User.full_name).where(User.id == Task.claimed_by).scalar_subquery()
    shown = Task.id.in_(bindparam("ids", expanding=True))
    if not with_forms:
        return _joined(select(_TASK, _DOSSIER, _PROCEDURE, claimer)).where(shown)
    return _joined(select(_TASK, _DOSSIER, _PROCEDURE, claimer, ProcedureVersion.forms)).join(
        ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id).where(shown)


# The rows of a page's ids, without and with the forms of their versions.
_ROWS = {with_forms: _full(with_forms) for with_forms in (False, True)}


def list_tasks(core: Core, user: User, *, limit: int = 200,
               now: datetime | None = None) -> list[TaskRow]:
    """The ready tasks the user may act on (unclaimed or theirs), the most urgent first."""
    return task_page(core, user, TaskFilters(per_page=limit), now, with_forms=True).rows


def task_page(core: Core, user: User, filters: TaskFilters, now: datetime | None, *,
              with_forms: bool = False) -> TaskPage:
    """One page of the user's task list: three queries at most, whatever the page holds."""
    if filters.urgency and now is None:
        raise ValueError("filtering by urgency needs the current time")
    size = max(1, min(filters.per_page, 500))
    search = needle(filters.search)
    roles = sorted(user.role_set)
    params = {**listed_values("roles", roles), "department": user.department,
              "user_id": user.id, "procedure": filters.procedure, "status": filters.status,
              "now": now, "soon_at": now + SOON if now else None,
              "pattern": search.like if search else None,
              "offset": (max(filters.page, 1) - 1) * size, "limit": size + 1}
    with core.reads() as uow:
        session = uow.session
        # The page's ids first, from the task indexes alone when no filter needs the
        # dossier; then the rows of those ids: a deep page skips ids, not joined rows.
        wanted = list(session.scalars(_page_ids(_shape(len(roles), filters, search)), params))
        shown = wanted[:size]
        found = session.execute(_ROWS[with_forms], {"ids": shown}).all() if shown else []
        order = {task_id: i for i, task_id in enumerate(shown)}
        rows = sorted(found, key=lambda r: order[r[0].id])
    result = []
    for row in rows:
        task, dossier, procedure, name = row[0], row[1], row[2], row[3]
        forms = row[4] if with_forms else {}
        result.append(TaskRow(task, dossier, procedure, name,
                              forms.get(task.form_key) if task.form_key else None,
                              urgency(task.due_at, task.warn_at, now) if now else ""))
    return TaskPage(result, filters, has_next=len(wanted) > size)
