"""APScheduler 3 jobs: the due-item pass, the outbox pass and the audit pass (engine.audit),
in their own process or inside the dev server.

Any number of scheduler processes may run against one PostgreSQL: each pass leases a batch
of due items (SKIP LOCKED), so two processes never take the same item, and handles each in
its own transaction. A process that dies mid-batch loses nothing: its leases expire after
`Settings.lease_seconds` and another process takes the items over. The outbox pass leases
citizens' e-mails the same way and sends each once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import audit
from engine.bootstrap import Core
from engine.services.escalations import PassResult, claim_due_items, handle_due_items
from engine.services.outbox import SendResult, send_due

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
OUTBOX_BATCH = 50


def owner_name() -> str:
    """This process's name on due-item leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def due_pass(core: Core, clock: Callable[[], datetime] = _wall_clock,
             batch: int = DEFAULT_BATCH) -> PassResult:
    """One pass at the clock's time: lease up to `batch` due items, then handle them.

    Deadlines are handled in groups, one transaction each; every BPMN timer in its own. A crash
    in the middle of a batch keeps what was committed and leaves the rest leased until the
    lease expires, when another scheduler takes it.
    """
    now = clock()
    owner = owner_name()
    result = PassResult()
    items = claim_due_items(core, now, owner, batch)
    result.claimed = len(items)
    if not items:
        log.debug("claimed 0 due items")
        return result
    log.info("claimed %d due items", len(items))
    handle_due_items(core, items, owner, now, result)
    log.info("due pass: %s", result)
    return result


def outbox_pass(core: Core, clock: Callable[[], datetime] = _wall_clock,
                batch: int = OUTBOX_BATCH) -> SendResult:
    """One outbox pass at the clock's time: lease up to `batch` due e-mails and send each."""
    result = send_due(core, clock(), owner_name(), batch)
    if result.failed:
        log.warning("outbox pass: %s (the SMTP relay is %s:%d)", result,
                    core.settings.smtp_host, core.settings.smtp_port)
    elif result.sent or result.deferred:
        log.info("outbox pass: %s", result)
    return result


def audit_pass(core: Core, clock: Callable[[], datetime] = _wall_clock) -> int:
    """Seal the events written since the last pass into the audit trail's hash chain."""
    sealed = audit.seal(core, clock())
    if sealed:
        log.info("audit pass: %d events sealed", sealed)
    return sealed


def make_scheduler(core: Core, *, blocking: bool, interval_seconds: float = 10,
                   batch: int = DEFAULT_BATCH,
                   outbox_interval_seconds: float = 10) -> BaseScheduler:
    """A scheduler running the due pass (`batch` items a pass), the outbox and audit passes."""
    scheduler: BaseScheduler = (BlockingScheduler(timezone=UTC) if blocking
                                else BackgroundScheduler(timezone=UTC, daemon=True))
    scheduler.add_job(due_pass, "interval", args=[core], kwargs={"batch": batch},
                      seconds=interval_seconds, id="due_pass", max_instances=1,
                      coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(outbox_pass, "interval", args=[core], seconds=outbox_interval_seconds,
                      id="outbox_pass", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(audit_pass, "interval", args=[core], seconds=interval_seconds,
                      id="audit_pass", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    return scheduler


def configure_logging() -> None:
    """One flushed line per pass on stderr; APScheduler's own chatter only when it matters.

    A pass longer than the interval makes APScheduler warn that it skipped a run (at most one
    pass runs at a time, by design), so its scheduler logs errors only.
    """
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
