"""Bench: one scheduler pass over 100,000 open dossiers of which 100 are due, in two mixes.

Run from the repository root: `.venv/bin/python bench/escalation.py [--postgresql [URL]]`
(`--dossiers 5000` for quick iterations, `--profile` for cProfile on stderr).

Two mixes of due items, measured in the same run on the same database:
- the catalogue's mix: 100 due deadline items — 80 step deadlines and 20 appointment dates —
  and no BPMN timer. The procedures of the real catalogue (bpmn/*) use no timers: their
  escalation is the policy's deadlines, handled set-based, so no workflow is deserialized.
  This is the figure Issue 4's target (a pass under 50 ms) applies to: `pass_ms`.
- the mixed pass: 50 step deadlines + 50 BPMN timers (the timed_review fixture). Each timer
  needs its instance restored, the engine run, the state dumped and the projections
  rewritten, a millisecond or two apiece, so 50 timers alone cost more than the target:
  `mixed_pass_ms`, and `timer_ms` per timer (the timers alone, from the split pass below).

Setup (not measured): the catalogue and the timed_review fixture are deployed; one real dossier
per catalogue procedure is received through the service, and its dossier, process_instance,
task and due_item rows are bulk-copied in chunks of 5,000 (executemany on SQLite, COPY on
PostgreSQL) with new ids, so every copy holds a real lean state and real projections. The
copies' deadlines fall 1..30 days after `now`, except 100 whose step deadline (80) or
appointment date (20) is past: those are due. 50 timed_review dossiers are received through
the service 3 hours before `now`: their 2-hour boundary timer is due. Each mix's pass meets
only its own due items: the other mix's are parked (due a year later) by the restore before
it. Measured: `run_due(core, now, "bench", batch=200)`, the median of several passes of each
mix, the mixes alternating; between passes the rows of the due dossiers are restored from a
snapshot (and the escalations, notifications and events the pass wrote removed), so each
pass meets the same database. SQLite runs in a temporary file (WAL, checkpointed after each
restore so that a pass does not pay for the restore's writes); PostgreSQL (--postgresql) in a
schema of its own, dropped at the end, its figures prefixed `pg_` in the RESULT line. Also
timed, after each mixed pass: the same pass split in two — claim + the 50 step deadlines, then
the 50 BPMN timers alone; and after each catalogue pass, claim_due alone.

Baseline: the naive scheduler that finds due timers by deserializing every instance —
`core.runtime.restore` + `workflow.waiting_events()` timed over a sample of instances and
extrapolated to all of them (reading the states from the database is not counted).

Ends with `RESULT pass_ms=<catalogue mix> deserialized=<its count: 0>
mixed_pass_ms=<mixed> mixed_deserialized=<50> timer_ms=<per timer> [pg_… the same]
naive_s=<naive scan>`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import (  # noqa: E402
    Connection,
    Dialect,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from bench.pg import DEFAULT_PG, pg_schema  # noqa: E402
from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import DossierPause, Escalation, Notification, Procedure, User  # noqa: E402
from engine.projections import (  # noqa: E402
    APPOINTMENT,
    DEADLINE,
    DOSSIERS,
    DUE,
    EVENTS,
    INSTANCES,
    TASKS,
    TIMER,
)
from engine.search import search_key  # noqa: E402
from engine.services import catalogue, dossiers  # noqa: E402
from engine.services.escalations import (  # noqa: E402
    CHUNK as ESCALATION_CHUNK,
)
from engine.services.escalations import (  # noqa: E402
    PassResult,
    claim_due,
    claim_due_items,
    handle_due_items,
    run_due,
)
from engine.specs import read_package  # noqa: E402

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=HANOI)  # a Monday afternoon, far from holidays
TIMED_FIXTURE = ROOT / "tests" / "fixtures" / "timed_review"
TIMED_CODE = "timed_review"
# The copies made due: step deadlines and appointment dates (the catalogue mix: 100 items,
# none a BPMN timer); the mixed pass keeps MIXED_DEADLINES step deadlines beside the timers.
DUE_STEPS = 80
DUE_APPOINTMENTS = 20
DUE_DEADLINES = DUE_STEPS + DUE_APPOINTMENTS
DUE_TIMERS = 50
MIXED_DEADLINES = 50
PARKED = timedelta(days=365)  # a pass's items of the other mix are moved to NOW + PARKED
CHUNK = 5_000
BATCH = 200
TARGET_MS = 50.0
SCHEMA = "bench_escalation"
PERSON = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
          "address": "12 Lý Thường Kiệt, Hà Nội"}
ORGANISATION = {"name": "Ủy ban nhân dân quận Ba Đình", "id_number": "123/UBND-VP"}
ESCALATIONS = cast(Table, Escalation.__table__)
PAUSES = cast(Table, DossierPause.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
ROLES = ("reception", "specialist", "head", "leader", "clerk", "supervisor", "designer",
         "admin")
# Never checked here: nobody logs in, so no slow hashing is needed.
FAKE_HASH = "pbkdf2:sha256:1$bench$0000000000000000000000000000000000000000000000000000000000"


@dataclass
class Setup:
    """What the generated database holds."""

    dossiers: int
    due_items: int
    due_now: int
    due_dossier_ids: list[int]
    seconds: float


@dataclass
class Snapshot:
    """The rows of the due dossiers before a pass, and the highest append-only ids."""

    dossiers: list[dict[str, Any]]
    instances: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    due: list[dict[str, Any]]
    last_event: int
    last_pause: int


def make_core(db: Engine) -> Core:
    """A migrated database: catalogue and timed_review fixture deployed, one user per role."""
    migrate.upgrade(db)
    core = bootstrap(Settings(database_url=str(db.url)), db=db)
    deployed = NOW - timedelta(days=60)
    catalogue.load_catalogue(core, ROOT / "bpmn", "bench", deployed)
    catalogue.deploy(core, read_package(TIMED_FIXTURE), "bench", deployed)
    with core.uow() as uow:
        uow.session.add_all(User(username=role, password_hash=FAKE_HASH, full_name=role.title(),
                                 roles=role, active=True) for role in ROLES)
        uow.commit()
    return core


def receive(core: Core, code: str, kind: str, now: datetime) -> int:
    """Receive one dossier through the service; its id."""
    applicant = ORGANISATION if kind == "organisation" else PERSON
    return dossiers.receive_dossier(core, procedure_code=code, applicant=applicant,
                                    channel="in_person", actor="reception", now=now).id


def receive_templates(core: Core) -> list[int]:
    """One real dossier per catalogue procedure, received a few minutes before `now`."""
    with core.uow() as uow:
        codes = list(uow.session.scalars(
            select(Procedure.code).where(Procedure.code != TIMED_CODE).order_by(Procedure.code)))
    ids = []
    for code in codes:
        with core.uow() as uow:
            procedure = uow.session.scalars(select(Procedure).where(Procedure.code == code)).one()
            kind = core.parsed_for(uow.session, procedure.latest_version_id or 0
                                   ).procedure.applicant_kind
        ids.append(receive(core, code, kind, NOW - timedelta(minutes=5)))
    return ids


def rows(conn: Connection, table: Table, where: Any) -> list[dict[str, Any]]:
    """Rows of `table` matching `where`, as dicts."""
    return [dict(row._mapping) for row in conn.execute(select(table).where(where))]


@dataclass
class Template:
    """The rows of one real dossier, to copy."""

    dossier: dict[str, Any]
    instance: dict[str, Any]
    tasks: list[dict[str, Any]]
    due: list[dict[str, Any]]


def load_templates(conn: Connection, dossier_ids: list[int]) -> list[Template]:
    """The rows of the template dossiers."""
    templates = []
    for dossier_id in dossier_ids:
        [dossier] = rows(conn, DOSSIERS, DOSSIERS.c.id == dossier_id)
        [instance] = rows(conn, INSTANCES, INSTANCES.c.id == dossier["instance_id"])
        due = rows(conn, DUE, DUE.c.dossier_id == dossier_id)
        for kind in (DEADLINE, APPOINTMENT):
            if not any(item["kind"] == kind for item in due):
                raise RuntimeError(f"template dossier {dossier['code']} has no {kind} item")
        templates.append(Template(dossier, instance,
                                  rows(conn, TASKS, TASKS.c.dossier_id == dossier_id), due))
    return templates


def due_copy(template: Template, offset: timedelta, due: tuple[str, datetime] | None
             ) -> tuple[list[dict[str, Any]], dict[str, timedelta]]:
    """A copy's due items moved by `offset` (or, with `due`, one deadline made due).

    `due` is (DEADLINE or APPOINTMENT, when): the first step deadline, or the appointment
    date, at level 1 (the deadline itself) is moved to `when` and the levels above it by as
    much; its warning (level 0), already handled, is gone. Returns the items (with the
    template's refs) and how far each step's deadline (and APPOINTMENT) moved.
    """
    chosen = None
    if due is not None:
        deadlines = [i for i in template.due if i["kind"] == due[0]]
        chosen = next((i for i in deadlines if i["level"] == 1), deadlines[0])
    items, moved = [], {APPOINTMENT: offset}
    for item in template.due:
        shift = offset
        if (chosen is not None and due is not None and item["kind"] == chosen["kind"]
                and item["ref"] == chosen["ref"]):
            if item["level"] < chosen["level"]:
                continue
            shift = due[1] - chosen["due_at"]
        if item["kind"] in (DEADLINE, APPOINTMENT):
            moved[item["ref"]] = shift
        items.append({**{k: v for k, v in item.items() if k != "id"},
                      "due_at": item["due_at"] + shift})
    return items, moved


class BulkInsert:
    """Bulk inserts straight through the driver, each column's bind conversion memoized.

    executemany on SQLite (on other drivers too), COPY on PostgreSQL. The copies repeat a
    few template values (states, timestamps moved by whole hours), so converting each distinct
    value once instead of once per row makes setup several times faster than
    `conn.execute(insert(table), rows)`.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.memo: dict[tuple[str, str], dict[Any, Any]] = {}

    def __call__(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` (new dicts with the same keys, converted in place) into `table`."""
        if not rows:
            return
        columns = list(rows[0])
        for column in columns:
            process = table.c[column].type.dialect_impl(self.dialect).bind_processor(
                self.dialect)
            if process is None:
                continue
            memo = self.memo.setdefault((table.name, column), {})
            for row in rows:
                value = row[column]
                if value is not None:
                    converted = memo.get(value, memo)
                    if converted is memo:
                        memo[value] = converted = process(value)
                    row[column] = converted
        names = ", ".join(columns)
        row_of = itemgetter(*columns)
        if self.dialect.name == "postgresql":
            # COPY: executemany of ~900,000 rows would take the bench past its time budget.
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row_of(row))
        elif self.dialect.paramstyle == "qmark":
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
            conn.exec_driver_sql(sql, list(map(row_of, rows)))
        else:
            marks = ", ".join(f"%({column})s" for column in columns)
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def copy_dossiers(core: Core, templates: list[Template], count: int) -> list[int]:
    """Bulk-copy `count` dossiers from the templates; the ids of those made due (past deadline).

    Each copy's deadlines (due items, task and appointment dates) move 1..30 days later
    (whole hours), except for DUE_DEADLINES copies spread evenly, whose step deadline (or,
    every fifth, appointment date) passed minutes ago.
    """
    rng = random.Random(20261123)
    step = max(1, count // DUE_DEADLINES)
    made_due = {step * k + step // 2: (APPOINTMENT if k % 5 == 4 else DEADLINE,
                                       NOW - timedelta(minutes=1 + k))
                for k in range(DUE_DEADLINES)}
    with core.db.connect() as conn:
        next_dossier = (conn.scalar(select(func.max(DOSSIERS.c.id))) or 0) + 1
        next_instance = (conn.scalar(select(func.max(INSTANCES.c.id))) or 0) + 1
    due_ids = []
    bulk = BulkInsert(core.db.dialect)
    for start in range(0, count, CHUNK):
        instances, dossier_rows, task_rows, due_rows = [], [], [], []
        for n in range(start, min(start + CHUNK, count)):
            template = templates[n % len(templates)]
            dossier_id, instance_id = next_dossier + n, next_instance + n
            offset = timedelta(hours=rng.randint(24, 30 * 24))
            if n in made_due:
                due_ids.append(dossier_id)
            items, moved = due_copy(template, offset, made_due.get(n))
            new_ids = {task["id"]: str(uuid.uuid4()) for task in template.tasks}
            instances.append({**template.instance, "id": instance_id})
            dossier_rows.append({
                **template.dossier, "id": dossier_id, "instance_id": instance_id,
                "code": f"BENCH-{n:07d}",
                "appointment_at": template.dossier["appointment_at"] + moved[APPOINTMENT],
                "original_appointment_at": template.dossier["original_appointment_at"]
                + moved[APPOINTMENT]})
            for task in template.tasks:
                shift = moved.get(task["id"], offset)
                task_rows.append({**task, "id": new_ids[task["id"]], "dossier_id": dossier_id,
                                  "instance_id": instance_id,
                                  "due_at": task["due_at"] and task["due_at"] + shift,
                                  "search_key": task["search_key"] and search_key(
                                      f"BENCH-{n:07d}", template.dossier["applicant_name"])})
            for item in items:
                item.update(instance_id=instance_id, dossier_id=dossier_id,
                            ref=new_ids.get(item["ref"], item["ref"]))
                due_rows.append(item)
        with core.db.begin() as conn:
            bulk(conn, INSTANCES, instances)
            bulk(conn, DOSSIERS, dossier_rows)
            bulk(conn, TASKS, task_rows)
            bulk(conn, DUE, due_rows)
    if core.db.dialect.name == "postgresql":
        with core.db.begin() as conn:
            for table in ("dossier", "process_instance"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    return due_ids


@dataclass
class Mix:
    """One scheduler pass's due items: the other mix's are parked (due a year after NOW)."""

    name: str
    label: str
    steps: int
    appointments: int
    timers: int
    parked: list[int] = field(default_factory=list)

    @property
    def expected(self) -> PassResult:
        """What a pass over this mix must do: escalate each deadline, fire each timer."""
        items = self.steps + self.appointments + self.timers
        return PassResult(claimed=items, escalated=self.steps + self.appointments,
                          timers_fired=self.timers, deserialized=self.timers)


def mixes(core: Core) -> tuple[Mix, Mix]:
    """The catalogue's mix (every due deadline, no timer) and the mixed one (50 + 50)."""
    with core.db.connect() as conn:
        due = conn.execute(select(DUE.c.id, DUE.c.kind).where(DUE.c.due_at <= NOW)
                           .order_by(DUE.c.due_at, DUE.c.id)).all()
    steps = [row.id for row in due if row.kind == DEADLINE]
    appointments = [row.id for row in due if row.kind == APPOINTMENT]
    timers = [row.id for row in due if row.kind == TIMER]
    if (len(steps), len(appointments), len(timers)) != (DUE_STEPS, DUE_APPOINTMENTS,
                                                         DUE_TIMERS):
        raise RuntimeError(f"{len(steps)} step deadlines, {len(appointments)} appointment "
                           f"dates and {len(timers)} timers due, expected {DUE_STEPS}, "
                           f"{DUE_APPOINTMENTS} and {DUE_TIMERS}")
    catalogue_mix = Mix("catalogue", f"{DUE_STEPS} step deadlines + {DUE_APPOINTMENTS} "
                        "appointment dates", DUE_STEPS, DUE_APPOINTMENTS, 0, timers)
    mixed = Mix("mixed", f"{MIXED_DEADLINES} step deadlines + {DUE_TIMERS} BPMN timers",
                MIXED_DEADLINES, 0, DUE_TIMERS,
                steps[MIXED_DEADLINES:] + appointments)
    return catalogue_mix, mixed


def generate(core: Core, count: int) -> Setup:
    """Receive the real dossiers, copy the rest, ANALYZE; what the database then holds."""
    began = time.perf_counter()
    templates = receive_templates(core)
    timer_ids = [receive(core, TIMED_CODE, "person", NOW - timedelta(hours=3, seconds=-k))
                 for k in range(DUE_TIMERS)]
    with core.db.connect() as conn:
        loaded = load_templates(conn, templates)
    deadline_ids = copy_dossiers(core, loaded, count - len(templates) - len(timer_ids))
    with core.db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        total = conn.scalar(select(func.count()).select_from(DOSSIERS)) or 0
        items = conn.scalar(select(func.count()).select_from(DUE)) or 0
        due_now = conn.scalar(select(func.count()).select_from(DUE).where(DUE.c.due_at <= NOW))
    return Setup(total, items, due_now or 0, deadline_ids + timer_ids,
                 time.perf_counter() - began)


def snapshot(core: Core, dossier_ids: list[int]) -> Snapshot:
    """The rows a pass may change, to put back afterwards."""
    with core.db.connect() as conn:
        found = rows(conn, DOSSIERS, DOSSIERS.c.id.in_(dossier_ids))
        instance_ids = [d["instance_id"] for d in found]
        return Snapshot(
            dossiers=found,
            instances=rows(conn, INSTANCES, INSTANCES.c.id.in_(instance_ids)),
            tasks=rows(conn, TASKS, TASKS.c.dossier_id.in_(dossier_ids)),
            due=rows(conn, DUE, DUE.c.dossier_id.in_(dossier_ids)),
            last_event=conn.scalar(select(func.max(EVENTS.c.id))) or 0,
            last_pause=conn.scalar(select(func.max(PAUSES.c.id))) or 0)


def by_id(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as parameters of an UPDATE … WHERE id = :b_id."""
    return [{("b_id" if k == "id" else k): v for k, v in row.items()} for row in values]


def restore(core: Core, snap: Snapshot, mix: Mix) -> None:
    """Put the due dossiers back as they were, drop what the pass wrote, park `mix`'s others."""
    dossier_ids = [d["id"] for d in snap.dossiers]
    with core.db.begin() as conn:
        conn.execute(delete(NOTIFICATIONS))
        conn.execute(delete(ESCALATIONS))
        conn.execute(delete(EVENTS).where(EVENTS.c.id > snap.last_event))
        conn.execute(delete(PAUSES).where(PAUSES.c.id > snap.last_pause))
        conn.execute(delete(DUE).where(DUE.c.dossier_id.in_(dossier_ids)))
        conn.execute(delete(TASKS).where(TASKS.c.dossier_id.in_(dossier_ids)))
        conn.execute(update(INSTANCES).where(INSTANCES.c.id == bindparam("b_id")),
                     by_id(snap.instances))
        conn.execute(update(DOSSIERS).where(DOSSIERS.c.id == bindparam("b_id")),
                     by_id(snap.dossiers))
        conn.execute(insert(TASKS), snap.tasks)
        conn.execute(insert(DUE), snap.due)
        conn.execute(update(DUE).where(DUE.c.id.in_(mix.parked))
                     .values(due_at=NOW + PARKED))
    if core.db.dialect.name == "sqlite":
        # Checkpoint the restore's writes now: else the pass's first commit pays for copying
        # them from the WAL into the database (20-30 ms, the restore's cost, not the pass's).
        with core.db.connect() as conn:
            driver = conn.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]


def check(result: PassResult, mix: Mix) -> None:
    """The pass handled exactly the due items and deserialized only the due timers' instances."""
    if result != mix.expected:
        raise AssertionError(f"{mix.name} pass did {result}, expected {mix.expected}")


def one_pass(core: Core, mix: Mix, profiler: cProfile.Profile | None = None
             ) -> tuple[float, PassResult]:
    """Seconds of one scheduler pass at NOW, and what it did."""
    gc.collect()
    if profiler is not None:
        profiler.enable()
    began = time.perf_counter()
    result = run_due(core, NOW, "bench", batch=BATCH)
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    check(result, mix)
    return elapsed, result


def time_claim(core: Core, mix: Mix) -> float:
    """Seconds to find and lease the due items alone (the pass's claim_due), lease released."""
    gc.collect()
    began = time.perf_counter()
    claimed = claim_due(core, NOW, "probe", BATCH)
    elapsed = time.perf_counter() - began
    if len(claimed) != mix.expected.claimed:
        raise AssertionError(f"claim_due leased {len(claimed)} items")
    with core.db.begin() as conn:
        conn.execute(update(DUE).where(DUE.c.lock_owner == "probe")
                     .values(lock_owner=None, lock_expires_at=None))
    return elapsed


def time_split(core: Core, mix: Mix) -> tuple[float, float]:
    """Seconds of the mixed pass's two halves: claim + the step deadlines, then the timers."""
    gc.collect()
    began = time.perf_counter()
    claimed = claim_due_items(core, NOW, "split", BATCH)
    deadlines, timers = PassResult(), PassResult()
    handle_due_items(core, [i for i in claimed if i.kind != TIMER], "split", NOW, deadlines)
    deadline_s = time.perf_counter() - began
    began = time.perf_counter()
    handle_due_items(core, [i for i in claimed if i.kind == TIMER], "split", NOW, timers)
    timer_s = time.perf_counter() - began
    expected = mix.expected
    if (deadlines.escalated, timers.timers_fired, timers.deserialized) != (
            expected.escalated, expected.timers_fired, expected.deserialized):
        raise AssertionError(f"split pass did {deadlines}, then {timers}")
    return deadline_s, timer_s


@dataclass
class Measured:
    """The passes of one mix on one database."""

    database: str
    mix: Mix
    setup: Setup
    times: list[float] = field(default_factory=list)
    claims: list[float] = field(default_factory=list)
    deadlines: list[float] = field(default_factory=list)
    timers: list[float] = field(default_factory=list)
    first: float = 0.0
    result: PassResult = field(default_factory=PassResult)

    @property
    def median_ms(self) -> float:
        """Median pass in milliseconds."""
        return statistics.median(self.times) * 1000.0

    @property
    def timer_ms(self) -> float:
        """Median milliseconds per BPMN timer (the timers of the split pass, alone)."""
        return statistics.median(self.timers) * 1000.0 / max(1, self.mix.timers)


def measure(name: str, core: Core, count: int, passes: int, profile: bool,
            out: Callable[[str], None]) -> tuple[Measured, Measured]:
    """Generate, then time a first pass and `passes` more of each mix, restoring between them.

    The two mixes alternate, so that both meet the database in the same condition.
    """
    setup = generate(core, count)
    out(f"{name:<11}setup {setup.seconds:6.1f} s: {setup.dossiers:,} open dossiers, "
        f"{setup.due_items:,} due items, {setup.due_now} due at now ({DUE_STEPS} step "
        f"deadlines, {DUE_APPOINTMENTS} appointment dates, {DUE_TIMERS} BPMN timers)")
    snap = snapshot(core, setup.due_dossier_ids)
    results = tuple(Measured(name, mix, setup) for mix in mixes(core))
    for m in results:
        restore(core, snap, m.mix)
        m.first, m.result = one_pass(core, m.mix)
    for _ in range(passes):
        for m in results:
            restore(core, snap, m.mix)
            elapsed, m.result = one_pass(core, m.mix)
            m.times.append(elapsed)
            restore(core, snap, m.mix)
            if m.mix.timers:
                deadline_s, timer_s = time_split(core, m.mix)
                m.deadlines.append(deadline_s)
                m.timers.append(timer_s)
            else:
                m.claims.append(time_claim(core, m.mix))
    restore(core, snap, results[0].mix)
    if profile:
        for m in results:
            restore(core, snap, m.mix)
            profiler = cProfile.Profile()
            one_pass(core, m.mix, profiler)
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
            print(f"\ncProfile of one {m.mix.name} pass on {name} (cumulative):",
                  file=sys.stderr)
            print(buffer.getvalue(), file=sys.stderr)
    return results[0], results[1]


def naive(core: Core, sample: int) -> tuple[float, int]:
    """Seconds per instance to deserialize it and ask for its waiting events; instances open."""
    with core.db.connect() as conn:
        ids = list(conn.scalars(select(INSTANCES.c.id).where(INSTANCES.c.status == "running")))
        chosen = random.Random(7).sample(ids, min(sample, len(ids)))
        states = list(conn.scalars(select(INSTANCES.c.state).where(INSTANCES.c.id.in_(chosen))))
    for state in states[:20]:  # warm-up
        core.runtime.restore(state).waiting_events()
    gc.collect()
    began = time.perf_counter()
    for state in states:
        core.runtime.restore(state).waiting_events()
    return (time.perf_counter() - began) / len(states), len(ids)


def ms(values: list[float]) -> str:
    """Median, min and max of seconds, in milliseconds, as table columns."""
    return (f"{statistics.median(values) * 1000:>9.1f}{min(values) * 1000:>9.1f}"
            f"{max(values) * 1000:>9.1f}")


def table(results: Sequence[Measured], per_instance: float, open_count: int,
          sample: int) -> list[str]:
    """The report lines."""
    lines = [f"{'scheduler pass (run_due, batch=200)':<44}{'median':>9}{'min':>9}{'max':>9}"
             f"{'first':>9}{'n':>4}  ms"]
    for m in results:
        lines.append(f"{m.database + ', ' + m.mix.name + ' pass':<44}{ms(m.times)}"
                     f"{m.first * 1000:>9.1f}{len(m.times):>4}")
        if m.claims:
            lines.append(f"{'  of which claim_due (find + lease)':<44}{ms(m.claims)}"
                         f"{'':>9}{len(m.claims):>4}")
        if m.timers:
            for label, values in (
                    (f"  split: claim + {m.mix.steps} step deadlines", m.deadlines),
                    (f"  split: then {m.mix.timers} BPMN timers", m.timers)):
                lines.append(f"{label:<44}{ms(values)}{'':>9}{len(values):>4}")
    lines.append("")
    lines.append(f"{'what one pass did':<44}{'claimed':>9}{'escal.':>9}{'timers':>9}"
                 f"{'deser.':>9}")
    for m in results:
        r = m.result
        lines.append(f"{m.database + ', ' + m.mix.name + ' pass':<44}{r.claimed:>9}"
                     f"{r.escalated:>9}{r.timers_fired:>9}{r.deserialized:>9}")
    naive_s = per_instance * open_count
    lines.append("")
    lines.append(f"naive scan: restore + waiting_events(), {sample:,} sampled instances: "
                 f"{per_instance * 1000:.3f} ms each -> {naive_s:.1f} s for {open_count:,}")
    lines.append("")
    lines.append(f"{'target: one pass under ' + f'{TARGET_MS:.0f} ms':<44}{'pass ms':>9}"
                 f"{'target':>9}  why")
    for m in results:
        verdict = "met" if m.median_ms < TARGET_MS else "MISSED"
        if m.mix.timers:
            deadline_ms = statistics.median(m.deadlines) * 1000
            why = (f"{m.mix.timers} timers x {m.timer_ms:.2f} ms (restore + fire + dump "
                   f"+ projections each) + {deadline_ms:.1f} ms claim and deadlines")
        else:
            why = (f"set-based: no workflow deserialized, {m.result.escalated} escalations "
                   f"in {-(-m.result.escalated // ESCALATION_CHUNK)} transaction(s)")
        lines.append(f"{m.database + ', ' + m.mix.name + ' pass':<44}"
                     f"{m.median_ms:>9.1f}{verdict:>9}  {m.mix.label}")
        lines.append(f"{'':<62}  {why}")
        lines.append(f"{'':<62}  naive / MotCua = {naive_s * 1000 / m.median_ms:,.0f}x; "
                     f"deserialized {m.result.deserialized} of {m.setup.dossiers:,} instances")
    return lines


def figures(prefix: str, catalogue_mix: Measured, mixed: Measured) -> str:
    """The RESULT fields of one database."""
    return (f"{prefix}pass_ms={catalogue_mix.median_ms:.1f} "
            f"{prefix}deserialized={catalogue_mix.result.deserialized} "
            f"{prefix}mixed_pass_ms={mixed.median_ms:.1f} "
            f"{prefix}mixed_deserialized={mixed.result.deserialized} "
            f"{prefix}timer_ms={mixed.timer_ms:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Run the bench on SQLite (and PostgreSQL) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000, help="open dossiers in all")
    parser.add_argument("--passes", type=int, default=5, help="measured passes per mix")
    parser.add_argument("--sample", type=int, default=2_000, help="instances the naive scan times")
    parser.add_argument("--postgresql", nargs="?", metavar="URL",
                        const=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
                        help=f"also run on PostgreSQL (default: TEST_DATABASE_URL or {DEFAULT_PG})")
    parser.add_argument("--profile", action="store_true",
                        help="profile one more pass per mix and database (cProfile, to stderr)")
    args = parser.parse_args(argv)
    if args.dossiers < 1_000 or args.passes < 1:
        parser.error("--dossiers must be at least 1000 and --passes at least 1")
    print(f"{args.dossiers:,} open dossiers; at {NOW.isoformat()} the catalogue mix has "
          f"{DUE_DEADLINES} due items, the mixed one {MIXED_DEADLINES + DUE_TIMERS}; median of "
          f"{args.passes} passes of each after a first one")
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            core = make_core(db)
            sqlite = measure("sqlite", core, args.dossiers, args.passes, args.profile, print)
            per_instance, open_count = naive(core, args.sample)
        finally:
            db.dispose()
    results = list(sqlite)
    line = f"RESULT {figures('', *sqlite)}"
    if args.postgresql:
        with pg_schema(args.postgresql, SCHEMA) as engine:
            pg = measure("postgresql", make_core(engine), args.dossiers, args.passes,
                         args.profile, print)
        results += pg
        line += f" {figures('pg_', *pg)}"
    print("\n".join(table(results, per_instance, open_count, args.sample)))
    print(f"{line} naive_s={per_instance * open_count:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
