"""gunicorn's settings for MotCua in production: `gunicorn -c deploy/gunicorn.conf.py`.

Environment: MOTCUA_BIND (default 127.0.0.1:8000), MOTCUA_WORKERS or WEB_CONCURRENCY
(default: cores + 1 with the database on this host, else 2 × cores + 1; see
web.production.default_workers), MOTCUA_TIMEOUT (seconds a request may take, default 30),
PROMETHEUS_MULTIPROC_DIR (default: a fresh temporary folder, removed at exit).
Requests are logged by the application (logger "motcua.requests"), so gunicorn's access log
stays off.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Before anything imports prometheus_client: it picks its multiprocess mode at import, and the
# workers inherit the master's environment.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="motcua-prometheus-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

from web.production import default_workers  # noqa: E402 - after the metrics folder is set

wsgi_app = "web.wsgi:app"
bind = os.environ.get("MOTCUA_BIND", "127.0.0.1:8000").split(",")
workers = default_workers(os.environ, multiprocessing.cpu_count())
timeout = int(os.environ.get("MOTCUA_TIMEOUT", "30"))
graceful_timeout = 20
# One process per worker, each with its own connection pool (engine/db.py pings a connection
# that rested in the pool, and drops the pool when one fails, so a worker recovers by itself
# after a database outage). Sync workers: each request on a connection of its own, taken by
# whichever worker is free; measured with bench/load.py, 5 sync workers on 2 cores served
# more completions with a lower p95 than gthread workers, whose keep-alive connections stay
# with the worker that accepted them (one worker busy, the other idle).
worker_class = "sync"
# The application is imported once, by the master, and the workers share its memory; each
# worker then opens its own database connections (post_fork).
preload_app = True
# gunicorn's runtime control socket is not used (and would collide between instances).
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "info"
# gunicorn's own messages and the application's (motcua.requests among them) on stderr.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: "
                                      "%(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        "apscheduler": {"level": "WARNING"},
    },
}


def on_starting(server: Any) -> None:
    """Start from empty metric files: counts of a previous run must not be added again."""
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def pre_fork(server: Any, worker: Any) -> None:
    """Freeze the preloaded application's objects before each worker is forked.

    A worker's garbage collector then never walks the hundreds of thousands of objects it
    inherits (libraries, parsed procedures): measured, a full collection of them took
    120 ms, once every 200 completions or so, a quarter of a completion's CPU; and walking
    them would copy the memory pages the workers share with the master.
    """
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """Never share the master's pooled connections (if any) with a worker."""
    from web.wsgi import app

    app.extensions["motcua"].db.dispose(close=False)


def worker_exit(server: Any, worker: Any) -> None:
    """Close the worker's connections, then leave without tearing down the interpreter.

    Tearing down the heap shared with the master copies every page of it first: seconds per
    worker on a busy host, for nothing. Only a clean exit is shortened: a worker that failed
    to boot keeps its exit code, which tells the master to stop instead of respawning it.
    """
    import logging
    import sys

    from web.wsgi import app

    leaving = sys.exc_info()[1]  # gunicorn calls this hook while the worker's exit propagates
    if not isinstance(leaving, SystemExit) or leaving.code not in (0, None):
        return

    app.extensions["motcua"].db.dispose()
    logging.shutdown()
    os._exit(0)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges; its counts stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics folder this configuration created."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
