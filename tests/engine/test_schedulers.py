"""Many `motcua scheduler` processes share the due items: each fires exactly once, and a
scheduler killed in the middle of a batch loses nothing (PostgreSQL only: SKIP LOCKED)."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Select, delete, func, insert, make_url, select, text

from engine.bootstrap import Core
from engine.models import DueItem, Escalation, Event, Task
from engine.projections import DEADLINE
from tests.conftest import PG_URL
from tests.engine.walk import ready_tasks, receive

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = Path(sys.executable).parent / "motcua"
ITEMS = 1000
TIMEOUT = 60.0

Starter = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def due_items(pg_core: Core) -> int:
    """ITEMS overdue steps of one dossier, each with its deadline due a minute ago."""
    now = datetime.now(UTC)
    dossier = receive(pg_core, now)
    [real] = ready_tasks(pg_core, dossier.code)
    due_at = now - timedelta(minutes=1)
    ids = [str(uuid.uuid4()) for _ in range(ITEMS)]
    with pg_core.db.begin() as conn:
        conn.execute(delete(DueItem))  # the real step's own deadline is days away anyway
        conn.execute(insert(Task), [
            {"id": task_id, "dossier_id": real.dossier_id, "instance_id": real.instance_id,
             "bpmn_id": real.bpmn_id, "name": real.name, "role": real.role, "state": "ready",
             "created_at": now - timedelta(days=5), "due_at": due_at} for task_id in ids])
        conn.execute(insert(DueItem), [
            {"kind": DEADLINE, "instance_id": real.instance_id, "dossier_id": real.dossier_id,
             "ref": task_id, "level": 1, "due_at": due_at} for task_id in ids])
    return ITEMS


@pytest.fixture
def start_scheduler(pg_engine: Engine, tmp_path: Path) -> Iterator[Starter]:
    """Start `motcua scheduler` processes on the test schema; all are killed at the end."""
    with pg_engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
    # Commits need not wait for the disk: it is the schedulers that die here, never the
    # server, so what is tested is the same, only faster.
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = make_url(PG_URL).update_query_dict({"options": options})
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False),
           "MOTCUA_SECRET_KEY": "test", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        # Logs go to a file (a pipe nobody reads could fill up and stall the process),
        # unless the test wants to read them as they come.
        command = [str(MOTCUA), "scheduler", *options]
        if log is None:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            with log.open("w") as stderr:
                process = subprocess.Popen(command, cwd=ROOT, env=env,
                                           stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=stderr)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _count(engine: Engine, query: Select[int]) -> int:
    with engine.connect() as conn:
        return conn.scalar(query) or 0


def _still_due(engine: Engine) -> int:
    return _count(engine, select(func.count()).select_from(DueItem)
                  .where(DueItem.due_at <= datetime.now(UTC)))


def _wait_until(done: Callable[[], bool], processes: list[subprocess.Popen[bytes]],
                what: str, every: float = 0.2) -> None:
    """Poll the database until `done()`; the schedulers must stay up meanwhile."""
    deadline = time.monotonic() + TIMEOUT
    while not done():
        stopped = [process.args for process in processes if process.poll() is not None]
        if stopped:
            pytest.fail(f"a scheduler stopped on its own before {what}: {stopped}")
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} after {TIMEOUT} s")
        time.sleep(every)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=10)


def _fired(engine: Engine) -> tuple[int, int, int]:
    """(escalations, distinct escalated tasks, 'escalated' events)."""
    return (_count(engine, select(func.count()).select_from(Escalation)),
            _count(engine, select(func.count(func.distinct(Escalation.task_id)))),
            _count(engine, select(func.count()).select_from(Event)
                   .where(Event.kind == "escalated")))


def _claims(log: Path) -> list[int]:
    return [int(n) for n in re.findall(r"claimed (\d+) due items", log.read_text())]


def test_three_schedulers_fire_a_thousand_due_items_each_exactly_once(
        pg_engine: Engine, due_items: int, start_scheduler: Starter, tmp_path: Path) -> None:
    logs = [tmp_path / f"scheduler{i}.log" for i in range(3)]
    processes = [start_scheduler("--interval", "0.2", "--batch", "50", log=log)
                 for log in logs]
    _wait_until(lambda: not _still_due(pg_engine), processes, "all fired")
    _stop(processes)

    assert _fired(pg_engine) == (due_items, due_items, due_items)
    claims = [sum(_claims(log)) for log in logs]
    assert sum(claims) == due_items, claims
    assert sum(1 for claimed in claims if claimed) >= 2, f"one scheduler did it all: {claims}"


def test_a_scheduler_killed_mid_batch_loses_nothing_and_its_items_fire_once_after_the_lease(
        pg_engine: Engine, due_items: int, start_scheduler: Starter, tmp_path: Path) -> None:
    victim = start_scheduler("--batch", str(due_items), "--lease", "2", "--interval", "30")
    _read_until(victim, "claimed")
    # Kill it once it has fired its first few items (it takes milliseconds for each).
    _wait_until(lambda: _fired(pg_engine)[0] > 0, [victim], "firing", every=0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)

    owner = f"{socket.gethostname()}:{victim.pid}"
    orphans = _count(pg_engine, select(func.count()).select_from(DueItem)
                     .where(DueItem.lock_owner == owner))
    escalated_before, _, _ = _fired(pg_engine)
    assert escalated_before > 0 and orphans > 0, "not killed in the middle of its batch"
    assert orphans + escalated_before == due_items  # leased or done: nothing in between

    heirs = [start_scheduler("--lease", "2", "--interval", "0.2", "--batch", "50",
                             log=tmp_path / f"heir{i}.log") for i in range(2)]
    _wait_until(lambda: not _still_due(pg_engine), heirs, "all fired")
    _stop(heirs)

    assert _fired(pg_engine) == (due_items, due_items, due_items)
    # Every orphan was taken over (an item whose lease runs out in a slow pass may be taken
    # twice: claimed twice, fired once).
    assert sum(sum(_claims(tmp_path / f"heir{i}.log")) for i in range(2)) >= orphans


def _read_until(process: subprocess.Popen[bytes], word: str) -> None:
    """Read the process's stderr as it is written, until `word` appears."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    said = b""
    deadline = time.monotonic() + TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while word.encode() not in said:
            left = deadline - time.monotonic()
            chunk = os.read(fd, 65536) if left > 0 and selector.select(timeout=left) else b""
            if not chunk:
                pytest.fail(f"no '{word}' from the scheduler; it said:\n{said.decode()}")
            said += chunk
