"""Bench: MotCua's complete_task against the raw SpiffWorkflow cycle for the same BPMN.

Run from the repository root: `.venv/bin/python bench/cycle.py [--dossiers N] [--profile]`.

MotCua side: the service layer (validation, optimistic save of the lean state in SQLite WAL,
projections, audit events) through `engine.services.tasks.complete_task`.
Baseline: deserialize -> complete the ready user task -> run engine steps -> serialize with
SpiffWorkflow's default serializer, the JSON kept in a dict in memory (no database).
Both walk each dossier along check_records -> draft_certificate -> review -> sign ->
return_result with the same form data, in alternating rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.demo import step_data  # noqa: E402
from engine.models import ProcessInstance, Task, User  # noqa: E402
from engine.services import catalogue, dossiers, tasks  # noqa: E402

PROCEDURE = "judicial_record_certificate"
BPMN_FILE = ROOT / "bpmn" / PROCEDURE / "process.bpmn"
MAIN_PATH = ("check_records", "draft_certificate", "review", "sign", "return_result")
ROLES = ("reception", "specialist", "head", "leader", "supervisor", "designer", "admin")
# Never checked here: nobody logs in, so no slow hashing is needed.
FAKE_HASH = "pbkdf2:sha256:1$bench$0000000000000000000000000000000000000000000000000000000000"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 23, 9, 0, tzinfo=HANOI)  # a Monday morning, far from holidays
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}
ROUNDS = 3
WARMUP_DOSSIERS = 5


class Clock:
    """A fixed, timezone-aware `now` that advances by one minute per call."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def tick(self) -> datetime:
        """The next moment."""
        self._now += timedelta(minutes=1)
        return self._now


@dataclass
class Samples:
    """Per-call timings (seconds) and state sizes (bytes) of one side."""

    times: list[float] = field(default_factory=list)
    start_sizes: list[int] = field(default_factory=list)
    end_sizes: list[int] = field(default_factory=list)


def make_core(url: str) -> Core:
    """A migrated database with the catalogue deployed and one user per role."""
    db = make_engine(url)
    migrate.upgrade(db)
    core = bootstrap(Settings(database_url=url), db=db)
    catalogue.load_catalogue(core, ROOT / "bpmn", "bench", START)
    with core.uow() as uow:
        for role in ROLES:
            uow.session.add(User(username=role, password_hash=FAKE_HASH,
                                 full_name=role.title(), roles=role, active=True))
        uow.commit()
    return core


def load_users(core: Core) -> dict[str, User]:
    """Users by role (detached, readable after the session closes)."""
    with core.uow() as uow:
        return {u.username: u for u in uow.session.scalars(select(User))}


def state_sizes(core: Core, instance_ids: list[int]) -> list[int]:
    """Byte sizes of the stored lean states of these instances."""
    with core.uow() as uow:
        return [len(s) for s in uow.session.scalars(
            select(ProcessInstance.state).where(ProcessInstance.id.in_(instance_ids)))]


def ready_tasks(core: Core, dossier_ids: list[int], bpmn_id: str) -> dict[int, tuple[str, str]]:
    """(task id, role) of each dossier's ready task `bpmn_id` (outside the timed region)."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Task.dossier_id, Task.id, Task.role).where(
                Task.state == "ready", Task.bpmn_id == bpmn_id,
                Task.dossier_id.in_(dossier_ids))).all()
    return {dossier_id: (task_id, role) for dossier_id, task_id, role in rows}


def motcua_batch(core: Core, users: dict[str, User], clock: Clock, count: int,
                 out: Samples | None, profiler: cProfile.Profile | None = None) -> None:
    """Receive `count` dossiers and walk them through the main path, timing complete_task."""
    received = [
        dossiers.receive_dossier(core, procedure_code=PROCEDURE, applicant=APPLICANT,
                                 channel="in_person", actor="reception", now=clock.tick())
        for _ in range(count)
    ]
    ids = [d.id for d in received]
    instance_ids = [d.instance_id for d in received if d.instance_id is not None]
    if out is not None:
        out.start_sizes.extend(state_sizes(core, instance_ids))
    for bpmn_id in MAIN_PATH:
        found = ready_tasks(core, ids, bpmn_id)
        if len(found) != len(ids):
            raise RuntimeError(f"{len(ids) - len(found)} dossiers lack a ready '{bpmn_id}'")
        for dossier_id in ids:
            task_id, role = found[dossier_id]
            now = clock.tick()
            data = step_data(bpmn_id, now.date().isoformat())
            user = users[role]
            if profiler is not None:
                profiler.enable()
            began = time.perf_counter()
            tasks.complete_task(core, user, task_id, data, now)
            elapsed = time.perf_counter() - began
            if profiler is not None:
                profiler.disable()
            if out is not None:
                out.times.append(elapsed)
    if out is not None:
        out.end_sizes.extend(state_sizes(core, instance_ids))


def parse_spec() -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """The procedure's spec and subprocess specs, parsed as SPIFF.md shows."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN_FILE))
    return parser.get_spec(PROCEDURE), parser.get_subprocess_specs(PROCEDURE)


def raw_cycle(serializer: BpmnWorkflowSerializer, text: str, bpmn_id: str,
              data: dict[str, Any]) -> str:
    """Deserialize, complete the ready user task `bpmn_id`, run the engine, serialize."""
    workflow = serializer.deserialize_json(text)
    [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
              if t.task_spec.bpmn_id == bpmn_id]
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()
    return serializer.serialize_json(workflow)


def raw_batch(specs: tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]],
              serializer: BpmnWorkflowSerializer, clock: Clock, count: int,
              out: Samples | None) -> None:
    """Start `count` workflows in memory and walk them through the main path, timed."""
    spec, subprocess_specs = specs
    store: dict[int, str] = {}
    for number in range(count):
        workflow = BpmnWorkflow(spec, subprocess_specs)
        start_data = {"dossier_code": f"BENCH-{number:06d}", "channel": "in_person"}
        workflow.data.update(start_data)
        workflow.task_tree.data.update(start_data)
        workflow.do_engine_steps()
        store[number] = serializer.serialize_json(workflow)
    if out is not None:
        out.start_sizes.extend(len(text.encode()) for text in store.values())
    for bpmn_id in MAIN_PATH:
        for number in range(count):
            now = clock.tick()
            data = step_data(bpmn_id, now.date().isoformat())
            text = store[number]
            began = time.perf_counter()
            text = raw_cycle(serializer, text, bpmn_id, data)
            elapsed = time.perf_counter() - began
            store[number] = text
            if out is not None:
                out.times.append(elapsed)
    for text in store.values():
        if not serializer.deserialize_json(text).is_completed():
            raise RuntimeError("a raw workflow did not reach its end event")
    if out is not None:
        out.end_sizes.extend(len(text.encode()) for text in store.values())


def split(total: int, parts: int) -> list[int]:
    """`total` dossiers spread over `parts` rounds as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def report(motcua: Samples, raw: Samples, dossier_count: int, wall: float) -> str:
    """The table and the final RESULT line."""
    lines = [f"{dossier_count} dossiers x {len(MAIN_PATH)} steps per side, {ROUNDS} alternating "
             f"rounds, {wall:.1f} s wall",
             f"{'per completed task':<34}{'median':>10}{'p95':>10}{'mean':>10}{'n':>7}"]
    for name, side in (("MotCua complete_task (SQLite)", motcua),
                       ("raw Spiff cycle (memory)", raw)):
        lines.append(f"{name:<34}{ms(statistics.median(side.times)):>10.3f}"
                     f"{ms(p95(side.times)):>10.3f}{ms(statistics.fmean(side.times)):>10.3f}"
                     f"{len(side.times):>7}")
    ratio = statistics.median(motcua.times) / statistics.median(raw.times)
    lines.append(f"ratio of medians: {ratio:.2f}")
    lines.append(f"{'state size (bytes, median)':<34}{'received':>10}{'returned':>10}")
    for name, side in (("lean (process_instance.state)", motcua),
                       ("default serializer JSON", raw)):
        lines.append(f"{name:<34}{statistics.median(side.start_sizes):>10.0f}"
                     f"{statistics.median(side.end_sizes):>10.0f}")
    lines.append(f"RESULT ratio={ratio:.2f} motcua_ms={ms(statistics.median(motcua.times)):.3f} "
                 f"raw_ms={ms(statistics.median(raw.times)):.3f}")
    return "\n".join(lines)


def profile_motcua(core: Core, users: dict[str, User], clock: Clock, count: int) -> str:
    """cProfile over the complete_task calls of `count` more dossiers, top 15 cumulative."""
    profiler = cProfile.Profile()
    motcua_batch(core, users, clock, count, None, profiler)
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(15)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=300, help="dossiers per side")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="afterwards, profile complete_task over N more dossiers")
    args = parser.parse_args(argv)
    if args.dossiers < ROUNDS:
        parser.error(f"--dossiers must be at least {ROUNDS}")
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as folder:
        core = make_core(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            users = load_users(core)
            specs = parse_spec()
            serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
            clock = Clock(START)
            motcua, raw = Samples(), Samples()
            sides: list[Callable[[int, Samples | None], None]] = [
                lambda n, out: motcua_batch(core, users, clock, n, out),
                lambda n, out: raw_batch(specs, serializer, clock, n, out),
            ]
            for side in sides:
                side(WARMUP_DOSSIERS, None)
            began = time.perf_counter()
            for number, size in enumerate(split(args.dossiers, ROUNDS)):
                order = (0, 1) if number % 2 == 0 else (1, 0)
                for index in order:
                    gc.collect()
                    sides[index](size, (motcua, raw)[index])
            wall = time.perf_counter() - began
            print(report(motcua, raw, args.dossiers, wall))
            if args.profile:
                gc.collect()
                print(f"\ncProfile of complete_task over {args.profile} more dossiers "
                      "(cumulative):", file=sys.stderr)
                print(profile_motcua(core, users, clock, args.profile), file=sys.stderr)
        finally:
            core.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
