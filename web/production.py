"""`motcua serve-production`: gunicorn's workers and the scheduler processes, run together.

Each host of a deployment runs this (or gunicorn and `motcua scheduler` under its own
service manager) against one PostgreSQL. Ctrl-C or SIGTERM stops every process; if one of
them dies, the others are stopped too and the command fails, so that the service manager
restarts the whole set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from engine.db import is_sqlite

GUNICORN_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
# Seconds each process has to finish its work after SIGTERM (gunicorn's graceful_timeout).
STOP_SECONDS = 25
_STOPPING = {signal.SIGINT, signal.SIGTERM}


def database_problem(environ: Mapping[str, str]) -> tuple[str, bool] | None:
    """What is wrong with DATABASE_URL for production, and whether it is fatal; None if fine."""
    url = environ.get("DATABASE_URL", "")
    if not url:
        return ("DATABASE_URL is not set: production needs a PostgreSQL database, e.g. "
                "DATABASE_URL=postgresql+psycopg://motcua@db.example/motcua", True)
    if not url.startswith("postgresql"):
        return ("DATABASE_URL is not PostgreSQL: SQLite serves one host only and its writers "
                "wait for each other; use postgresql+psycopg://… in production", False)
    return None


# Hosts that are this machine: a database there shares its cores with the workers.
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def database_is_local(url: str) -> bool:
    """Whether the database at `url` runs on this host: SQLite, or PostgreSQL reached on a
    loopback address or a Unix socket (no host, or a socket folder as host)."""
    if not url or is_sqlite(url):
        return True
    try:
        parsed = make_url(url)
    except ArgumentError:  # not a URL: the application says so when it connects
        return False
    hosts = [parsed.host or ""]
    query_host = parsed.query.get("host")  # ?host=/run/postgresql, or several comma-separated
    if query_host:
        hosts = [part for item in ([query_host] if isinstance(query_host, str) else query_host)
                 for part in item.split(",")]
    return all(host in _LOCAL_HOSTS or host.startswith("/") for host in hosts)


def _configured_workers(environ: Mapping[str, str]) -> str | None:
    return environ.get("MOTCUA_WORKERS") or environ.get("WEB_CONCURRENCY")


def default_workers(environ: Mapping[str, str], cores: int) -> int:
    """gunicorn's worker count unless MOTCUA_WORKERS or WEB_CONCURRENCY sets it.

    2 × cores + 1 (gunicorn's advice) while the database is elsewhere: a worker waits for it
    at each of a completion's dozen round trips, and the others use the cores meanwhile.
    cores + 1 when it runs on this host: its processes need the same cores, and the round
    trips are short. Measured with bench/load.py (PostgreSQL on the same 2-core host, 16
    officers): 3 workers 161–191 completions/s with p95 49–64 ms, 5 workers 138–158/s with
    p95 66–78 ms, in alternating runs.
    """
    configured = _configured_workers(environ)
    if configured:
        return int(configured)
    if database_is_local(environ.get("DATABASE_URL", "")):
        return cores + 1
    return 2 * cores + 1


def shared_state_problem(environ: Mapping[str, str]) -> str | None:
    """What several workers would not share as configured; None if nothing. (Unless set to
    1, gunicorn runs several: see `default_workers`.)"""
    storage = environ.get("MOTCUA_RATELIMIT_STORAGE", "memory://")
    if _configured_workers(environ) != "1" and storage.startswith("memory://"):
        return ("each worker counts the login and lookup rate limits alone (memory://): set "
                "MOTCUA_RATELIMIT_STORAGE=redis://… so that they share them")
    return None


def commands(schedulers: int) -> list[list[str]]:
    """gunicorn with deploy/gunicorn.conf.py, then `schedulers` scheduler processes."""
    motcua = [sys.executable, "-c", "from web.cli import main; main()"]
    return ([[sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG)]]
            + [[*motcua, "scheduler"] for _ in range(schedulers)])


def supervise(argvs: Sequence[Sequence[str]], env: Mapping[str, str] | None = None,
              stop_seconds: float = STOP_SECONDS) -> int:
    """Run every command until a signal stops us (0) or one of them exits (1)."""
    processes: list[subprocess.Popen[bytes]] = []
    # Signals are waited for, not handled: nothing runs between two checks of the children.
    # (They are blocked only once the children run: a blocked mask is inherited.)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    try:
        for argv in argvs:
            processes.append(subprocess.Popen(list(argv), env=env))
        signal.pthread_sigmask(signal.SIG_BLOCK, {*_STOPPING, signal.SIGCHLD})
        while True:
            ended = [(argv, p) for argv, p in zip(argvs, processes, strict=True)
                     if p.poll() is not None]
            if ended:
                argv, process = ended[0]
                click.echo(f"motcua: {' '.join(argv)} exited with code {process.returncode}; "
                           "stopping the others", err=True)
                return 1
            if signal.sigwait({*_STOPPING, signal.SIGCHLD}) in _STOPPING:
                return 0
    finally:
        _stop(processes, stop_seconds)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _stop(processes: Sequence[subprocess.Popen[bytes]], stop_seconds: float) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@click.command("serve-production")
@click.option("--schedulers", type=click.IntRange(min=0), envvar="MOTCUA_SCHEDULERS",
              default=1, show_default=True, help="scheduler processes beside the web workers "
              "(MOTCUA_SCHEDULERS)")
@click.option("--workers", type=click.IntRange(min=1), envvar="MOTCUA_WORKERS",
              help="gunicorn workers (MOTCUA_WORKERS or WEB_CONCURRENCY; default cores + 1 "
              "with the database on this host, else 2 × cores + 1)")
@click.option("--bind", envvar="MOTCUA_BIND", help="address:port gunicorn listens on "
              "(MOTCUA_BIND; default 127.0.0.1:8000)")
def serve_production(schedulers: int, workers: int | None, bind: str | None) -> None:
    """Serve MotCua in production: gunicorn's workers and the scheduler processes."""
    problem = database_problem(os.environ)
    if problem is not None:
        message, fatal = problem
        if fatal:
            raise click.UsageError(message)
        click.echo(f"warning: {message}", err=True)
    env = dict(os.environ)
    if workers is not None:
        env["MOTCUA_WORKERS"] = str(workers)
    shared = shared_state_problem(env)
    if shared is not None:
        click.echo(f"warning: {shared}", err=True)
    if bind:
        env["MOTCUA_BIND"] = bind
    sys.exit(supervise(commands(schedulers), env))
