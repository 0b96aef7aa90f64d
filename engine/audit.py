"""The tamper-evident audit trail: a hash chain over the append-only event log.

Every use case writes its events in its own transaction, many at once; chaining each event
as it is written would make every write wait for the one before it. Instead each scheduler
pass (and `motcua seal-audit`) seals the events written since, in the order of their ids:
link n of `audit_seal` holds an event's id, the hash of link n-1 and
sha256(that hash + the event row in canonical form). One sealer at a time extends the chain
(PostgreSQL: an advisory lock; SQLite: its single writer, and a lost race is a primary-key
conflict), so it never forks. `verify` recomputes the chain from the rows as they are now
and names the first link that does not hold: an event altered or removed, a link altered,
removed or inserted. Events written since the last pass are not yet protected (one pass,
10 s by default); `verify` counts them.

An event committed long after later ones (a transaction open while SLACK newer events were
sealed) would be missed by the passes; `seal(..., sweep=True)` looks at every event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from engine.bootstrap import Core
from engine.models import AuditSeal, Event

GENESIS = "0" * 64
SLACK = 10_000  # event ids below the newest sealed one that a pass still looks at
CHUNK = 5_000
_LOCK_KEY = 0x6D6F7463  # "motc": the advisory lock of the chain's head on PostgreSQL
EVENTS = cast(Table, Event.__table__)
SEALS = cast(Table, AuditSeal.__table__)
_COLUMNS = (EVENTS.c.id, EVENTS.c.dossier_id, EVENTS.c.at, EVENTS.c.actor, EVENTS.c.kind,
            EVENTS.c.task_id, EVENTS.c.task_name, EVENTS.c.data)


def link_hash(previous: str, row: Any) -> str:
    """The hash of one link: the previous link's hash and the event as it is stored."""
    at = row.at.isoformat() if isinstance(row.at, datetime) else str(row.at)
    content = json.dumps([row.id, row.dossier_id, at, row.actor, row.kind, row.task_id,
                          row.task_name, row.data], ensure_ascii=False, sort_keys=True,
                         separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


def seal(core: Core, now: datetime, *, sweep: bool = False, limit: int = 100_000) -> int:
    """Seal up to `limit` events not yet in the chain; how many were sealed (0 if busy)."""
    try:
        with core.db.begin() as conn:
            if conn.dialect.name == "postgresql" and not conn.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}):
                return 0  # another scheduler is sealing right now
            return _extend(conn, now, sweep, limit)
    except IntegrityError:
        return 0  # SQLite: another sealer took the same links first; it sealed them


def _extend(conn: Connection, now: datetime, sweep: bool, limit: int) -> int:
    head = conn.execute(select(SEALS.c.seq, SEALS.c.hash, SEALS.c.event_id)
                        .order_by(SEALS.c.seq.desc()).limit(1)).first()
    seq, previous, newest = (head.seq, head.hash, head.event_id) if head else (0, GENESIS, 0)
    floor = 0 if sweep else max(newest - SLACK, 0)
    sealed = select(SEALS.c.event_id).where(SEALS.c.event_id == EVENTS.c.id).exists()
    rows = conn.execute(select(*_COLUMNS).where(EVENTS.c.id > floor, ~sealed)
                        .order_by(EVENTS.c.id).limit(limit)).all()
    links = []
    for row in rows:
        seq += 1
        digest = link_hash(previous, row)
        links.append({"seq": seq, "event_id": row.id, "prev_hash": previous, "hash": digest,
                      "sealed_at": now})
        previous = digest
    for start in range(0, len(links), CHUNK):
        conn.execute(insert(SEALS), links[start:start + CHUNK])
    return len(links)


@dataclass(frozen=True)
class Break:
    """The first link of the chain that does not hold, and why."""

    seq: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        event = f"event {self.event_id}" if self.event_id is not None else "no event"
        return f"link {self.seq} ({event}): {self.reason}"


@dataclass(frozen=True)
class Verdict:
    """What `verify` found."""

    sealed: int
    unsealed: int
    broken: Break | None
    head: str = GENESIS  # the hash of the last link that holds: keep it outside the database

    @property
    def intact(self) -> bool:
        """True when every sealed event is as it was sealed."""
        return self.broken is None


def verify(core: Core) -> Verdict:
    """Recompute the chain from the rows as they are now; the first broken link, if any."""
    with core.reader.connect() as conn:
        sealed, head, broken = 0, GENESIS, None
        for link in _links(conn):
            sealed += 1
            broken = _check(link, sealed)
            if broken is not None:
                break
            head = link.hash
        unsealed = conn.scalar(select(func.count()).select_from(EVENTS).where(
            ~select(SEALS.c.event_id).where(SEALS.c.event_id == EVENTS.c.id).exists())) or 0
    return Verdict(sealed, unsealed, broken, head)


@dataclass(frozen=True)
class _Link:
    seq: int
    event_id: int
    prev_hash: str
    hash: str
    event: Any  # the event row, None if it is gone
    prev_expected: str


def _links(conn: Connection) -> Iterator[_Link]:
    """Every link in order with its event (outer join: a removed event shows as None)."""
    after, previous = 0, GENESIS
    while True:
        rows = conn.execute(
            select(SEALS.c.seq, SEALS.c.event_id, SEALS.c.prev_hash, SEALS.c.hash,
                   *(c.label(f"e_{c.name}") for c in _COLUMNS))
            .select_from(SEALS.outerjoin(EVENTS, EVENTS.c.id == SEALS.c.event_id))
            .where(SEALS.c.seq > after).order_by(SEALS.c.seq).limit(CHUNK)).all()
        if not rows:
            return
        for row in rows:
            event = _EventRow(row.e_id, row.e_dossier_id, row.e_at, row.e_actor, row.e_kind,
                              row.e_task_id, row.e_task_name, row.e_data)
            yield _Link(row.seq, row.event_id, row.prev_hash, row.hash,
                        event if row.e_id is not None else None, previous)
            previous = row.hash
        after = rows[-1].seq


@dataclass(frozen=True)
class _EventRow:
    id: int
    dossier_id: int | None
    at: datetime
    actor: str | None
    kind: str
    task_id: str | None
    task_name: str | None
    data: Any


def _check(link: _Link, position: int) -> Break | None:
    previous = link.prev_expected
    if link.seq != position:
        return Break(position, None, f"link {position} is missing (the next one is "
                                     f"{link.seq}): links were removed")
    if link.prev_hash != previous:
        return Break(link.seq, link.event_id, "the link does not follow the one before: "
                                              "links were altered, removed or inserted")
    if link.event is None:
        return Break(link.seq, link.event_id, "the event was removed")
    if link_hash(previous, link.event) != link.hash:
        return Break(link.seq, link.event_id, "the event was altered after it was sealed")
    return None
