"""APScheduler 3 jobs: the due-item pass, in its own process or inside the dev server."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.bootstrap import Core
from engine.services.escalations import PassResult, run_due

log = logging.getLogger(__name__)


def owner_name() -> str:
    """This process's name on due-item leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def due_pass(core: Core, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
             ) -> PassResult:
    """One pass over the due items, at the clock's time."""
    result = run_due(core, clock(), owner_name())
    if result.claimed:
        log.info("due pass: %s", result)
    return result


def make_scheduler(core: Core, *, blocking: bool, interval_seconds: float = 10) -> BaseScheduler:
    """A scheduler running the due pass every `interval_seconds`."""
    scheduler: BaseScheduler = (BlockingScheduler(timezone=UTC) if blocking
                                else BackgroundScheduler(timezone=UTC, daemon=True))
    scheduler.add_job(due_pass, "interval", args=[core], seconds=interval_seconds,
                      id="due_pass", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    return scheduler
