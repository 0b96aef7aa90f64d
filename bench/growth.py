"""Bench: state size and completion time of one instance against its loop count.

Run from the repository root: `.venv/bin/python bench/growth.py [--samples N]
[--postgresql [URL]] [--profile]`.

SpiffWorkflow keeps every completed task in the instance, so each round of a loop grows the
state. The fixture bench/fixtures/review_loop is a user-task loop through an exclusive gateway
(review -> rejected -> rework -> review), deployed as a procedure. `--samples` dossiers (9) are
driven round by round through `engine.services.tasks.complete_task`; when they have done 1, 10,
50 and 200 rounds (a round: a rejected review and its rework) each is measured on its state of
that moment:
- size: bytes of MotCua's stored lean state (process_instance.state) against SpiffWorkflow's
  default serializer JSON of the same workflow (which also copies the spec into the instance);
- time of one completion (the review, rejected again): `complete_task` (validation, load,
  restore, run, round check, save with optimistic lock, projections, events, commit) against
  the raw SpiffWorkflow cycle on the same state (deserialize the default JSON -> complete the
  ready review with the same data -> run the engine -> serialize), run 3 times per sample,
  right after MotCua's, in the same run. Reported: medians over the samples and their ratio.

The runtime caps the rounds of a step per instance (procedure.toml's `max_rounds_per_step`,
25 by default): the fixture's procedure.toml sets 210 so that the loop reaches 200 rounds.

SQLite in a temporary file by default; `--postgresql` uses a schema of its own, dropped after.
Ends with `RESULT max_ratio=… ratio_1=… … bytes_200=… raw_bytes_200=…`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402

from bench.cycle import Clock  # noqa: E402
from bench.pg import DEFAULT_PG, pg_schema  # noqa: E402
from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import ProcessInstance, Task, User  # noqa: E402
from engine.services import catalogue, dossiers, tasks  # noqa: E402
from engine.specs import read_package  # noqa: E402

FIXTURE = ROOT / "bench" / "fixtures" / "review_loop"
CODE = "review_loop"
SIZES = (1, 10, 50, 200)
RAW_REPEATS = 3
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 23, 9, 0, tzinfo=HANOI)  # a Monday morning, far from holidays
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}
REJECT = {"approved": False, "comment": "Sửa lại"}
REWORK = {"note": "Đã sửa"}
# Never checked here: nobody logs in, so no slow hashing is needed.
FAKE_HASH = "pbkdf2:sha256:1$bench$0000000000000000000000000000000000000000000000000000000000"


@dataclass
class AtSize:
    """What was measured at one loop count."""

    rounds: int
    motcua: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    motcua_cpu: list[float] = field(default_factory=list)
    raw_cpu: list[float] = field(default_factory=list)
    motcua_bytes: list[int] = field(default_factory=list)
    raw_bytes: list[int] = field(default_factory=list)
    task_count: int = 0
    depth: int = 0

    @property
    def ratio(self) -> float:
        """MotCua's median completion time over the raw cycle's."""
        return statistics.median(self.motcua) / statistics.median(self.raw)

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time of this process (SQLite's work included)."""
        return statistics.median(self.motcua_cpu) / statistics.median(self.raw_cpu)


class Driver:
    """Completes the ready step of the bench's dossiers through the service layer."""

    def __init__(self, core: Core, dossier_ids: list[int]) -> None:
        self.core = core
        self.dossier_ids = dossier_ids
        self.clock = Clock(START)
        with core.uow() as uow:
            self.users = {u.username: u for u in uow.session.scalars(select(User))}

    def ready(self, dossier_id: int) -> tuple[str, str, str, int]:
        """(task id, BPMN id, role, instance id) of the dossier's one ready task."""
        with self.core.db.connect() as conn:
            [row] = conn.execute(select(Task.id, Task.bpmn_id, Task.role, Task.instance_id)
                                 .where(Task.dossier_id == dossier_id, Task.state == "ready"))
        return row.id, row.bpmn_id, row.role, row.instance_id

    def complete(self, dossier_id: int, expected: str) -> tuple[float, float]:
        """Complete the dossier's ready step `expected` (rejecting a review); its wall and
        CPU seconds."""
        task_id, bpmn_id, role, _ = self.ready(dossier_id)
        if bpmn_id != expected:
            raise RuntimeError(f"expected {expected}, ready: {bpmn_id}")
        data = REJECT if bpmn_id == "review" else REWORK
        now = self.clock.tick()
        began, cpu = time.perf_counter(), time.process_time()
        tasks.complete_task(self.core, self.users[role], task_id, data, now)
        return time.perf_counter() - began, time.process_time() - cpu

    def round(self, dossier_id: int) -> None:
        """One round of the loop: reject the review, rework."""
        self.complete(dossier_id, "review")
        self.complete(dossier_id, "rework")

    def stored(self, dossier_id: int) -> tuple[bytes, int, int]:
        """The instance's stored state, task count and depth."""
        _, _, _, instance_id = self.ready(dossier_id)
        with self.core.uow() as uow:
            row = uow.session.execute(select(
                ProcessInstance.state, ProcessInstance.task_count, ProcessInstance.depth)
                .where(ProcessInstance.id == instance_id)).one()
        return bytes(row.state), int(row.task_count), int(row.depth)


def raw_cycle(serializer: BpmnWorkflowSerializer, state: str) -> tuple[float, float]:
    """Wall and CPU seconds of deserialize -> complete the ready review (rejected) -> run ->
    serialize."""
    began, cpu = time.perf_counter(), time.process_time()
    workflow = serializer.deserialize_json(state)
    [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
              if t.task_spec.bpmn_id == "review"]
    task.set_data(**REJECT)
    task.run()
    workflow.do_engine_steps()
    serializer.serialize_json(workflow)
    return time.perf_counter() - began, time.process_time() - cpu


def measure(driver: Driver, serializer: BpmnWorkflowSerializer, rounds: int,
            profiler: cProfile.Profile | None) -> AtSize:
    """Time one review completion of each dossier at its current size, and the raw cycle."""
    result = AtSize(rounds)
    for dossier_id in driver.dossier_ids:
        state, result.task_count, result.depth = driver.stored(dossier_id)
        workflow = driver.core.runtime.restore(state)
        raw_state = serializer.serialize_json(workflow)
        result.motcua_bytes.append(len(state))
        result.raw_bytes.append(len(raw_state.encode()))
        if profiler is not None:
            profiler.enable()
        wall, cpu = driver.complete(dossier_id, "review")
        if profiler is not None:
            profiler.disable()
        result.motcua.append(wall)
        result.motcua_cpu.append(cpu)
        for _ in range(RAW_REPEATS):
            wall, cpu = raw_cycle(serializer, raw_state)
            result.raw.append(wall)
            result.raw_cpu.append(cpu)
        driver.complete(dossier_id, "rework")  # the round the measured review began
    return result


def make_core(db: Engine) -> Core:
    """A migrated database with the fixture deployed and two officers."""
    migrate.upgrade(db)
    core = bootstrap(Settings(database_url=str(db.url)), db=db)
    catalogue.deploy(core, read_package(FIXTURE), "bench", START - timedelta(days=1))
    with core.uow() as uow:
        uow.session.add_all(User(username=role, password_hash=FAKE_HASH, full_name=role.title(),
                                 roles=role, active=True) for role in ("specialist", "head"))
        uow.commit()
    return core


def run(db: Engine, samples: int, profile: bool) -> list[AtSize]:
    """Drive the dossiers to each size and measure there."""
    core = make_core(db)
    ids = [dossiers.receive_dossier(core, procedure_code=CODE, applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=START + timedelta(seconds=n)).id
           for n in range(samples)]
    driver = Driver(core, ids)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    profiler = cProfile.Profile() if profile else None
    results, done = [], 0
    for size in SIZES:
        while done < size:
            for dossier_id in ids:
                driver.round(dossier_id)
            done += 1
        results.append(measure(driver, serializer, size,
                               profiler if size == SIZES[-1] else None))
        done += 1  # the measured review and its rework are a round too
    if profiler is not None:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
        print(f"cProfile of complete_task at {SIZES[-1]} rounds (cumulative):\n"
              f"{buffer.getvalue()}", file=sys.stderr)
    core.db.dispose()
    return results


def table(results: list[AtSize], database: str, samples: int) -> list[str]:
    """The figures, one line per size."""
    lines = [f"{database}: {samples} dossiers per size, raw cycle {RAW_REPEATS}x per dossier; "
             "medians",
             f"{'rounds':>6}{'tasks':>7}{'depth':>7}{'MotCua B':>11}{'raw B':>11}"
             f"{'MotCua ms':>11}{'raw ms':>9}{'ratio':>7}{'CPU ms':>9}{'raw CPU':>9}"
             f"{'ratio':>7}"]
    for r in results:
        lines.append(f"{r.rounds:>6}{r.task_count:>7}{r.depth:>7}"
                     f"{statistics.median(r.motcua_bytes):>11.0f}"
                     f"{statistics.median(r.raw_bytes):>11.0f}"
                     f"{statistics.median(r.motcua) * 1000:>11.2f}"
                     f"{statistics.median(r.raw) * 1000:>9.2f}{r.ratio:>7.2f}"
                     f"{statistics.median(r.motcua_cpu) * 1000:>9.2f}"
                     f"{statistics.median(r.raw_cpu) * 1000:>9.2f}{r.cpu_ratio:>7.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure on SQLite, or on PostgreSQL with --postgresql, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9, help="dossiers measured per size")
    parser.add_argument("--postgresql", nargs="?", metavar="URL",
                        const=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
                        help=f"run on PostgreSQL (default: TEST_DATABASE_URL or {DEFAULT_PG})")
    parser.add_argument("--profile", action="store_true",
                        help=f"profile complete_task at {SIZES[-1]} rounds (to stderr)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.postgresql:
        database = "postgresql"
        with pg_schema(args.postgresql, "bench_growth") as db:
            results = run(db, args.samples, args.profile)
    else:
        database = "sqlite"
        with tempfile.TemporaryDirectory(prefix="motcua-growth-") as folder:
            db = make_engine(f"sqlite:///{Path(folder) / 'growth.sqlite3'}")
            try:
                results = run(db, args.samples, args.profile)
            finally:
                db.dispose()
    print("\n".join(table(results, database, args.samples)))
    print(f"wall {time.perf_counter() - began:.1f} s; 'ratio' is of wall times, the last three "
          "columns are CPU time of this process (less sensitive to other processes' load)")
    last = results[-1]
    print(f"RESULT max_ratio={max(r.ratio for r in results):.2f} " + " ".join(
        f"ratio_{r.rounds}={r.ratio:.2f}" for r in results)
        + f" max_cpu_ratio={max(r.cpu_ratio for r in results):.2f} " + " ".join(
        f"cpu_ratio_{r.rounds}={r.cpu_ratio:.2f}" for r in results)
        + f" bytes_{last.rounds}={statistics.median(last.motcua_bytes):.0f} "
        f"raw_bytes_{last.rounds}={statistics.median(last.raw_bytes):.0f} "
        + " ".join(f"motcua_ms_{r.rounds}={statistics.median(r.motcua) * 1000:.2f} "
                   f"raw_ms_{r.rounds}={statistics.median(r.raw) * 1000:.2f}" for r in results)
        + f" db={database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
