"""The e-mail outbox: queue citizens' e-mails with the change that causes them, send them once.

A message is queued in the same transaction as the dossier change it reports, so it is never
lost; the scheduler's outbox pass leases due rows (SKIP LOCKED on PostgreSQL, like the due
items), sends each and marks it sent in the transaction that holds the row, so two schedulers
never both send it. A failed send is retried with back-off, for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.bootstrap import Core
from engine.mailer import SendError, ServerUnavailable, SmtpMailer
from engine.models import OutboxMessage
from workflows.letters import (  # noqa: F401  (the letters' old home re-exports them)
    AGENCY_ZONE,
    Letter,
    apology_letter,
    received_letter,
    result_ready_letter,
    supplement_letter,
)

# Waits after the 1st, 2nd, 3rd, 4th failed attempt; every later one waits the last step.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2))
LAST_STEP = timedelta(hours=6)


@dataclass
class SendResult:
    """What one outbox pass did: sent, failed (retry scheduled), deferred to a later pass."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0


def enqueue(conn: Connection, *, key: str, to_address: str, subject: str, body: str,
            now: datetime, dossier_id: int | None = None) -> None:
    """Queue one e-mail, due at once; a second enqueue with the same key does nothing."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(OutboxMessage)
        .values(key=key, dossier_id=dossier_id, to_address=to_address, subject=subject,
                body=body, created_at=now, next_attempt_at=now, attempts=0)
        .on_conflict_do_nothing(index_elements=["key"]))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1, 5, 30 min, 2 h, 6 h…)."""
    return BACKOFF[attempts - 1] if 1 <= attempts <= len(BACKOFF) else LAST_STEP


def send_due(core: Core, now: datetime, owner: str, batch: int = 50) -> SendResult:
    """Lease up to `batch` messages due at `now`, and send each in its own transaction."""
    return send_claimed(core, claim_messages(core, now, owner, batch), owner, now)


def send_claimed(core: Core, message_ids: list[int], owner: str, now: datetime) -> SendResult:
    """Send the messages `owner` leased, each in its own transaction; skip those it lost."""
    mailer = SmtpMailer.from_settings(core.settings)
    result = SendResult()
    for index, message_id in enumerate(message_ids):
        try:
            _send_one(core, mailer, message_id, owner, now, result)
        except ServerUnavailable:
            # The relay is down: do not wait a timeout per message; the rest go next pass.
            rest = message_ids[index + 1:]
            _release(core, rest, owner)
            result.deferred += len(rest)
            break
    return result


def claim_messages(core: Core, now: datetime, owner: str, batch: int) -> list[int]:
    """Lease up to `batch` unsent due messages nobody holds (SKIP LOCKED on PostgreSQL)."""
    with core.uow() as uow:
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now,
                   or_(OutboxMessage.lock_expires_at.is_(None),
                       OutboxMessage.lock_expires_at < now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(batch)
        )
        if uow.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(uow.session.scalars(query))
        if ids:
            uow.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                .values(lock_owner=owner,
                        lock_expires_at=now + timedelta(seconds=core.settings.lease_seconds))
                .execution_options(synchronize_session=False))
        uow.commit()
        return ids


def _send_one(core: Core, mailer: SmtpMailer, message_id: int, owner: str, now: datetime,
              result: SendResult) -> None:
    """Send one leased message; a lost lease (someone else took it) means do nothing."""
    with core.uow() as uow:
        session = uow.session
        # The row stays locked (FOR UPDATE on PostgreSQL, the write lock on SQLite) while
        # the relay takes the message, so no other scheduler can lease it meanwhile.
        query = select(OutboxMessage).where(OutboxMessage.id == message_id,
                                            OutboxMessage.lock_owner == owner,
                                            OutboxMessage.sent_at.is_(None))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        message = session.scalars(query).first()
        if message is None:
            result.deferred += 1
            return
        message.attempts += 1
        message.lock_owner = message.lock_expires_at = None
        try:
            mailer.send(key=message.key, to_address=message.to_address,
                        subject=message.subject, body=message.body, now=now)
        except SendError as exc:
            message.last_error = str(exc)[:2000]
            message.next_attempt_at = now + retry_delay(message.attempts)
            uow.commit()
            result.failed += 1
            if isinstance(exc, ServerUnavailable):
                raise  # send_due defers the rest of the batch
            return
        # The one gap no database can close: a crash after the relay took the message and
        # before this commit leaves the row unsent, and once the lease expires another pass
        # sends it again (same Message-ID). Sent at least once, and twice only in that case.
        message.sent_at = now
        message.last_error = None
        uow.commit()
        result.sent += 1


def _release(core: Core, message_ids: list[int], owner: str) -> None:
    """Give back the leases of messages this pass will not try, for the next pass."""
    if not message_ids:
        return
    with core.uow() as uow:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.lock_owner == owner)
            .values(lock_owner=None, lock_expires_at=None)
            .execution_options(synchronize_session=False))
        uow.commit()
