"""Bench: officers completing tasks and receiving dossiers over HTTP, gunicorn + PostgreSQL.

Run from the repository root: `.venv/bin/python bench/load.py [--workers N]
[--worker-class gthread --threads 4] [--officers 16] [--duration 30] [--mode threads]`
(`--sweep 2,3,4` runs one load per worker count against fresh stages of the same database).

Setup (not measured): a database of its own, `motcua_load_<pid>` on PostgreSQL
(--admin-url, default postgres@127.0.0.1:5432, trust auth), migrated; the bpmn/ catalogue
deployed; one user per simulated officer with the role of the judicial record procedure's
lane it works in (specialist, head, leader, and reception, which also receives dossiers),
and a bearer token for each, issued in-process (logging in over HTTP sixteen times from one
address would meet the login rate limit, which stays on).

Baseline, measured first and alone: `engine.services.tasks.complete_task` called in-process,
in one thread, on the same PostgreSQL, no HTTP. Those completions also stage the seeded
dossiers: received through the service layer, then walked so that an equal share waits at
each step of the main path (check_records, draft_certificate, review, sign, return_result),
so that every officer has work from the first second; then VACUUM ANALYZE, as autovacuum
would have done by then in production. `inprocess_per_s` = completions / time
spent inside complete_task.

MotCua under load: gunicorn as `make serve` runs it (`-c deploy/gunicorn.conf.py`: the
production app, its request log, its Prometheus metrics) with N workers (by default as many
as `make serve` starts with its database on the same host: cores + 1), sync (as there) or
gthread, on 127.0.0.1. Each officer loops until the time is up: list its available tasks
(GET /api/v1/tasks, a page of them), and for up to --batch of them in random order: complete
(POST .../complete) with the step's valid form data (engine.demo.step_data), after claiming
it first (POST .../claim) for a share of them (--claim-share, default 0.25): as on the task
page, where an officer may claim a task to keep it for later or complete a free one at once
(completing claims it). Reception officers also receive a new dossier (POST /api/v1/dossiers)
every --receive-every completions. A 409 (another officer got there first) is a lost race,
counted apart from errors. Officers run as
threads of this process or as forked processes (--mode processes), one HTTP keep-alive
connection each (http.client; sync workers close it after each response and it is
reopened). The load generator shares the machine's cores with gunicorn and PostgreSQL.

Measured: completions per second over the run's wall time, the latency of each completion
request (p50/p95/p99), errors by kind, and the CPU time each side used per completion
(gunicorn's processes and our database's PostgreSQL backends from /proc, the load generator
from os.times): on a machine shared with other work the rate and latencies say little, while
the CPU per completion still bounds what two idle cores could sustain.
Then the database is checked (see `check`): every completion a client saw succeed is
recorded once; no task completed twice; every ready user task of every running workflow has
its ready task row and no other row is ready (lost);
each dossier's status is the last one its event log names; each instance's revision is one
more than the saves its event log records; each waiting step carries its dossier's status and
search key, and no other step any.

Ends with `RESULT completions_per_s=… p50_ms=… p95_ms=… p99_ms=… errors=… conflicts=… lost=…
duplicated=… inconsistent=… inprocess_per_s=… of_inprocess=… workers=… cpu_ms=… claim_share=…`
(the best run with --sweep; cpu_ms: server + database + load generator CPU per completion;
of_inprocess: the rate as a share of the in-process baseline's of the same run, comparable
between moments when the machine runs faster or slower: its speed was seen to vary 1.7x from
hour to hour). The database is
dropped and gunicorn stopped at the end, on error and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.pg import pg_database  # noqa: E402
from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.demo import step_data  # noqa: E402
from engine.models import Dossier, Event, ProcessInstance, Task, User  # noqa: E402
from engine.search import search_key  # noqa: E402
from engine.services import catalogue, dossiers, tasks  # noqa: E402
from web.production import GUNICORN_CONFIG, default_workers  # noqa: E402

PROCEDURE = "judicial_record_certificate"
MAIN_PATH = ("check_records", "draft_certificate", "review", "sign", "return_result")
ROLE_OF = {"check_records": "specialist", "draft_certificate": "specialist",
           "review": "head", "sign": "leader", "return_result": "reception"}
PASSWORD = "load-bench"
DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}


def wall_now() -> datetime:
    """The wall clock, as the server's (it uses it too)."""
    return datetime.now(UTC)


# --- the database -------------------------------------------------------------------------

@dataclass(frozen=True)
class Officer:
    """A simulated officer: a user with one role, receiving dossiers if at reception."""

    username: str
    role: str
    user_id: int
    receives: bool
    token: str


def officer_roles(count: int) -> list[str]:
    """Roles in proportion to the work: two specialist steps per dossier, one for the rest."""
    cycle = ["specialist", "head", "specialist", "leader", "reception"]
    return [cycle[i % len(cycle)] for i in range(count)]


def set_up(url: str, officers: int) -> tuple[Core, list[Officer], dict[str, str]]:
    """Migrate, deploy the catalogue, create the officers with their bearer tokens; the step
    ids by task name."""
    from engine.services import accounts

    core = bootstrap(Settings(database_url=url), db=make_engine(url))
    migrate.upgrade(core.db)
    versions = catalogue.load_catalogue(core, ROOT / "bpmn", "load-bench", wall_now())
    users = []
    for number, role in enumerate(officer_roles(officers)):
        user = accounts_user(core, f"{role}{number:02d}", role)
        users.append(Officer(user.username, role, user.id, role == "reception",
                             accounts.issue_token(core, user, wall_now())))
    [version] = [v for v in versions if v.process_id == PROCEDURE]
    parsed = core.parsed_version(version)
    names = {spec.bpmn_name: spec.bpmn_id for spec in parsed.spec.task_specs.values()
             if getattr(spec, "manual", False)}
    return core, users, names


def accounts_user(core: Core, username: str, role: str) -> User:
    """An officer's account."""
    from engine.services import accounts

    return accounts.create_user(core, username=username, password=PASSWORD,
                                full_name=username, roles=[role])


def stage(core: Core, per_step: int) -> tuple[int, float]:
    """Receive dossiers and walk them so that `per_step` wait at each step: the baseline.

    Returns the number of in-process completions and the seconds spent inside complete_task.
    """
    users: dict[str, User] = {}
    with core.uow() as uow:
        for user in uow.session.scalars(select(User)):
            users.setdefault(user.roles, user)
    ids = []
    for _ in range(per_step * len(MAIN_PATH)):
        dossier = dossiers.receive_dossier(core, procedure_code=PROCEDURE, applicant=APPLICANT,
                                           channel="in_person", actor="load-bench",
                                           now=wall_now())
        ids.append(dossier.id)
    completed, spent = 0, 0.0
    for depth, bpmn_id in enumerate(MAIN_PATH[:-1]):
        walking = ids[(depth + 1) * per_step:]
        with core.uow() as uow:
            found = dict(uow.session.execute(select(Task.dossier_id, Task.id).where(
                Task.state == "ready", Task.bpmn_id == bpmn_id,
                Task.dossier_id.in_(walking))).all())
        for dossier_id in walking:
            now = wall_now()
            data = step_data(bpmn_id, now.date().isoformat())
            began = time.perf_counter()
            tasks.complete_task(core, users[ROLE_OF[bpmn_id]], found[dossier_id], data, now)
            spent += time.perf_counter() - began
            completed += 1
    # The planner's statistics, as autovacuum keeps them in production: new tables have none
    # until its first pass (a minute or more), and without them PostgreSQL scanned every
    # step and dossier for each task list (seen: the list's database time 2.3x).
    with core.db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return completed, spent


# --- the server ----------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def backend_pids(core: Core) -> list[int]:
    """The PostgreSQL backends connected to our database, but this one."""
    with core.db.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars())


@dataclass
class CpuMeter:
    """CPU seconds used by the server, the database and the load generator over the run."""

    master: int
    core: Core
    start: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def sample(self) -> dict[str, float]:
        """The CPU seconds of each side so far (the database: its current backends)."""
        own = os.times()
        return {"server": sum(cpu_seconds(p) for p in server_pids(self.master)),
                "database": sum(cpu_seconds(p) for p in backend_pids(self.core)),
                "client": own.user + own.system + own.children_user + own.children_system}

    def begin(self) -> None:
        """Remember where each side stands."""
        self.start = self.sample()

    def end(self) -> None:
        """What each side used since `begin`."""
        now = self.sample()
        self.used = {side: now[side] - self.start.get(side, 0.0) for side in now}


@contextmanager
def gunicorn(url: str, workers: int, worker_class: str, threads: int
             ) -> Iterator[tuple[int, int]]:
    """gunicorn serving MotCua on 127.0.0.1:<port> against `url` as in production
    (deploy/gunicorn.conf.py: web.wsgi:app preloaded, a log line per request, Prometheus
    metrics in files shared by the workers), stopped on the way out. Its log goes to a file,
    whose end is printed if it fails to start."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
               "--worker-class", worker_class, "--threads", str(threads),
               "--graceful-timeout", "5", "--keep-alive", "30"]
    folder = Path(tempfile.mkdtemp(prefix="motcua-load-"))
    env = {**os.environ, "DATABASE_URL": url, "MOTCUA_SECRET_KEY": secrets.token_hex(16),
           "MOTCUA_UPLOAD_DIR": str(folder / "uploads"), "MOTCUA_BIND": f"127.0.0.1:{port}",
           "MOTCUA_WORKERS": str(workers)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the configuration makes a folder of its own
    log = (folder / "gunicorn.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=log, start_new_session=True)
    try:
        try:
            wait_ready(port, process)
        except RuntimeError:
            print((folder / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
            raise
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def wait_ready(port: int, process: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    """Return once the server answers; raise if it died or never did."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


# --- the officers ------------------------------------------------------------------------

@dataclass
class Tally:
    """What one officer saw."""

    latencies: list[float] = field(default_factory=list)  # completion requests, seconds
    completed: list[str] = field(default_factory=list)  # task ids completed with a 2xx
    conflicts: int = 0
    client_errors: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    received: int = 0
    requests: int = 0
    other_latencies: list[float] = field(default_factory=list)  # list, claim, receive
    statuses: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        """Add another officer's tally to this one."""
        self.latencies += other.latencies
        self.completed += other.completed
        self.other_latencies += other.other_latencies
        for name in ("conflicts", "client_errors", "server_errors", "connection_errors",
                     "received", "requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.statuses.update(other.statuses)


class Client:
    """One keep-alive connection speaking JSON with a bearer token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; (status, parsed JSON or None)."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, payload, headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None


def run_officer(officer: Officer, port: int, names: dict[str, str], start_at: float,
                duration: float, batch: int, page: int, receive_every: int,
                claim_share: float, seed: int) -> Tally:
    """One officer's loop: list, claim, complete (and receive), until the time is up."""
    rng = random.Random(seed)
    tally = Tally()
    client = Client(port)
    client.token = officer.token
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + duration
    since_receipt = 0

    def timed(method: str, path: str, payload: Any = None) -> tuple[int, Any, float]:
        began = time.perf_counter()
        tally.requests += 1
        try:
            status, body = client.call(method, path, payload)
        except (OSError, http.client.HTTPException):
            tally.connection_errors += 1
            return 0, None, time.perf_counter() - began
        elapsed = time.perf_counter() - began
        tally.statuses[f"{method} {path.split('/')[3]} {status}"] += 1
        if status == 409:
            tally.conflicts += 1
        elif 400 <= status < 500:
            tally.client_errors += 1
        elif status >= 500:
            tally.server_errors += 1
        return status, body, elapsed

    while time.time() < end:
        if officer.receives and since_receipt >= receive_every:
            status, _, elapsed = timed("POST", "/api/v1/dossiers", {
                "procedure": PROCEDURE, "applicant": APPLICANT, "channel": "in_person"})
            tally.other_latencies.append(elapsed)
            tally.received += status == 201
            since_receipt = 0
        status, body, elapsed = timed("GET", f"/api/v1/tasks?view=available&per_page={page}")
        tally.other_latencies.append(elapsed)
        found = body["tasks"] if status == 200 and body else []
        if not found:
            since_receipt = receive_every  # nothing to do: reception receives, others wait
            if not officer.receives:
                time.sleep(0.05)
            continue
        rng.shuffle(found)
        for task in found[:batch]:
            if time.time() >= end:
                break
            task_id = task["id"]
            if task["claimed_by"] is None and rng.random() < claim_share:
                status, _, elapsed = timed("POST", f"/api/v1/tasks/{task_id}/claim")
                tally.other_latencies.append(elapsed)
                if status != 200:
                    continue
            day = datetime.now(UTC).date().isoformat()
            data = step_data(names[task["name"]], day)
            status, _, elapsed = timed("POST", f"/api/v1/tasks/{task_id}/complete",
                                       {"data": data})
            tally.latencies.append(elapsed)
            if 200 <= status < 300:
                tally.completed.append(task_id)
                since_receipt += 1
    client.conn.close()
    return tally


def _officer_process(args: tuple[Any, ...]) -> Tally:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool's own, not the bench's handler
    return run_officer(*args)


def run_load(officers: list[Officer], port: int, names: dict[str, str], args: Any,
             meter: CpuMeter) -> tuple[dict[int, Tally], float]:
    """Run every officer at once for the duration; their tallies by user id, the wall time."""
    # Officers log in (slow password hashing) before start_at: the meter starts then.
    start_at = time.time() + 2.0 + (0.5 * len(officers) if args.mode == "processes" else 0)
    timer = threading.Timer(max(0.0, start_at - time.time()), meter.begin)
    timer.start()
    jobs = [(o, port, names, start_at, args.duration, args.batch, args.page,
             args.receive_every, args.claim_share, number)
            for number, o in enumerate(officers)]
    tallies: dict[int, Tally] = {}
    if args.mode == "processes":
        context = multiprocessing.get_context("fork")
        with context.Pool(len(jobs)) as pool:
            for officer, tally in zip(officers, pool.map(_officer_process, jobs), strict=True):
                tallies[officer.user_id] = tally
            pool.close()
            pool.join()
    else:
        results: dict[int, Tally] = {}
        failures: list[BaseException] = []

        def body(job: tuple[Any, ...]) -> None:
            try:
                results[job[0].user_id] = run_officer(*job)
            except BaseException as exc:  # noqa: BLE001 - reported after the join
                failures.append(exc)

        threads = [threading.Thread(target=body, args=(job,), daemon=True) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        tallies = results
    wall = time.time() - start_at
    timer.join()
    meter.end()
    return tallies, wall


# --- the checks ----------------------------------------------------------------------------

@dataclass
class Findings:
    """What the database says after the run."""

    unrecorded: int = 0  # a 2xx completion with no completed row or event by that officer
    missing_ready: int = 0  # a ready user task of a running workflow without its ready row
    phantom_ready: int = 0  # a ready row the workflow does not wait on
    duplicated: int = 0  # a task completed twice (two events, or two 2xx answers)
    status_mismatch: int = 0  # the dossier's status is not its event log's last
    revision_mismatch: int = 0  # revision != 1 + saves (completions) in the event log
    copy_mismatch: int = 0  # a step's copy of its dossier's status or search key is stale
    dossiers: int = 0

    @property
    def lost(self) -> int:
        """Completions or ready tasks the database lost."""
        return self.unrecorded + self.missing_ready + self.phantom_ready

    @property
    def inconsistent(self) -> int:
        """Dossiers whose rows disagree with their event log."""
        return self.status_mismatch + self.revision_mismatch + self.copy_mismatch


def check(core: Core, tallies: dict[int, Tally]) -> Findings:
    """Compare what the clients saw, the projections, the workflows and the event log."""
    found = Findings()
    seen = Counter(task_id for tally in tallies.values() for task_id in tally.completed)
    found.duplicated += sum(1 for count in seen.values() if count > 1)
    with core.uow() as uow:
        session = uow.session
        completions = session.execute(
            select(Event.task_id, func.count(), func.min(Event.actor)).where(
                Event.kind == "completed").group_by(Event.task_id)).all()
        events = {task_id: (count, actor) for task_id, count, actor in completions}
        found.duplicated += sum(1 for count, _ in events.values() if count > 1)
        rows = {task_id: (state, by) for task_id, state, by in session.execute(
            select(Task.id, Task.state, Task.completed_by))}
        names = dict(session.execute(select(User.id, User.username)).all())
        for user_id, tally in tallies.items():
            for task_id in tally.completed:
                state, by = rows.get(task_id, (None, None))
                count, actor = events.get(task_id, (0, None))
                if state != "completed" or by != user_id or count < 1 \
                        or actor != names[user_id]:
                    found.unrecorded += 1
        for state, copied, key, status, code, name in session.execute(
                select(Task.state, Task.dossier_status, Task.search_key, Dossier.status,
                       Dossier.code, Dossier.applicant_name)
                .join(Dossier, Dossier.id == Task.dossier_id)):
            wanted_copy = (status, search_key(code, name)) if state == "ready" else (None, None)
            found.copy_mismatch += (copied, key) != wanted_copy
        ready_rows: dict[int, set[str]] = {}
        for task_id, instance_id in session.execute(
                select(Task.id, Task.instance_id).where(Task.state == "ready")):
            ready_rows.setdefault(instance_id, set()).add(task_id)
        saves = dict(session.execute(
            select(Event.dossier_id, func.count()).where(Event.kind == "completed")
            .group_by(Event.dossier_id)).all())
        last_status = {}
        for dossier_id, data in session.execute(
                select(Event.dossier_id, Event.data).where(Event.kind == "status_changed")
                .order_by(Event.id)):
            last_status[dossier_id] = data["to"]
        for dossier_id, status, instance_id, revision, saved, running in session.execute(
                select(Dossier.id, Dossier.status, ProcessInstance.id,
                       ProcessInstance.revision, ProcessInstance.state,
                       ProcessInstance.status == "running")
                .join(ProcessInstance, ProcessInstance.id == Dossier.instance_id)):
            found.dossiers += 1
            if last_status.get(dossier_id, 2) != status:
                found.status_mismatch += 1
            if revision != 1 + saves.get(dossier_id, 0):
                found.revision_mismatch += 1
            wanted = ({t.id for t in core.runtime.ready_tasks(core.runtime.restore(saved))}
                      if running else set())
            have = ready_rows.get(instance_id, set())
            found.missing_ready += len(wanted - have)
            found.phantom_ready += len(have - wanted)
    return found


# --- the report ----------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) in milliseconds, 0 without values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] * 1000.0


@dataclass(frozen=True)
class Run:
    """One load run's figures."""

    label: str
    workers: int
    total: Tally
    wall: float
    findings: Findings
    cpu: dict[str, float]

    @property
    def cpu_ms(self) -> dict[str, float]:
        """CPU milliseconds per completion, by side."""
        count = max(len(self.total.completed), 1)
        return {side: seconds * 1000 / count for side, seconds in self.cpu.items()}

    @property
    def per_s(self) -> float:
        """Completions answered 2xx per second of wall time."""
        return len(self.total.completed) / self.wall

    @property
    def errors(self) -> int:
        """Requests that failed for another reason than a lost race."""
        return (self.total.client_errors + self.total.server_errors
                + self.total.connection_errors)


def table(runs: list[Run], inprocess: tuple[int, float]) -> str:
    """The figures of every run and the baseline, as text."""
    count, spent = inprocess
    lines = [f"baseline: complete_task in-process, one thread, PostgreSQL: {count} completions,"
             f" {spent * 1000 / max(count, 1):.2f} ms each, {count / spent:.0f}/s",
             f"{'server':<22}{'compl/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'other p95':>10}"
             f"{'ok':>7}{'409':>6}{'4xx':>5}{'5xx':>5}{'conn':>5}{'recv':>6}{'req/s':>7}"]
    for run in runs:
        t = run.total
        lines.append(
            f"{run.label:<22}{run.per_s:>9.1f}{percentile(t.latencies, 50):>8.1f}"
            f"{percentile(t.latencies, 95):>8.1f}{percentile(t.latencies, 99):>8.1f}"
            f"{percentile(t.other_latencies, 95):>10.1f}{len(t.completed):>7}"
            f"{t.conflicts:>6}{t.client_errors:>5}{t.server_errors:>5}"
            f"{t.connection_errors:>5}{t.received:>6}{t.requests / run.wall:>7.0f}")
    for run in runs:
        cpu = run.cpu_ms
        total = sum(cpu.values())
        lines.append(f"{run.label}: CPU per completion: server {cpu['server']:.1f} ms, "
                     f"PostgreSQL {cpu['database']:.1f} ms, load generator {cpu['client']:.1f} "
                     f"ms; {total:.1f} ms in all, so 2 idle cores would bound the rate at "
                     f"{2000 / max(total, 0.001):.0f}/s")
    for run in runs:
        f = run.findings
        lines.append(f"{run.label}: checked {f.dossiers} dossiers: unrecorded {f.unrecorded}, "
                     f"missing ready {f.missing_ready}, phantom ready {f.phantom_ready}, "
                     f"duplicated {f.duplicated}, status mismatch {f.status_mismatch}, "
                     f"stale step copies {f.copy_mismatch}, "
                     f"revision mismatch {f.revision_mismatch}")
        odd = {k: v for k, v in run.total.statuses.items() if not k.endswith((" 200", " 201"))}
        if odd:
            lines.append(f"{run.label}: other answers {dict(sorted(odd.items()))}")
    return "\n".join(lines)


def result_line(run: Run, inprocess: tuple[int, float], claim_share: float) -> str:
    """The RESULT line of the best run (the last one with --sweep)."""
    t = run.total
    count, spent = inprocess
    return (f"RESULT completions_per_s={run.per_s:.1f} p50_ms={percentile(t.latencies, 50):.1f}"
            f" p95_ms={percentile(t.latencies, 95):.1f} p99_ms={percentile(t.latencies, 99):.1f}"
            f" errors={run.errors} conflicts={t.conflicts} lost={run.findings.lost}"
            f" duplicated={run.findings.duplicated} inconsistent={run.findings.inconsistent}"
            f" inprocess_per_s={count / spent:.1f} of_inprocess={run.per_s * spent / count:.2f}"
            f" workers={run.workers}"
            f" cpu_ms={sum(run.cpu_ms.values()):.1f} claim_share={claim_share:g}")


def main(argv: list[str] | None = None) -> int:
    """Set up, measure the baseline, run the load (per worker count), check, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN,
                        help="a PostgreSQL database to create and drop ours from")
    parser.add_argument("--workers", type=int, default=0,
                        help="default: as make serve with the database on this host, cores + 1")
    parser.add_argument("--sweep", default="", help="worker counts to try in turn, e.g. 2,3,4")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--officers", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--mode", choices=("threads", "processes"), default="threads")
    parser.add_argument("--per-step", type=int, default=0,
                        help="dossiers staged at each step (default: enough for the run)")
    parser.add_argument("--batch", type=int, default=5, help="tasks worked per list")
    parser.add_argument("--claim-share", type=float, default=0.25,
                        help="share of the tasks claimed before they are completed (0-1)")
    parser.add_argument("--page", type=int, default=25, help="tasks per list request")
    parser.add_argument("--receive-every", type=int, default=4,
                        help="a reception officer receives a dossier per N completions")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.sweep.split(",") if n] or [
        args.workers or default_workers({"DATABASE_URL": args.admin_url}, os.cpu_count() or 1)]
    per_step = args.per_step or int(15 * args.duration)
    interrupted = False

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    runs: list[Run] = []
    inprocess = (0, 1.0)
    try:
        with pg_database(args.admin_url, "motcua_load") as url:
            core, officers, names = set_up(url, args.officers)
            try:
                print(f"staging {per_step} dossiers per step x {len(MAIN_PATH)} steps "
                      f"(the in-process baseline) ...", flush=True)
                done, spent = stage(core, per_step)
                for workers in counts:
                    if runs:  # a fresh stage of work for the next server
                        more = stage(core, per_step)
                        done, spent = done + more[0], spent + more[1]
                    inprocess = (done, spent)
                    core.db.dispose()
                    label = f"{workers}x{args.worker_class}" + (
                        f"/{args.threads}" if args.worker_class == "gthread" else "")
                    print(f"load: {label}, {args.officers} officers ({args.mode}), "
                          f"{args.duration:.0f} s ...", flush=True)
                    with gunicorn(url, workers, args.worker_class, args.threads) as (port, pid):
                        meter = CpuMeter(pid, core)
                        tallies, wall = run_load(officers, port, names, args, meter)
                    total = Tally()
                    for tally in tallies.values():
                        total.merge(tally)
                    runs.append(Run(label, workers, total, wall, check(core, tallies),
                                    meter.used))
            finally:
                core.db.dispose()
    except KeyboardInterrupt:
        interrupted = True
    if not runs:
        print("interrupted before any run" if interrupted else "no run", file=sys.stderr)
        return 1
    print(table(runs, inprocess))
    best = max(runs, key=lambda r: r.per_s)
    print(result_line(best, inprocess, args.claim_share))
    return 1 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
