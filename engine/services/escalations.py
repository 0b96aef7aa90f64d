"""The scheduler's pass: escalate overdue steps and fire due BPMN timers, exactly once.

A pass leases a batch of due items (SKIP LOCKED on PostgreSQL), then handles them in due
order on one connection: each run of step-deadline and appointment items set-based, in one
transaction per CHUNK items (a handful of statements whatever the count), and each run of BPMN
timers in one transaction per CHUNK timers, each timer in a savepoint of its own, so that an
engine failure holds back only its own instance.
Only the items still leased to this owner are acted on (locked FOR UPDATE on PostgreSQL) and
each is deleted in the transaction that acts on it; an escalation is inserted ON CONFLICT DO
NOTHING on its unique (dossier_id, ref, level), so a level already raised is never raised,
notified or logged again. A crash keeps what was committed and leaves the rest leased until
the lease expires and another pass takes it over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Connection,
    RootTransaction,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import Conflict
from engine.models import SETTLE_SUPERSEDED, Escalation, Notification, OutboxMessage, User
from engine.projections import (
    APPOINTMENT,
    DEADLINE,
    DOSSIER_COLUMNS,
    DOSSIERS,
    DUE,
    INSTANCES,
    TASKS,
    TIMER,
    DossierState,
    event,
    project,
    save_state,
    write_events,
)
from engine.runtime import Incident
from engine.services.dossiers import AGENCY_WIDE_ROLES
from engine.services.incidents import INCIDENT, record_incident
from engine.specs import ParsedVersion
from workflows.calendar import WorkingCalendar
from workflows.letters import escalation_letter
from workflows.procedure import Procedure
from workflows.statuses import DossierStatus, is_open

ESCALATIONS = cast(Table, Escalation.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
USERS = cast(Table, User.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
ESCALATED = (DEADLINE, APPOINTMENT)
# An escalation row to insert, and what its notifications and event tell.
Raised = tuple[dict[str, Any], dict[str, Any]]
# Deadline and appointment items handled per transaction: a few statements for all of them.
CHUNK = 100


@dataclass
class PassResult:
    """What one scheduler pass did."""

    claimed: int = 0
    escalated: int = 0
    timers_fired: int = 0
    deserialized: int = 0
    incidents: int = 0


# Statements of the pass, built once: building a statement costs more than running it.
_CLAIMABLE = (
    select(DUE.c.id)
    .where(DUE.c.due_at <= bindparam("now"),
           or_(DUE.c.lock_expires_at.is_(None), DUE.c.lock_expires_at < bindparam("now")))
    .order_by(DUE.c.due_at)
    .limit(bindparam("batch"))
)


def _claim(claimable: Any) -> Any:
    return (update(DUE).where(DUE.c.id.in_(claimable.scalar_subquery()))
            .values(lock_owner=bindparam("owner"), lock_expires_at=bindparam("expires"))
            .returning(DUE.c.id, DUE.c.kind, DUE.c.due_at))


_CLAIM = {"postgresql": _claim(_CLAIMABLE.with_for_update(skip_locked=True)),
          "sqlite": _claim(_CLAIMABLE)}
_MINE = and_(DUE.c.id.in_(bindparam("ids", expanding=True)),
             DUE.c.lock_owner == bindparam("owner"))
_KINDS = select(DUE.c.id, DUE.c.kind).where(_MINE).order_by(DUE.c.due_at, DUE.c.id)
_ESCALATED = (
    select(DUE.c.id, DUE.c.kind, DUE.c.dossier_id, DUE.c.ref, DUE.c.level,
           DOSSIERS.c.procedure_version_id, DOSSIERS.c.procedure_id, DOSSIERS.c.code,
           DOSSIERS.c.status,
           DOSSIERS.c.appointment_at, TASKS.c.id.label("task_id"),
           TASKS.c.state.label("task_state"), TASKS.c.due_at.label("task_due_at"),
           TASKS.c.bpmn_id, TASKS.c.role, TASKS.c.department, TASKS.c.name,
           TASKS.c.claimed_by)
    .select_from(DUE.join(DOSSIERS, DOSSIERS.c.id == DUE.c.dossier_id)
                 .outerjoin(TASKS, and_(TASKS.c.id == DUE.c.ref, DUE.c.kind == DEADLINE)))
    .where(_MINE, DUE.c.kind.in_(ESCALATED))
    .order_by(DUE.c.due_at, DUE.c.id)
)
# PostgreSQL locks the leased rows until the transaction ends (SQLite's BEGIN IMMEDIATE
# already serializes writers): a lease lost meanwhile means the row is not found, and skipped.
_ESCALATED_ITEMS = {"postgresql": _ESCALATED.with_for_update(of=DUE), "sqlite": _ESCALATED}
# The timers' items still leased to this owner, with their instances and dossiers, in one
# query per run of timers (their due rows locked on PostgreSQL until the transaction ends).
_TIMERS = (
    select(DUE.c.id.label("item_id"), DUE.c.ref, DUE.c.instance_id, INSTANCES.c.state,
           INSTANCES.c.revision, INSTANCES.c.procedure_version_id,
           INSTANCES.c.status.label("instance_status"), *DOSSIER_COLUMNS)
    .where(_MINE, DUE.c.kind == TIMER, INSTANCES.c.id == DUE.c.instance_id,
           DOSSIERS.c.id == DUE.c.dossier_id)
)
_TIMER_ITEMS = {"postgresql": _TIMERS.with_for_update(of=DUE), "sqlite": _TIMERS}
# On PostgreSQL the run's workflows are locked first, in id order, and only then their items:
# the order of a completion (which locks its workflow, then changes its timer items), so that
# a completion and a timer of the same dossier wait for each other instead of deadlocking.
_LOCK_TIMER_WORKFLOWS = (
    select(INSTANCES.c.id)
    .where(INSTANCES.c.id.in_(select(DUE.c.instance_id).where(_MINE, DUE.c.kind == TIMER)))
    .order_by(INSTANCES.c.id)
    .with_for_update(key_share=True)
)
# The leases of the fired timers' items are released in the transaction that fires them
# (most items are deleted by the projections, or moved to the timer's next due time).
_RELEASE = (update(DUE).where(DUE.c.id.in_(bindparam("ids", expanding=True)))
            .values(lock_owner=None, lock_expires_at=None))
_DELETE_MINE = delete(DUE).where(_MINE)
# An existing escalation (same dossier, ref and level) is skipped by the unique constraint.
_RAISE = {name: dialect_insert(ESCALATIONS)
          .on_conflict_do_nothing(index_elements=["dossier_id", "ref", "level"])
          .returning(ESCALATIONS.c.id, ESCALATIONS.c.dossier_id, ESCALATIONS.c.ref,
                     ESCALATIONS.c.level)
          for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_NOTIFY = insert(NOTIFICATIONS)
# Officers' e-mails go through the outbox, once per escalation and person.
_MAIL = {"sqlite": sqlite_insert(OUTBOX).on_conflict_do_nothing(index_elements=["key"]),
         "postgresql": pg_insert(OUTBOX).on_conflict_do_nothing(index_elements=["key"])}


class DueRef(NamedTuple):
    """A leased due item: its id and kind."""

    id: int
    kind: str


def run_due(core: Core, now: datetime, owner: str, batch: int = 200) -> PassResult:
    """Claim the due items at `now` under a lease and handle them, on one connection."""
    result = PassResult()
    with core.db.connect() as conn:
        items = _claim_on(conn, core, now, owner, batch)
        result.claimed = len(items)
        _handle_on(conn, core, items, owner, now, result)
    return result


def claim_due(core: Core, now: datetime, owner: str, batch: int) -> list[int]:
    """Lease up to `batch` due items nobody holds (SKIP LOCKED on PostgreSQL), in due order."""
    return [item.id for item in claim_due_items(core, now, owner, batch)]


def claim_due_items(core: Core, now: datetime, owner: str, batch: int) -> list[DueRef]:
    """claim_due, with each item's kind: what handle_due_items takes."""
    with core.db.connect() as conn:
        return _claim_on(conn, core, now, owner, batch)


def _claim_on(conn: Connection, core: Core, now: datetime, owner: str,
              batch: int) -> list[DueRef]:
    with conn.begin():
        claimed = conn.execute(_CLAIM[conn.dialect.name], {
            "now": now, "batch": batch, "owner": owner,
            "expires": now + timedelta(seconds=core.settings.lease_seconds)}).all()
    return [DueRef(row.id, row.kind)
            for row in sorted(claimed, key=lambda row: (row.due_at, row.id))]


def handle_due_item(core: Core, item_id: int, owner: str, now: datetime,
                    result: PassResult) -> None:
    """Act on one leased due item; a lost lease (someone else took it) means do nothing."""
    with core.db.connect() as conn:
        with conn.begin():
            items = [DueRef(row.id, row.kind) for row in conn.execute(
                _KINDS, {"ids": [item_id], "owner": owner})]
        _handle_on(conn, core, items, owner, now, result)


def handle_due_items(core: Core, items: Sequence[DueRef], owner: str, now: datetime,
                     result: PassResult) -> None:
    """Act on leased due items in their order; those whose lease was lost are left alone.

    Runs of deadline and appointment items are handled set-based, CHUNK per transaction;
    each timer in its own transaction. An item of another kind is left leased.
    """
    if items:
        with core.db.connect() as conn:  # one connection (one pool checkout) for them all
            _handle_on(conn, core, items, owner, now, result)


def _handle_on(conn: Connection, core: Core, items: Sequence[DueRef], owner: str,
               now: datetime, result: PassResult) -> None:
    pending: list[int] = []  # a run of deadline and appointment items
    timers: list[int] = []  # a run of timers
    for item_id, kind in items:
        if kind in ESCALATED:
            if timers:
                _fire_timers(core, conn, timers, owner, now, result)
                timers = []
            pending.append(item_id)
            if len(pending) >= CHUNK:
                _escalate_chunk(core, conn, pending, owner, now, result)
                pending = []
        elif kind == TIMER:
            if pending:
                _escalate_chunk(core, conn, pending, owner, now, result)
                pending = []
            timers.append(item_id)
            if len(timers) >= CHUNK:
                _fire_timers(core, conn, timers, owner, now, result)
                timers = []
    if pending:
        _escalate_chunk(core, conn, pending, owner, now, result)
    if timers:
        _fire_timers(core, conn, timers, owner, now, result)


def _escalate_chunk(core: Core, conn: Connection, item_ids: list[int], owner: str,
                    now: datetime, result: PassResult) -> None:
    """Raise each item's warning or escalation once and tell the officers; drop the items."""
    keys = {"ids": item_ids, "owner": owner}
    with conn.begin(), Session(bind=conn) as session:
        items = conn.execute(_ESCALATED_ITEMS[conn.dialect.name], keys).all()
        if not items:
            return
        raised: dict[tuple[int, str, int], Raised] = {}
        # One lookup per version in the chunk (each reads the administrator's policy).
        found: dict[int, Procedure] = {}

        def procedures(version_id: int) -> Procedure:
            if version_id not in found:
                found[version_id] = core.parsed_for(session, version_id).procedure
            return found[version_id]

        for item in items:
            escalation = _escalation(procedures, item, now)
            if escalation is not None:
                raised.setdefault((item.dossier_id, item.ref, item.level), escalation)
        if raised:
            new = conn.execute(_RAISE[conn.dialect.name],
                               [row for row, _ in raised.values()]).all()
            _notify(core, conn, now, raised, new)
            # A higher level settles the lower ones of its deadline (ix_escalation_running).
            if new:
                conn.execute(SETTLE_SUPERSEDED, [
                    {"now": now, "dossier_id": d, "ref": ref}
                    for d, ref in sorted({(r.dossier_id, r.ref) for r in new})])
            result.escalated += len(new)
        conn.execute(_DELETE_MINE, {"ids": [item.id for item in items], "owner": owner})


def _escalation(procedures: Callable[[int], Procedure], item: Any,
                now: datetime) -> Raised | None:
    """The escalation row an item raises and what it tells, or None if it raises nothing."""
    procedure = procedures(item.procedure_version_id)
    if item.kind == DEADLINE:
        if item.task_id is None or item.task_state != "ready" or item.task_due_at is None:
            return None
        policy, role, deadline = procedure.step_policy(item.bpmn_id), item.role, item.task_due_at
    else:
        if not is_open(DossierStatus(item.status)):
            return None
        policy, role, deadline = procedure.appointment_escalation, "", item.appointment_at
    audience = policy.audience(item.level, role) or "supervisor"
    row = {"dossier_id": item.dossier_id, "kind": "step" if item.task_id else "appointment",
           "ref": item.ref, "task_id": item.task_id, "level": item.level, "role": audience,
           "due_at": deadline, "raised_at": now, "procedure_id": item.procedure_id,
           "settled_at": None, "claimed_by": item.claimed_by,
           "department": item.department if item.task_id else None,
           "procedure_version_id": item.procedure_version_id}
    # An appointment date has no step, hence no department: its alert goes to the holders of
    # the role whose lane of that role is in their department (or in none), as they see it.
    lanes = None if item.task_id else {lane.department or None for lane in procedure.lanes.values()
                                       if lane.role == audience}
    told = {"department": item.department, "task_id": item.task_id, "name": item.name,
            "lanes": lanes,
            "data": {"level": item.level, "due_at": deadline.isoformat(), "code": item.code,
                     "step": item.name, "role": audience}}
    return row, told


def _overseeing(people: list[Any], role: str, lanes: set[str | None] | None) -> list[Any]:
    """Those of `people` (holders of `role`) who oversee a dossier whose lanes of that role
    are in `lanes` (None: a step's alert, already chosen by its department). Agency-wide
    roles oversee every dossier; when no holder is in scope, all are told rather than none
    (a deadline must reach someone)."""
    if lanes is None or role in AGENCY_WIDE_ROLES or None in lanes:
        return people
    return [user for user in people if user.department in lanes] or people


def _notify(core: Core, conn: Connection, now: datetime,
            raised: dict[tuple[int, str, int], Raised],
            new: Sequence[Any]) -> None:
    """Tell the holders of each new escalation's role, in the app and by e-mail, and log it."""
    ids = {(row.dossier_id, row.ref, row.level): row.id for row in new}
    fresh = [(ids[key], row, told) for key, (row, told) in raised.items() if key in ids]
    holders = _holders(conn, {(row["role"], told["department"]) for _, row, told in fresh})
    notifications, mails, events = [], [], []
    settings = core.settings
    for escalation_id, row, told in fresh:
        people = _overseeing(holders[row["role"], told["department"]], row["role"],
                             told["lanes"])
        notifications += [
            {"user_id": user.id, "dossier_id": row["dossier_id"],
             "escalation_id": escalation_id, "kind": "escalation", "data": told["data"],
             "created_at": now, "read_at": None} for user in people]
        code = told["data"]["code"]
        for user in people:
            if not user.email:
                continue
            letter = escalation_letter(
                agency_name=settings.agency_name, officer_name=user.full_name, code=code,
                step=told["name"], level=row["level"], due_at=row["due_at"],
                link=f"{settings.public_url}/dossiers/{code}", zone=settings.hours.timezone)
            mails.append({"key": f"escalation:{escalation_id}:{user.id}",
                          "dossier_id": row["dossier_id"], "to_address": user.email,
                          "subject": letter.subject, "body": letter.body, "created_at": now,
                          "next_attempt_at": now, "attempts": 0})
        events.append(event(row["dossier_id"], "warned" if row["level"] == 0 else "escalated",
                            now, None, told["task_id"], told["name"], told["data"]))
    if notifications:
        conn.execute(_NOTIFY, notifications)
    if mails:
        conn.execute(_MAIL[conn.dialect.name], mails)
    write_events(conn, events)


@cache
def _holders_query(roles: int) -> Any:
    """Active users with any of `roles` roles (bound as r0, r1…), telling which each holds."""
    # Roles are stored comma-separated: match a whole item, not a substring of another.
    holds = [(literal(",") + USERS.c.roles + literal(",")).contains(bindparam(f"r{n}"))
             for n in range(roles)]
    return (select(USERS.c.id, USERS.c.department, USERS.c.email, USERS.c.full_name,
                   *(hold.label(f"r{n}") for n, hold in enumerate(holds)))
            .where(USERS.c.active.is_(True), or_(*holds)).order_by(USERS.c.id))


def _holders(conn: Connection, wanted: set[tuple[str, str | None]]
             ) -> dict[tuple[str, str | None], list[Any]]:
    """The active users holding each (role, department or None for any), in one query."""
    roles = sorted({role for role, _ in wanted})
    found = conn.execute(_holders_query(len(roles)),
                         {f"r{n}": f",{role}," for n, role in enumerate(roles)}).all()
    holders: dict[tuple[str, str | None], list[Any]] = {}
    for role, department in wanted:
        held = roles.index(role) + 4  # the columns: id, department, email, full_name, r0, r1…
        holders[role, department] = [
            user for user in found
            if user[held] and (department is None or user.department == department)]
    return holders


def _fire_timers(core: Core, conn: Connection, item_ids: list[int], owner: str,
                 now: datetime, result: PassResult) -> None:
    """Fire a run of timers in one transaction, each instance in a savepoint of its own.

    The items still leased to this owner are read (and locked) with their instances in one
    query, their workflows locked first on PostgreSQL (see _LOCK_TIMER_WORKFLOWS); each
    instance's due timers fire once, however many of its items are due. An instance whose
    engine fails is saved in incident, once, and its timer items are dropped
    (a successful retry projects them again); one saved meanwhile (Conflict) rolls back its
    savepoint only, and its items stay leased until the lease expires and a later pass
    retries; the others' leases are released in the same transaction. Any other error keeps
    the timers fired before it (committed), then propagates. A crash loses the transaction
    whole: every lease in it then expires and nothing has fired.
    """
    keys = {"ids": item_ids, "owner": owner}
    with conn.begin() as transaction, Session(bind=conn) as session:
        if conn.dialect.name == "postgresql":
            conn.execute(_LOCK_TIMER_WORKFLOWS, keys)
        items = conn.execute(_TIMER_ITEMS[conn.dialect.name], keys).all()
        if not items:
            return
        calendar = core.calendar_for(session)
        versions: dict[int, ParsedVersion] = {}

        def parsed_for(version_id: int) -> ParsedVersion:
            parsed = versions.get(version_id)
            if parsed is None:
                parsed = versions[version_id] = core.parsed_for(session, version_id)
            return parsed

        order = {item_id: n for n, item_id in enumerate(item_ids)}
        by_instance: dict[int, list[Any]] = {}
        for item in sorted(items, key=lambda item: order[item.item_id]):
            by_instance.setdefault(item.instance_id, []).append(item)
        released: list[int] = []
        fired = 0
        for instance_items in by_instance.values():
            savepoint = conn.begin_nested()
            try:
                did_fire = _fire(core, conn, parsed_for, calendar, instance_items[0], now, result)
            except Conflict:
                savepoint.rollback()  # the leases hold: they expire and a later pass retries
                continue
            except Exception:
                savepoint.rollback()
                _release(conn, transaction, released, fired, result)  # keep those fired
                raise
            savepoint.commit()
            released += [item.item_id for item in instance_items]
            fired += did_fire
        _release(conn, transaction, released, fired, result)


def _release(conn: Connection, transaction: RootTransaction, item_ids: list[int],
             fired: int, result: PassResult) -> None:
    """Release the leases of the `fired` instances' items and commit: they have fired."""
    if item_ids:
        conn.execute(_RELEASE, {"ids": item_ids})
    transaction.commit()
    result.timers_fired += fired


def _fire(core: Core, conn: Connection, parsed_for: Callable[[int], ParsedVersion],
          calendar: WorkingCalendar, item: Any, now: datetime, result: PassResult) -> bool:
    """Fire an instance's due timers; False if it is (or now goes) in incident instead."""
    dossier = DossierState.of(item)
    if item.instance_status == INCIDENT:  # parked until a retry: its items go
        conn.execute(delete(DUE).where(DUE.c.instance_id == item.instance_id,
                                       DUE.c.kind == TIMER))
        return False
    parsed = parsed_for(item.procedure_version_id)
    workflow = core.runtime.restore(item.state)
    previous = {task.id for task in core.runtime.ready_tasks(workflow)}
    result.deserialized += 1
    try:
        core.runtime.fire_timers(workflow, now)
    except Incident as exc:
        record_incident(conn, core.runtime, item.instance_id, item.revision, workflow, exc, now,
                        dossier.id, None, {"timer": item.ref})
        result.incidents += 1
        return False
    save_state(conn, core.runtime, item.instance_id, item.revision, workflow, now)
    events = [event(dossier.id, "timer_fired", now, None, data={"timer": item.ref})]
    project(conn, core.runtime, calendar, parsed, dossier, item.instance_id, workflow, now,
            None, events, previous)
    write_events(conn, events)
    return True
