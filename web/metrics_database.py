"""Gauges counted in the database at scrape time: open dossiers, due items, escalations, lag.

Each is one COUNT (or MIN) on an indexed column, so a scrape costs a few milliseconds
whatever the number of dossiers. When the database cannot be reached the collector says so
(motcua_database_up 0) instead of failing the whole scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, bindparam, func, select

from engine.bootstrap import Core
from engine.models import Dossier, DueItem, Escalation
from workflows.statuses import DossierStatus, is_open

log = logging.getLogger(__name__)
OPEN_STATUSES = tuple(int(status) for status in DossierStatus if is_open(status))
_DOSSIERS = Dossier.__table__.c
_DUE = DueItem.__table__.c
_ESCALATIONS = Escalation.__table__.c
_OPEN_BY_STATUS = (select(_DOSSIERS.status, func.count())
                   .where(_DOSSIERS.status.in_(OPEN_STATUSES)).group_by(_DOSSIERS.status))
_OVERDUE = select(func.count(), func.min(_DUE.due_at)).where(_DUE.due_at <= bindparam("now"))
_PENDING = select(func.count()).where(_DUE.due_at > bindparam("now"))
# Unacknowledged escalations of dossiers still being handled, by level (0 warned, 1 at the
# deadline, 2… up the hierarchy).
_ESCALATIONS_OPEN = (
    select(_ESCALATIONS.level, func.count())
    .join_from(Escalation.__table__, Dossier.__table__, _DOSSIERS.id == _ESCALATIONS.dossier_id)
    .where(_ESCALATIONS.acknowledged_at.is_(None), _DOSSIERS.status.in_(OPEN_STATUSES))
    .group_by(_ESCALATIONS.level)
)


class DatabaseCollector(Collector):
    """Collects the database gauges of `core` as they are at `now`."""

    def __init__(self, core: Core, now: datetime) -> None:
        self.core = core
        self.now = now

    def collect(self) -> Iterator[Metric]:
        """The gauges, or motcua_database_up 0 alone when the database is away."""
        up = GaugeMetricFamily("motcua_database_up", "1 when the database answered the scrape.")
        try:
            # The reader: it only counts, and never ends a transaction with ROLLBACK (which
            # makes psycopg forget the worker's prepared statements: engine.db.ends_unchanged).
            with self.core.reader.connect() as conn:
                gauges = list(self._gauges(conn))
        except Exception as error:  # noqa: BLE001 - any failure means no figures this time
            log.warning("metrics: database unavailable (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _gauges(self, conn: Connection) -> Iterator[Metric]:
        dossiers = GaugeMetricFamily("motcua_dossiers_open", "Dossiers being handled, by status.",
                                     labels=["status"])
        counts = {status: count for status, count in conn.execute(_OPEN_BY_STATUS)}
        for status in OPEN_STATUSES:
            dossiers.add_metric([str(status)], counts.get(status, 0))
        yield dossiers

        overdue, oldest = conn.execute(_OVERDUE, {"now": self.now}).one()
        pending = conn.execute(_PENDING, {"now": self.now}).scalar_one()
        due = GaugeMetricFamily("motcua_due_items", "Deadlines and timers: pending (due later) "
                                "and overdue (due now, not handled yet).", labels=["state"])
        due.add_metric(["pending"], pending)
        due.add_metric(["overdue"], overdue)
        yield due

        lag = GaugeMetricFamily("motcua_scheduler_lag_seconds",
                                "Now minus the oldest due time not handled yet (0 if none).")
        lag.add_metric([], max(0.0, (self.now - oldest).total_seconds()) if oldest else 0.0)
        yield lag

        escalations = GaugeMetricFamily("motcua_escalations_open",
                                        "Unacknowledged escalations of open dossiers, by level.",
                                        labels=["level"])
        for level, count in conn.execute(_ESCALATIONS_OPEN):
            escalations.add_metric([str(level)], count)
        yield escalations

