"""The event log is tamper-evident: a hash chain that `verify` recomputes link by link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from engine import audit
from engine.bootstrap import Core
from engine.models import AuditSeal, Event
from tests.conftest import MONDAY_9AM
from tests.engine.walk import complete, receive

LATER = MONDAY_9AM + timedelta(hours=1)


def _walk(core: Core) -> int:
    """A dossier received and one step completed; the number of events written."""
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", LATER)
    with core.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Event)) or 0


def _event_ids(core: Core) -> list[int]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(Event.id).order_by(Event.id)))


def test_every_event_is_sealed_once_and_the_chain_holds(core: Core) -> None:
    written = _walk(core)
    assert written >= 3
    assert audit.verify(core) == audit.Verdict(sealed=0, unsealed=written, broken=None,
                                               head=audit.GENESIS)
    assert audit.seal(core, LATER) == written
    assert audit.seal(core, LATER) == 0
    verdict = audit.verify(core)
    assert (verdict.sealed, verdict.unsealed, verdict.broken) == (written, 0, None)

    more = _walk(core) - written  # a second dossier: the chain goes on from its head
    assert audit.verify(core).unsealed == more
    assert audit.seal(core, LATER) == more
    verdict = audit.verify(core)
    assert (verdict.sealed, verdict.unsealed, verdict.intact) == (written + more, 0, True)
    with core.uow() as uow:
        links = uow.session.scalars(select(AuditSeal).order_by(AuditSeal.seq)).all()
    assert [link.seq for link in links] == list(range(1, written + more + 1))
    assert [link.event_id for link in links] == _event_ids(core)
    assert links[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(links, links[1:], strict=False))
    assert audit.verify(core).head == links[-1].hash


def test_a_row_altered_by_hand_is_the_first_broken_link(core: Core) -> None:
    written = _walk(core)
    audit.seal(core, LATER)
    target = _event_ids(core)[1]
    with core.db.begin() as conn:
        conn.execute(update(Event).where(Event.id == target)
                     .values(actor="someone-else"))
    verdict = audit.verify(core)
    assert verdict.broken == audit.Break(2, target, "the event was altered after it was sealed")
    assert verdict.sealed == 2  # the walk stops at the first broken link
    assert str(verdict.broken) == (f"link 2 (event {target}): the event was altered after it "
                                   "was sealed")
    assert written > 2


def test_altered_data_or_time_is_found_too(core: Core) -> None:
    _walk(core)
    audit.seal(core, LATER)
    first, second = _event_ids(core)[:2]
    with core.db.begin() as conn:
        conn.execute(update(Event).where(Event.id == second)
                     .values(at=LATER + timedelta(days=1)))
    assert audit.verify(core).broken == audit.Break(
        2, second, "the event was altered after it was sealed")
    with core.db.begin() as conn:
        row = conn.execute(select(Event.data).where(Event.id == first)).scalar_one()
        conn.execute(update(Event).where(Event.id == first)
                     .values(data={**row, "note": "added later"}))
    assert audit.verify(core).broken == audit.Break(
        1, first, "the event was altered after it was sealed")


def test_a_removed_event_or_link_breaks_the_chain(core: Core) -> None:
    _walk(core)
    audit.seal(core, LATER)
    ids = _event_ids(core)
    with core.db.begin() as conn:  # removing an event needs its link gone first
        conn.execute(delete(AuditSeal).where(AuditSeal.event_id == ids[1]))
        conn.execute(delete(Event).where(Event.id == ids[1]))
    broken = audit.verify(core).broken
    assert broken is not None and broken.seq == 2
    assert "links were removed" in broken.reason


def test_a_link_rewritten_to_match_an_altered_event_breaks_the_next_link(core: Core) -> None:
    _walk(core)
    audit.seal(core, LATER)
    ids = _event_ids(core)
    with core.db.begin() as conn:
        conn.execute(update(Event).where(Event.id == ids[0]).values(actor="forger"))
        row = conn.execute(select(*audit._COLUMNS).where(Event.id == ids[0])).one()
        conn.execute(update(AuditSeal).where(AuditSeal.seq == 1)
                     .values(hash=audit.link_hash(audit.GENESIS, row)))
    assert audit.verify(core).broken == audit.Break(
        2, ids[1], "the link does not follow the one before: links were altered, removed or "
                   "inserted")


def test_the_scheduler_pass_seals_what_was_written_since_the_last_one(core: Core) -> None:
    from engine.scheduler import audit_pass

    written = _walk(core)
    assert audit_pass(core, lambda: LATER) == written
    assert audit_pass(core, lambda: LATER) == 0
    assert audit.verify(core).unsealed == 0
