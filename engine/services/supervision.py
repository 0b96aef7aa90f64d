"""The supervisor's use cases: open alerts and their counts, acknowledging, reassigning."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.bootstrap import Core
from engine.errors import N_, Conflict, Forbidden, NotFound
from engine.models import Dossier, Escalation, Procedure, ProcedureVersion, Task, User
from engine.projections import event, write_events
from workflows.statuses import DossierStatus, is_open

_Query = Select[*tuple[Any, ...]]

STAGES = ("near_due", "overdue", "escalated")
PAGE_SIZE = 50
OPEN_STATUSES = tuple(int(s) for s in DossierStatus if is_open(s))
OFFICER_ROLES = ("reception", "specialist", "head", "leader", "clerk")
# The officer who claimed an alert's step, and a higher level of the same deadline.
_OFFICER = aliased(User, name="officer")
_HIGHER = aliased(Escalation, name="higher")


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
        return stage_of(self.escalation.level)


@dataclass(frozen=True)
class Filters:
    """What the supervisor narrowed the list to; officer "" means nobody claimed the step."""

    stage: str | None = None
    procedure: str | None = None
    role: str | None = None
    officer: str | None = None
    dossier_code: str | None = None

    def keep(self, alert: Alert) -> bool:
        """Whether `alert` passes these filters."""
        return ((not self.stage or alert.stage == self.stage)
                and (not self.procedure or alert.procedure.code == self.procedure)
                and (not self.role or alert.escalation.role == self.role)
                and (self.officer is None or (alert.officer or "") == self.officer)
                and (not self.dossier_code or alert.dossier.code == self.dossier_code))


@dataclass(frozen=True)
class AlertPage:
    """One page of the running alerts that pass the filters, and how many pass them."""

    alerts: list[Alert]
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        """Whether a later page holds more alerts."""
        return self.page * self.per_page < self.total


@dataclass(frozen=True)
class Scope:
    """What a head oversees: the alerts of their department's steps (and of steps in no
    department), and the appointment alerts of the dossiers whose procedure version has a lane
    of theirs."""

    department: str | None
    version_ids: tuple[int, ...]


def scope_of(core: Core, viewer: User | None) -> Scope | None:
    """The viewer's scope; None for supervisors and leaders, who oversee the whole agency
    (and for no viewer: the agency's own reports)."""
    if viewer is None or AGENCY_WIDE & viewer.role_set:
        return None
    from engine.services.dossiers import in_scope

    with core.reads() as uow:
        versions = uow.session.execute(select(ProcedureVersion.id, ProcedureVersion.meta)).all()
    return Scope(viewer.department, tuple(version_id for version_id, meta in versions
                                          if in_scope(viewer, meta or {})))


def _scoped(query: _Query, scope: Scope | None) -> _Query:
    """`query` narrowed to the alerts a scoped viewer oversees, on the alerts' own columns
    (their step's department and dossier's version, copied by migration 0013): the partial
    index answers, as for the supervisor."""
    if scope is None:
        return query
    return query.where(or_(
        Escalation.task_id.is_not(None)
        & func.coalesce(Escalation.department, "").in_(["", scope.department or ""]),
        Escalation.task_id.is_(None) & Escalation.procedure_version_id.in_(scope.version_ids)))


def stage_of(level: int) -> str:
    """The stage of an alert of this level: near_due (the warning), overdue, escalated."""
    return STAGES[min(max(level, 0), 2)]


def _joined(query: _Query, ready_only: bool) -> _Query:
    """Each alert with its dossier, procedure, step (only a waiting one if `ready_only`: an
    index-only probe of ix_task_state_id) and the step's officer."""
    step = Task.id == Escalation.task_id
    return (query.select_from(Escalation)
            .join(Dossier, Dossier.id == Escalation.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .outerjoin(Task, (step & (Task.state == "ready")) if ready_only else step)
            .outerjoin(_OFFICER, _OFFICER.id == Task.claimed_by))


def _latest(query: _Query) -> _Query:
    """The latest alert of each deadline (no higher level of it exists), settled or not."""
    return _joined(query, False).where(~exists().where(
        _HIGHER.dossier_id == Escalation.dossier_id, _HIGHER.ref == Escalation.ref,
        _HIGHER.level > Escalation.level))


def _running(query: _Query) -> _Query:
    """The running alerts: the latest of their deadline, not acknowledged, their step still
    waiting (their dossier still open when they have no step). Whatever ends one of these
    sets settled_at in the same transaction, so the partial index ix_escalation_running holds
    exactly them."""
    return query.where(Escalation.settled_at.is_(None), Escalation.acknowledged_at.is_(None))


def _filtered(query: _Query, filters: Filters) -> _Query:
    """`query` narrowed by `filters`, on escalation's own columns (the rest as subqueries):
    the page's ids and its count read the partial index without joining anything."""
    if filters.stage in STAGES:
        level = STAGES.index(filters.stage)
        query = query.where(Escalation.level >= 2 if level == 2 else Escalation.level == level)
    if filters.procedure:
        query = query.where(Escalation.procedure_id.in_(
            select(Procedure.id).where(Procedure.code == filters.procedure)))
    if filters.role:
        query = query.where(Escalation.role == filters.role)
    if filters.officer == "":
        query = query.where(Escalation.claimed_by.is_(None))
    elif filters.officer is not None:
        query = query.where(Escalation.claimed_by.in_(
            select(User.id).where(User.full_name == filters.officer)))
    if filters.dossier_code:
        query = query.where(Escalation.dossier_id.in_(
            select(Dossier.id).where(Dossier.code == filters.dossier_code)))
    return query


def _rows(session: Session, query: _Query) -> list[Alert]:
    return [Alert(escalation, dossier, procedure, task, name)
            for escalation, dossier, procedure, task, name in session.execute(query)]


def _ordered(query: _Query) -> _Query:
    return query.order_by(Escalation.level.desc(), Escalation.raised_at, Escalation.id)


def open_alerts(core: Core, filters: Filters = Filters(), *, include_settled: bool = False,
                limit: int | None = None, offset: int = 0,
                scope: Scope | None = None) -> list[Alert]:
    """Alerts of running deadlines, the most serious and oldest first (`limit` of them);
    with `scope` (`scope_of` a head), those the head oversees."""
    columns = select(Escalation, Dossier, Procedure, Task, _OFFICER.full_name)
    query = _latest(columns) if include_settled else _running(_joined(columns, True))
    query = _ordered(_scoped(_filtered(query, filters), scope))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with core.uow() as uow:
        return _rows(uow.session, query)


def alert_page(core: Core, filters: Filters = Filters(), page: int = 1,
               per_page: int = PAGE_SIZE, scope: Scope | None = None,
               counted: dict[str, dict[str, Counter[str]]] | None = None) -> AlertPage:
    """One page of the running alerts passing `filters` (within `scope`), with how many
    pass them. `counted`: alert_counts of the same scope, already read; unfiltered, the
    total is theirs, and the index is not counted over a second time."""
    page, per_page = max(page, 1), max(1, min(per_page, 500))
    if counted is not None and filters == Filters():
        total = _total(counted)
    else:
        with core.uow() as uow:
            total = uow.session.scalar(_scoped(_filtered(_running(
                select(func.count()).select_from(Escalation)), filters), scope)) or 0
    return AlertPage(_page_alerts(core, filters, page, per_page, scope), page, per_page, total)


def _total(counted: dict[str, dict[str, Counter[str]]]) -> int:
    return sum(sum(stages.values()) for stages in counted["role"].values())


def _page_alerts(core: Core, filters: Filters, page: int, per_page: int,
                 scope: Scope | None) -> list[Alert]:
    """The alerts of one page: their ids first, from the partial index; then their rows."""
    columns = select(Escalation, Dossier, Procedure, Task, _OFFICER.full_name)
    with core.uow() as uow:
        ids = list(uow.session.scalars(
            _ordered(_scoped(_filtered(_running(select(Escalation.id)), filters), scope))
            .limit(per_page).offset((page - 1) * per_page)))
        found = _rows(uow.session, _joined(columns, False).where(Escalation.id.in_(ids))) \
            if ids else []
    order = {escalation_id: n for n, escalation_id in enumerate(ids)}
    return sorted(found, key=lambda a: order[a.escalation.id])


@dataclass(frozen=True)
class Dashboard:
    """What the supervision page shows: the alerts counted, one page of them, and the
    officers' workload."""

    counts: dict[str, dict[str, Counter[str]]]
    page: AlertPage
    workload: list[tuple[str, str, int, int]]


# Reads the workload beside the alerts, on a connection of its own (PostgreSQL only); one per
# process, made in the process that uses it: gunicorn forks its workers from a master that
# imported this module, and a forked executor's threads are not there in the child.
_BESIDE: dict[int, ThreadPoolExecutor] = {}


def _beside() -> ThreadPoolExecutor:
    pid = os.getpid()
    pool = _BESIDE.get(pid)
    if pool is None:
        _BESIDE.clear()  # a parent's, inherited by fork
        pool = _BESIDE[pid] = ThreadPoolExecutor(max_workers=2,
                                                 thread_name_prefix="dashboard")
    return pool


def dashboard(core: Core, viewer: User | None, now: datetime, filters: Filters = Filters(),
              page: int = 1) -> Dashboard:
    """The alerts of the viewer's scope counted and paged, and the workload of the officers
    they oversee.

    On PostgreSQL the counts and the workload (counts over every running alert and every
    claimed waiting step) are read on connections of their own while this thread reads the
    page, so that the page waits for the longest of the three rather than their sum when the
    database has a core free (bench/tables.py).
    """
    scope = scope_of(core, viewer)
    if core.db.dialect.name != "postgresql":
        counts = alert_counts(core, scope)
        return Dashboard(counts, alert_page(core, filters, page, scope=scope, counted=counts),
                         workload(core, now, viewer))
    pool = _beside()
    counting = pool.submit(alert_counts, core, scope)
    weighing = pool.submit(workload, core, now, viewer)
    if filters == Filters():  # unfiltered, the page's total is the counts' sum
        page = max(page, 1)
        alerts = _page_alerts(core, filters, page, PAGE_SIZE, scope)
        counts = counting.result()
        paged = AlertPage(alerts, page, PAGE_SIZE, _total(counts))
    else:
        paged = alert_page(core, filters, page, scope=scope)
        counts = counting.result()
    return Dashboard(counts, paged, weighing.result())


def alert_counts(core: Core, scope: Scope | None = None) -> dict[str, dict[str, Counter[str]]]:
    """Running alerts (within `scope`) counted by stage, per procedure, per role and per
    officer, in SQL."""
    table = _table()
    # Grouped by level, named in Python: hashing integers rather than a CASE's strings cut
    # the aggregate over 30,000 running alerts from 32 to 22 ms (bench/tables.py data).
    columns = (Escalation.procedure_id, Escalation.role, Escalation.claimed_by,
               Escalation.level)
    query = _scoped(_running(select(*columns, func.count()).select_from(Escalation)),
                    scope).group_by(*columns)
    with core.uow() as uow:
        rows = uow.session.execute(query).all()
        codes: dict[int | None, str] = {
            pid: code for pid, code in uow.session.execute(select(Procedure.id, Procedure.code))}
        claimers = {row[2] for row in rows if row[2] is not None}
        names = {uid: name for uid, name in uow.session.execute(
            select(User.id, User.full_name).where(User.id.in_(claimers)))} if claimers else {}
    for procedure_id, role, claimed_by, level, count in rows:
        stage_name = stage_of(level)
        table["procedure"][codes.get(procedure_id, "")][stage_name] += count
        table["role"][role][stage_name] += count
        table["officer"][names.get(claimed_by, "") or ""][stage_name] += count
    return table


def _table() -> dict[str, dict[str, Counter[str]]]:
    return {"procedure": defaultdict(Counter), "role": defaultdict(Counter),
            "officer": defaultdict(Counter)}


def counts(alerts: list[Alert]) -> dict[str, dict[str, Counter[str]]]:
    """Alerts counted by stage, per procedure, per role and per officer."""
    table = _table()
    for alert in alerts:
        table["procedure"][alert.procedure.code][alert.stage] += 1
        table["role"][alert.escalation.role][alert.stage] += 1
        table["officer"][alert.officer or ""][alert.stage] += 1
    return table


def acknowledge(core: Core, user: User, escalation_id: int, note: str, now: datetime) -> None:
    """Record that a supervisor has seen an alert and what they did about it.

    A head acknowledges only the alerts of their own department's steps.
    """
    with core.uow() as uow:
        escalation = uow.session.get(Escalation, escalation_id)
        if escalation is None:
            raise NotFound(N_("This alert does not exist. Reload the list."))
        if escalation.acknowledged_at is not None:
            raise Conflict(N_("This alert has already been acknowledged."))
        step = uow.session.get(Task, escalation.task_id) if escalation.task_id else None
        if not _oversees(uow.session, user, escalation, step):
            if step is None:
                raise Forbidden(N_("This dossier belongs to another department: its head or "
                                   "a supervisor acknowledges its alerts."))
            raise Forbidden(N_("This step belongs to another department: its head or a "
                               "supervisor acknowledges its alerts."))
        escalation.acknowledged_at, escalation.acknowledged_by = now, user.id
        escalation.note = note.strip()[:1000] or None
        uow.session.flush()
        write_events(uow.session.connection(), [event(
            escalation.dossier_id, "acknowledged", now, user.username, escalation.task_id,
            None, {"level": escalation.level, "note": escalation.note})])
        uow.commit()


def _oversees(session: Session, user: User, escalation: Escalation, step: Task | None) -> bool:
    """Whether `user` oversees this alert: what `_scoped` shows them, row by row."""
    if step is not None:
        return _in_department(user, step.department)
    if AGENCY_WIDE & user.role_set:
        return True
    from engine.services.dossiers import in_scope

    meta = session.scalar(select(ProcedureVersion.meta)
                          .join(Dossier, Dossier.procedure_version_id == ProcedureVersion.id)
                          .where(Dossier.id == escalation.dossier_id))
    return in_scope(user, meta or {})


def officers_with_role(core: Core, role: str, department: str | None = None) -> list[User]:
    """Active users who hold `role` (and, for a step of a department, who are in it), by
    name: whom `reassign` accepts."""
    return officers_for_steps(core, {(role, department)})[(role, department)]


def officers_for_steps(core: Core, steps: Collection[tuple[str, str | None]]
                       ) -> dict[tuple[str, str | None], list[User]]:
    """`officers_with_role` of each (role, department) step, the active users read once."""
    if not steps:
        return {}
    with core.uow() as uow:
        users = list(uow.session.scalars(select(User).where(User.active.is_(True))
                                         .order_by(User.full_name)))
    return {(role, department): [u for u in users if role in u.role_set
                                 and (not department or u.department == department)]
            for role, department in steps}


# Who reassigns any step; a head reassigns only the steps of their own department.
AGENCY_WIDE = frozenset({"supervisor", "leader"})


def _in_department(user: User, department: str | None) -> bool:
    """Whether `user` oversees a step of `department`: supervisors and leaders every step, a
    head those of their department and of none (as `_scoped` lists them)."""
    return bool(AGENCY_WIDE & user.role_set) or not department or department == user.department


def reassign(core: Core, supervisor: User, task_id: str, officer_id: int, now: datetime) -> Task:
    """Give a waiting task to another officer who holds its role (within the head's scope)."""
    with core.uow() as uow:
        task = uow.session.get(Task, task_id)
        officer = uow.session.get(User, officer_id)
        if task is None or task.state != "ready":
            raise Conflict(N_("This task is no longer waiting. Reload the list."))
        if not _in_department(supervisor, task.department):
            raise Forbidden(N_("This step belongs to another department: its head or a "
                               "supervisor reassigns it."))
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


def workload(core: Core, now: datetime, viewer: User | None = None
             ) -> list[tuple[str, str, int, int]]:
    """Per officer (of a head's own department, with `viewer` a head): name, roles, waiting
    tasks claimed, and how many of those are overdue."""
    query = (select(User.full_name, User.roles, func.count(Task.id),
                    func.count(Task.id).filter(Task.due_at < now))
             .join(Task, (Task.claimed_by == User.id) & (Task.state == "ready"), isouter=True)
             .where(User.active.is_(True), or_(*(User.roles.contains(r)
                                                 for r in OFFICER_ROLES)))
             .group_by(User.id, User.full_name, User.roles).order_by(User.full_name))
    if viewer is not None and not AGENCY_WIDE & viewer.role_set:
        query = query.where(User.department.is_(None) if viewer.department is None
                            else User.department == viewer.department)
    with core.uow() as uow:
        rows = uow.session.execute(query).all()
    return [(name, roles, waiting, late) for name, roles, waiting, late in rows]
