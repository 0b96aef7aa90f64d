"""Bench: one scheduler pass over 100,000 open dossiers of which 100 are due.

Run from the repository root: `.venv/bin/python bench/escalation.py [--postgresql [URL]]`.

Setup (not measured): the catalogue and the timed_review fixture are deployed; one real dossier
per catalogue procedure is received through the service, and its dossier, process_instance,
task and due_item rows are bulk-copied in chunks of 5,000 (executemany on SQLite, COPY on
PostgreSQL) with new ids, so every copy holds a real lean state and real projections. The
copies' deadlines fall 1..30 days after `now`, except 50 whose step deadline is past: those
are due. The other 50 due items are BPMN timers: 50 timed_review dossiers received through
the service 3 hours before `now`, whose 2-hour boundary timer is due. Measured:
`run_due(core, now, "bench", batch=200)`, the median of several passes; between passes the
rows of the 100 due dossiers are restored from a snapshot (and the escalations,
notifications and events the pass wrote removed), so each pass meets the same database.
SQLite runs in a temporary file (WAL, checkpointed after each restore so that a pass does not
pay for the restore's writes); PostgreSQL (--postgresql) in a schema of its own, dropped at the
end. Also timed, after each pass: the same pass split in two — claim + the 50 step deadlines
(`deadline_pass_ms`), then the 50 BPMN timers, each of which needs restore + engine + dump.

Baseline: the naive scheduler that finds due timers by deserializing every instance —
`core.runtime.restore` + `workflow.waiting_events()` timed over a sample of instances and
extrapolated to all of them (reading the states from the database is not counted).
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

from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import DossierPause, Escalation, Notification, Procedure, User  # noqa: E402
from engine.projections import (  # noqa: E402
    DEADLINE,
    DOSSIERS,
    DUE,
    EVENTS,
    INSTANCES,
    TASKS,
    TIMER,
)
from engine.services import catalogue, dossiers  # noqa: E402
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
DUE_DEADLINES = 50
DUE_TIMERS = 50
CHUNK = 5_000
BATCH = 200
TARGET_MS = 50.0
SCHEMA = "bench_escalation"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
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


@dataclass
class Measured:
    """The passes on one database."""

    name: str
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
        if not any(item["kind"] == DEADLINE for item in due):
            raise RuntimeError(f"template dossier {dossier['code']} has no step deadline")
        templates.append(Template(dossier, instance,
                                  rows(conn, TASKS, TASKS.c.dossier_id == dossier_id), due))
    return templates


def due_copy(template: Template, offset: timedelta, due_at: datetime | None
             ) -> tuple[list[dict[str, Any]], dict[str, timedelta]]:
    """A copy's due items moved by `offset` (or, with `due_at`, one step deadline made due).

    Made due: the first step deadline at level 1 (the deadline itself) is moved to `due_at`
    and the levels above it by as much; its warning (level 0), already handled, is gone.
    Returns the items (with the template's refs) and how far each step's deadline moved.
    """
    chosen = None
    if due_at is not None:
        deadlines = [i for i in template.due if i["kind"] == DEADLINE]
        chosen = next((i for i in deadlines if i["level"] == 1), deadlines[0])
    items, moved = [], {}
    for item in template.due:
        shift = offset
        if chosen is not None and item["kind"] == DEADLINE and item["ref"] == chosen["ref"]:
            if item["level"] < chosen["level"]:
                continue
            shift = (due_at or NOW) - chosen["due_at"]
        if item["kind"] == DEADLINE:
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
    (whole hours),
    except for DUE_DEADLINES copies spread evenly, whose step deadline passed minutes ago.
    """
    rng = random.Random(20261123)
    step = max(1, count // DUE_DEADLINES)
    made_due = {step * k + step // 2: NOW - timedelta(minutes=1 + k)
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
                "appointment_at": template.dossier["appointment_at"] + offset,
                "original_appointment_at": template.dossier["original_appointment_at"] + offset})
            for task in template.tasks:
                shift = moved.get(task["id"], offset)
                task_rows.append({**task, "id": new_ids[task["id"]], "dossier_id": dossier_id,
                                  "instance_id": instance_id,
                                  "due_at": task["due_at"] and task["due_at"] + shift})
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
        timers = conn.scalar(select(func.count()).select_from(DUE).where(
            DUE.c.due_at <= NOW, DUE.c.kind == TIMER))
    if (due_now, timers) != (DUE_DEADLINES + DUE_TIMERS, DUE_TIMERS):
        raise RuntimeError(f"{due_now} items due ({timers} timers), expected "
                           f"{DUE_DEADLINES + DUE_TIMERS} ({DUE_TIMERS})")
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


def restore(core: Core, snap: Snapshot) -> None:
    """Put the due dossiers back as they were and drop what the pass wrote."""
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
    if core.db.dialect.name == "sqlite":
        # Checkpoint the restore's writes now: else the pass's first commit pays for copying
        # them from the WAL into the database (20-30 ms, the restore's cost, not the pass's).
        with core.db.connect() as conn:
            driver = conn.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]


def check(result: PassResult) -> None:
    """The pass handled exactly the due items and deserialized only the due timers' instances."""
    expected = PassResult(claimed=DUE_DEADLINES + DUE_TIMERS, escalated=DUE_DEADLINES,
                          timers_fired=DUE_TIMERS, deserialized=DUE_TIMERS)
    if result != expected:
        raise AssertionError(f"pass did {result}, expected {expected}")


def one_pass(core: Core, profiler: cProfile.Profile | None = None) -> tuple[float, PassResult]:
    """Seconds of one scheduler pass at NOW, and what it did."""
    gc.collect()
    if profiler is not None:
        profiler.enable()
    began = time.perf_counter()
    result = run_due(core, NOW, "bench", batch=BATCH)
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    check(result)
    return elapsed, result


def time_claim(core: Core) -> float:
    """Seconds to find and lease the due items alone (the pass's claim_due), lease released."""
    gc.collect()
    began = time.perf_counter()
    claimed = claim_due(core, NOW, "probe", BATCH)
    elapsed = time.perf_counter() - began
    if len(claimed) != DUE_DEADLINES + DUE_TIMERS:
        raise AssertionError(f"claim_due leased {len(claimed)} items")
    with core.db.begin() as conn:
        conn.execute(update(DUE).where(DUE.c.lock_owner == "probe")
                     .values(lock_owner=None, lock_expires_at=None))
    return elapsed


def time_split(core: Core) -> tuple[float, float]:
    """Seconds of a pass's two halves: claim + the step deadlines, then the BPMN timers."""
    gc.collect()
    began = time.perf_counter()
    claimed = claim_due_items(core, NOW, "split", BATCH)
    deadlines, timers = PassResult(), PassResult()
    handle_due_items(core, [i for i in claimed if i.kind != TIMER], "split", NOW, deadlines)
    deadline_s = time.perf_counter() - began
    began = time.perf_counter()
    handle_due_items(core, [i for i in claimed if i.kind == TIMER], "split", NOW, timers)
    timer_s = time.perf_counter() - began
    if (deadlines.escalated, timers.timers_fired, timers.deserialized) != (
            DUE_DEADLINES, DUE_TIMERS, DUE_TIMERS):
        raise AssertionError(f"split pass did {deadlines}, then {timers}")
    return deadline_s, timer_s


def measure(name: str, core: Core, count: int, passes: int, profile: bool,
            out: Callable[[str], None]) -> Measured:
    """Generate, then time one first pass and `passes` more, restoring between them."""
    setup = generate(core, count)
    out(f"{name:<11}setup {setup.seconds:6.1f} s: {setup.dossiers:,} open dossiers, "
        f"{setup.due_items:,} due items, {setup.due_now} due at now "
        f"({DUE_DEADLINES} step deadlines, {DUE_TIMERS} BPMN timers)")
    snap = snapshot(core, setup.due_dossier_ids)
    measured = Measured(name, setup)
    measured.first, measured.result = one_pass(core)
    restore(core, snap)
    for _ in range(passes):
        elapsed, measured.result = one_pass(core)
        measured.times.append(elapsed)
        restore(core, snap)
        measured.claims.append(time_claim(core))
        deadline_s, timer_s = time_split(core)
        measured.deadlines.append(deadline_s)
        measured.timers.append(timer_s)
        restore(core, snap)
    if profile:
        profiler = cProfile.Profile()
        one_pass(core, profiler)
        restore(core, snap)
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
        print(f"\ncProfile of one pass on {name} (cumulative):", file=sys.stderr)
        print(buffer.getvalue(), file=sys.stderr)
    return measured


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


def table(results: Sequence[Measured], per_instance: float, open_count: int,
          sample: int) -> list[str]:
    """The report lines."""
    lines = [f"{'scheduler pass (run_due, batch=200)':<37}{'median':>9}{'min':>9}{'max':>9}"
             f"{'first':>9}{'n':>4}  ms"]
    for m in results:
        lines.append(f"{'MotCua on ' + m.name:<37}{m.median_ms:>9.1f}"
                     f"{min(m.times) * 1000:>9.1f}{max(m.times) * 1000:>9.1f}"
                     f"{m.first * 1000:>9.1f}{len(m.times):>4}")
        lines.append(f"{'  of which claim_due (find + lease)':<37}"
                     f"{statistics.median(m.claims) * 1000:>9.1f}{min(m.claims) * 1000:>9.1f}"
                     f"{max(m.claims) * 1000:>9.1f}{'':>9}{len(m.claims):>4}")
        for label, values in ((f"  claim + {DUE_DEADLINES} step deadlines alone", m.deadlines),
                              (f"  {DUE_TIMERS} BPMN timers alone", m.timers)):
            lines.append(f"{label:<37}{statistics.median(values) * 1000:>9.1f}"
                         f"{min(values) * 1000:>9.1f}{max(values) * 1000:>9.1f}{'':>9}"
                         f"{len(values):>4}")
    lines.append(f"{'what one pass did':<37}{'claimed':>9}{'escal.':>9}{'timers':>9}"
                 f"{'deser.':>9}")
    for m in results:
        r = m.result
        lines.append(f"{'MotCua on ' + m.name:<37}{r.claimed:>9}{r.escalated:>9}"
                     f"{r.timers_fired:>9}{r.deserialized:>9}")
    naive_s = per_instance * open_count
    lines.append(f"naive scan: restore + waiting_events(), {sample:,} sampled instances: "
                 f"{per_instance * 1000:.3f} ms each -> {naive_s:.1f} s for {open_count:,}")
    for m in results:
        verdict = "under" if m.median_ms < TARGET_MS else "OVER"
        lines.append(f"{m.name}: naive / MotCua = {naive_s * 1000 / m.median_ms:,.0f}x; "
                     f"pass {verdict} the {TARGET_MS:.0f} ms target; deserialized "
                     f"{m.result.deserialized} of {m.setup.dossiers:,} instances")
    return lines


def with_pg_schema(url: str, run: Callable[[Engine], Measured]) -> Measured:
    """Run on PostgreSQL in a schema of its own, dropped afterwards."""
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    db = make_engine(url, connect_args={"options": f"-c search_path={SCHEMA}"})
    try:
        return run(db)
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the bench on SQLite (and PostgreSQL) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000, help="open dossiers in all")
    parser.add_argument("--passes", type=int, default=5, help="measured passes per database")
    parser.add_argument("--sample", type=int, default=2_000, help="instances the naive scan times")
    parser.add_argument("--postgresql", nargs="?", metavar="URL",
                        const=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
                        help=f"also run on PostgreSQL (default: TEST_DATABASE_URL or {DEFAULT_PG})")
    parser.add_argument("--profile", action="store_true",
                        help="profile one more pass per database (cProfile, to stderr)")
    args = parser.parse_args(argv)
    if args.dossiers < 1_000 or args.passes < 1:
        parser.error("--dossiers must be at least 1000 and --passes at least 1")
    print(f"{args.dossiers:,} open dossiers, {DUE_DEADLINES + DUE_TIMERS} due at "
          f"{NOW.isoformat()}; median of {args.passes} passes after a first one")
    results = []
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            core = make_core(db)
            results.append(measure("sqlite", core, args.dossiers, args.passes, args.profile,
                                   print))
            per_instance, open_count = naive(core, args.sample)
        finally:
            db.dispose()
    if args.postgresql:
        results.append(with_pg_schema(args.postgresql, lambda pg: measure(
            "postgresql", make_core(pg), args.dossiers, args.passes, args.profile, print)))
    print("\n".join(table(results, per_instance, open_count, args.sample)))
    sqlite = results[0]
    line = (f"RESULT pass_ms={sqlite.median_ms:.1f} deserialized={sqlite.result.deserialized} "
            f"naive_s={per_instance * open_count:.1f}")
    if len(results) > 1:
        line += f" pg_pass_ms={results[1].median_ms:.1f}"
    line += f" deadline_pass_ms={statistics.median(sqlite.deadlines) * 1000:.1f}"
    if len(results) > 1:
        line += f" pg_deadline_pass_ms={statistics.median(results[1].deadlines) * 1000:.1f}"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
