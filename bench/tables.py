"""Bench: an officer's task list and the supervisor's dashboard over 100,000 open dossiers and
1,000,000 closed ones, on PostgreSQL.

Run from the repository root: `.venv/bin/python bench/tables.py [--postgresql URL]`
(`--open 5000 --closed 50000` for quick iterations, `--skip-baseline` to leave out the
unindexed and naive baselines, which take minutes; default URL: TEST_DATABASE_URL or
postgresql+psycopg://postgres@127.0.0.1:5432/test — the bench creates a database of its own
beside it, `motcua_tables_<pid>`, and drops it at the end).

Setup (timed, not part of the figures; bench/tables_data.py): the catalogue is deployed and
107 officers are created (specialists and heads in four departments); real dossiers are
received through the service layer — one per procedure, and the judicial record certificate
walked to each of its later steps — and bulk-copied with COPY into the open dossiers: their
waiting steps spread over roles (a quarter reception, a third specialists, a fifth heads, a
tenth leaders and clerks) and departments (60% of the specialists' and heads' steps belong to
one of four departments), half of them claimed, waiting for under a day (75%), one to three
days (15%) or up to a month (10%), with the due items of the copied rows and the escalations
the scheduler would have raised for them by now (15% acknowledged; each with its dossier's
procedure, a warning settled when the next level was raised, as migration 0011 keeps them).
One judicial dossier walked to its end is the template PostgreSQL copies into the closed ones
(INSERT … SELECT over generate_series): five years, every procedure, returned (96%), refused
or stopped, each with its completed instance (its real ~6 kB state), five completed steps
and nine events; a tenth of them keep the alerts of one step, settled (a third of those
acknowledged). The big tables' secondary indexes are dropped during the load and built again
after it; foreign keys are not checked during the load (session_replication_role = replica).
Then VACUUM ANALYZE and CHECKPOINT.

Measured, warm, server time in-process (median and p95 of --runs calls after 3 warm-ups):
- task_list: engine.services.task_list.task_page for a specialist of department D1, as the
  /tasks page asks (group view, by deadline), first page and a deep page (page 100), and the
  page's other views, filters and sorts (figures for each in the table);
- dashboard: what the /supervise/ page calls — supervision.alert_page (one page of running
  alerts), alert_counts (counted in SQL) and workload; the same for a head of D1 (their
  department's alerts: each running alert's step or dossier read by key);
- the two pages through Flask's test client (request handling, templates included);
- reports.summary for a year, by field (for information).
Baseline, in the same run: the same calls with the indexes of migration 0009 dropped
(`unindexed_…`; the dashboard keeps 0011's ix_escalation_running), and the dashboard as it
was (every alert loaded, latest-per-deadline and counts in Python: `naive_dashboard_ms`).

Ends with `RESULT task_list_ms=… task_list_deep_ms=… dashboard_ms=… head_dashboard_ms=…
search_max_ms=… (the slowest of the searches: a name, a code, a common word, two letters)
task_list_page_ms=… dashboard_page_ms=… unindexed_task_list_ms=… unindexed_dashboard_ms=…
naive_dashboard_ms=… report_year_ms=… setup_s=… open=… closed=…`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import Engine, select, text  # noqa: E402

from bench.pg import DEFAULT_PG, pg_database  # noqa: E402
from bench.tables_data import NOW, Loaded, generate, make_core  # noqa: E402
from engine.bootstrap import Core  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import Dossier, Escalation, Procedure, Task, User  # noqa: E402
from engine.services import reports, supervision, task_list  # noqa: E402
from engine.services.task_list import TaskFilters  # noqa: E402
from web import create_app  # noqa: E402
from web.auth import Officer  # noqa: E402

TARGET_MS = 50.0
WARM = 3
@dataclass
class Timing:
    """Repeated calls of one thing, in seconds."""

    label: str
    times: list[float] = field(default_factory=list)
    rows: int = 0

    @property
    def median_ms(self) -> float:
        """Median in milliseconds."""
        return statistics.median(self.times) * 1000

    @property
    def p95_ms(self) -> float:
        """95th percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)] * 1000


def timed(label: str, call: Callable[[], Any], runs: int) -> Timing:
    """Call `call` WARM times, then `runs` times timed; the rows the last call returned."""
    for _ in range(WARM):
        result = call()
    timing = Timing(label)
    for _ in range(runs):
        began = time.perf_counter()
        result = call()
        timing.times.append(time.perf_counter() - began)
    timing.rows = _size(result)
    return timing


def _size(result: Any) -> int:
    for name in ("rows", "alerts"):
        if hasattr(result, name):
            return len(getattr(result, name))
    if isinstance(result, tuple):
        return _size(result[0])
    return len(result) if hasattr(result, "__len__") else 0


@contextmanager
def own_database(url: str) -> Iterator[Engine]:
    """An engine on a database of its own beside `url`'s, dropped at the end."""
    with pg_database(url, "motcua_tables") as own:
        db = make_engine(own, pool_size=5)
        try:
            yield db
        finally:
            db.dispose()


def naive_dashboard(core: Core) -> tuple[list[supervision.Alert], Any]:
    """The dashboard as it was: every alert loaded, the latest of each deadline and the
    counts found in Python."""
    officer = select(User.full_name).where(User.id == Task.claimed_by).scalar_subquery()
    with core.uow() as uow:
        found = uow.session.execute(
            select(Escalation, Dossier, Procedure, Task, officer)
            .join(Dossier, Dossier.id == Escalation.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .outerjoin(Task, Task.id == Escalation.task_id)
            .order_by(Escalation.level.desc(), Escalation.raised_at)).all()
    latest: dict[tuple[int, str], supervision.Alert] = {}
    for escalation, dossier, procedure, task, name in found:
        latest.setdefault((dossier.id, escalation.ref),
                          supervision.Alert(escalation, dossier, procedure, task, name))
    alerts = [a for a in latest.values() if a.escalation.acknowledged_at is None and (
        a.task.state == "ready" if a.task is not None
        else a.dossier.status in supervision.OPEN_STATUSES)]
    return alerts, supervision.counts(alerts)


def dashboard(core: Core, viewer: User | None = None) -> supervision.AlertPage:
    """What the /supervise/ page asks the services for (a head's: within their scope)."""
    return supervision.dashboard(core, viewer, NOW).page


def user_named(core: Core, **where: Any) -> User:
    """The first user matching `where`, by id."""
    with core.uow() as uow:
        return uow.session.scalars(select(User).filter_by(**where).order_by(User.id)).first() \
            or _missing(where)


def _missing(where: dict[str, Any]) -> User:
    raise RuntimeError(f"no user {where}")


def client_for(app: Flask, user: User) -> Any:
    """A test client logged in as `user` (the session set as Flask-Login sets it)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = Officer(user).get_id()
        session["_fresh"] = True
    return client


def page_call(client: Any, path: str) -> Callable[[], Any]:
    """GET `path`, failing unless it answers 200."""
    def call() -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response.get_data()
    return call


def task_calls(core: Core, officer: User) -> dict[str, Callable[[], Any]]:
    """The task list's pages, views, filters and sorts, as /tasks asks for them."""
    def page(**kwargs: Any) -> Callable[[], Any]:
        return lambda: task_list.task_page(core, officer, TaskFilters(**kwargs), NOW)
    # A code the officer's list holds, searched in lower case as typed.
    seen = task_list.task_page(core, officer, TaskFilters(view="group"), NOW).rows
    code = seen[-1].dossier.code.lower() if seen else "open-0012345"
    return {
        "group, by deadline, page 1": page(view="group"),
        "group, by deadline, page 100": page(view="group", page=100),
        "available (the API's default)": page(view="available"),
        "mine": page(view="mine"),
        "group, by date received": page(view="group", sort="received"),
        "group, by date received, page 100": page(view="group", sort="received", page=100),
        "group, overdue": page(view="group", urgency="overdue"),
        "group, due soon": page(view="group", urgency="due_soon"),
        "group, one procedure": page(view="group", procedure="judicial_record_certificate"),
        "group, status 4": page(view="group", status=4),
        "group, status 9 (none of the role's)": page(view="group", status=9),
        "group, search 'nguyen van an 1'": page(view="group", search="nguyen van an 1"),
        "group, search a code of the list": page(view="group", search=code),
        "group, search a common word 'Văn'": page(view="group", search="Văn"),
        "group, search two letters, none 'xq'": page(view="group", search="xq"),
        "API: available with forms": lambda: task_list.task_page(
            core, officer, TaskFilters(view="available"), NOW, with_forms=True),
    }


def dashboard_calls(core: Core, head: User) -> dict[str, Callable[[], Any]]:
    """The dashboard's service calls, alone and together; and a head's."""
    return {
        "dashboard (page + counts + workload)": lambda: dashboard(core),
        HEAD_DASHBOARD: lambda: dashboard(core, head),
        "  alert_page, page 1": lambda: supervision.alert_page(core),
        "  alert_page, page 20": lambda: supervision.alert_page(core, page=20),
        "  alert_page, escalated": lambda: supervision.alert_page(
            core, supervision.Filters(stage="escalated")),
        "  alert_counts": lambda: supervision.alert_counts(core),
        "  workload": lambda: supervision.workload(core, NOW),
    }


def measure_all(core: Core, runs: int, out: Callable[[str], None]) -> dict[str, Timing]:
    """Every call of the table, timed."""
    officer = user_named(core, roles="specialist", department="D1")
    supervisor = user_named(core, roles="supervisor")
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "CLOCK": lambda: NOW,
                      "DATABASE_URL": str(core.db.url)}, core=core)
    head = user_named(core, roles="head", department="D1")
    calls = {**task_calls(core, officer), **dashboard_calls(core, head),
             "page GET /?view=group": page_call(client_for(app, officer), "/?view=group"),
             "page GET /supervise/": page_call(client_for(app, supervisor), "/supervise/"),
             "report, one year by field": lambda: reports.summary(
                 core, first="2025-01-01", last="2025-12-31", by="field")}
    results = {}
    for label, call in calls.items():
        results[label] = timing = timed(label, call, runs)
        out(f"  {label:<44}{timing.median_ms:>9.1f}{timing.p95_ms:>9.1f}{timing.rows:>7}")
    return results


def measure_baseline(core: Core, runs: int, out: Callable[[str], None]) -> dict[str, Timing]:
    """The task list and the dashboard without migration 0009's indexes (as before it), and
    the naive dashboard; the indexes are created again afterwards."""
    officer = user_named(core, roles="specialist", department="D1")
    calls = {"unindexed: group, by deadline, page 1": lambda: task_list.task_page(
                 core, officer, TaskFilters(view="group"), NOW),
             "unindexed: group, by deadline, page 100": lambda: task_list.task_page(
                 core, officer, TaskFilters(view="group", page=100), NOW),
             "unindexed: mine": lambda: task_list.task_page(
                 core, officer, TaskFilters(view="mine"), NOW),
             "unindexed: dashboard": lambda: dashboard(core)}
    results = {}
    with indexes_of_0008(core.db):
        for label, call in calls.items():
            results[label] = timing = timed(label, call, runs)
            out(f"  {label:<44}{timing.median_ms:>9.1f}{timing.p95_ms:>9.1f}{timing.rows:>7}")
    label = "naive dashboard (all alerts, Python)"
    results[label] = timing = timed(label, lambda: naive_dashboard(core), max(3, runs // 5))
    out(f"  {label:<44}{timing.median_ms:>9.1f}{timing.p95_ms:>9.1f}{timing.rows:>7}")
    return results


@contextmanager
def indexes_of_0008(db: Engine) -> Iterator[None]:
    """The indexes as migration 0008 left them, for the block; then 0009's again."""
    def run(*statements: str) -> None:
        with db.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql in statements:
                auto.execute(text(sql))
    run("DROP INDEX ix_task_state_role_due", "DROP INDEX ix_task_claimed_state_due",
        "DROP INDEX ix_task_state_created", "DROP INDEX ix_task_state_id",
        "DROP INDEX ix_dossier_status_received",
        "CREATE INDEX ix_task_state_role ON task (state, role)",
        "CREATE INDEX ix_dossier_status ON dossier (status)", "ANALYZE task, dossier")
    try:
        yield
    finally:
        run("DROP INDEX ix_task_state_role", "DROP INDEX ix_dossier_status",
            "CREATE INDEX ix_task_state_role_due ON task "
            "(state, role, due_at, created_at, id, department, claimed_by)",
            "CREATE INDEX ix_task_claimed_state_due ON task "
            "(claimed_by, state, due_at, created_at, id, role, department)",
            "CREATE INDEX ix_task_state_created ON task (state, created_at)",
            "CREATE INDEX ix_task_state_id ON task (state, id, claimed_by)",
            "CREATE INDEX ix_dossier_status_received ON dossier (status, received_at)",
            "ANALYZE task, dossier")


def verdict(value: float) -> str:
    """met or MISSED against TARGET_MS."""
    return "met" if value < TARGET_MS else "MISSED"


def main(argv: list[str] | None = None) -> int:
    """Generate, measure, print the table and the RESULT line; drop the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000, help="open dossiers")
    parser.add_argument("--closed", type=int, default=1_000_000, help="closed dossiers")
    parser.add_argument("--runs", type=int, default=30, help="timed calls of each query")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="skip the unindexed and naive baselines (their figures: nan)")
    parser.add_argument("--postgresql", default=os.environ.get("TEST_DATABASE_URL") or
                        DEFAULT_PG, help=f"a PostgreSQL URL (default {DEFAULT_PG})")
    args = parser.parse_args(argv)
    if args.open < 1_000 or args.closed < 1_000 or args.runs < 1:
        parser.error("--open and --closed must be at least 1000, --runs at least 1")
    with own_database(args.postgresql) as db:
        core = make_core(db)
        loaded = generate(core, args.open, args.closed)
        print(f"setup {loaded.seconds:.1f} s: {loaded.open:,} open and {loaded.closed:,} "
              f"closed dossiers, {loaded.tasks:,} tasks ({loaded.ready:,} waiting), "
              f"{loaded.events:,} events, {loaded.escalations:,} alerts")
        print(f"server time in-process, warm, {args.runs} calls each after {WARM}: "
              f"{'median':>9}{'p95':>9}{'rows':>7}  ms")
        results = measure_all(core, args.runs, print)
        if not args.skip_baseline:
            results.update(measure_baseline(core, args.runs, print))
    print(result_line(results, loaded))
    return 0


HEAD_DASHBOARD = "a head's dashboard (their department)"


def result_line(results: dict[str, Timing], loaded: Loaded) -> str:
    """The RESULT line."""
    def ms(label: str) -> str:
        return f"{results[label].median_ms:.1f}" if label in results else "nan"
    task_ms = results["group, by deadline, page 1"].median_ms
    dash_ms = results["dashboard (page + counts + workload)"].median_ms
    print(f"target under {TARGET_MS:.0f} ms: task list {task_ms:.1f} ms {verdict(task_ms)}, "
          f"dashboard {dash_ms:.1f} ms {verdict(dash_ms)}")
    return (f"RESULT task_list_ms={ms('group, by deadline, page 1')} "
            f"task_list_p95_ms={results['group, by deadline, page 1'].p95_ms:.1f} "
            f"task_list_deep_ms={ms('group, by deadline, page 100')} "
            f"task_list_received_ms={ms('group, by date received')} "
            f"dashboard_ms={ms('dashboard (page + counts + workload)')} "
            f"dashboard_p95_ms={results['dashboard (page + counts + workload)'].p95_ms:.1f} "
            f"head_dashboard_ms={ms(HEAD_DASHBOARD)} "
            f"search_max_ms={max(t.median_ms for k, t in results.items() if 'search' in k):.1f} "
            f"task_list_page_ms={ms('page GET /?view=group')} "
            f"dashboard_page_ms={ms('page GET /supervise/')} "
            f"unindexed_task_list_ms={ms('unindexed: group, by deadline, page 1')} "
            f"unindexed_dashboard_ms={ms('unindexed: dashboard')} "
            f"naive_dashboard_ms={ms('naive dashboard (all alerts, Python)')} "
            f"report_year_ms={ms('report, one year by field')} "
            f"setup_s={loaded.seconds:.0f} open={loaded.open} closed={loaded.closed}")


if __name__ == "__main__":
    sys.exit(main())
