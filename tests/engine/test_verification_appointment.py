"""A judicial record dossier that needs the police's verification gets the time the law
allows for that path (Law on Judicial Records 2009 art. 48: 15 days instead of 10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import Dossier, DueItem, Event
from engine.services import dossiers, portal
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, ready_tasks, receive

VERIFY = step_data("check_records", "2026-11-23") | {"needs_verification": True}


def _appointment_items(core: Core, dossier_id: int) -> list[datetime]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(DueItem.due_at).where(
            DueItem.dossier_id == dossier_id, DueItem.kind == "appointment")
            .order_by(DueItem.level)))


def _extensions(core: Core, dossier_id: int) -> list[Event]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(Event).where(
            Event.dossier_id == dossier_id, Event.kind == "appointment_extended")))


def test_the_verification_path_gets_fifteen_working_days_from_the_receipt(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00 (8 days)
    complete(core, dossier.code, "check_records", at(23, 10), VERIFY)
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == [
        "request_police_verification"]
    # 15 working days from Monday 23/11 09:00, skipping the weekends and Tuesday 24/11
    # (Vietnam Cultural Day): Tuesday 15/12 09:00.
    moved = dossiers.get_dossier(core, dossier.code).dossier
    assert moved.appointment_at == at(15, 9, month=12)
    assert moved.original_appointment_at == at(4, 9, month=12)  # what the receipt promised
    [extended] = _extensions(core, dossier.id)
    assert (extended.task_name, extended.actor, extended.at) == (
        "Gửi yêu cầu xác minh và nhận kết quả xác minh từ Công an tỉnh", "specialist",
        at(23, 10))
    assert (extended.data["working_days"], extended.data["step"]) == (
        15.0, "request_police_verification")
    assert datetime.fromisoformat(extended.data["appointment_at"]) == at(15, 9, month=12)
    assert datetime.fromisoformat(extended.data["previous_appointment_at"]) == at(
        4, 9, month=12)
    # The citizen's lookup shows the new date.
    assert portal.public_dossier(core, dossier.code).dossier.appointment_at == at(
        15, 9, month=12)


def test_the_appointment_escalation_follows_the_new_date(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    before = _appointment_items(core, dossier.id)
    assert at(4, 9, month=12) in before
    complete(core, dossier.code, "check_records", at(23, 10), VERIFY)
    after = _appointment_items(core, dossier.id)
    assert len(after) == len(before)
    assert at(15, 9, month=12) in after and at(4, 9, month=12) not in after
    assert min(after) > min(before)  # the warning moved too


def test_a_supplement_pause_before_the_verification_is_kept_on_top(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    # Paused 23/11 10:00 → 26/11 10:00: two working days (24/11 is a holiday).
    complete(core, dossier.code, "receive_supplement", at(26, 10))
    assert dossiers.get_dossier(core, dossier.code).dossier.appointment_at == at(
        8, 9, month=12)
    complete(core, dossier.code, "check_records", at(26, 11),
             step_data("check_records", "2026-11-26") | {"needs_verification": True})
    # 15 working days from the receipt (15/12 09:00) plus the two paused: 17/12 09:00.
    detail = dossiers.get_dossier(core, dossier.code).dossier
    assert detail.appointment_at == at(17, 9, month=12)
    assert [datetime.fromisoformat(e.data["previous_appointment_at"])
            for e in _extensions(core, dossier.id)] == [at(8, 9, month=12)]
    assert at(17, 9, month=12) in _appointment_items(core, dossier.id)


def test_a_dossier_without_verification_keeps_its_eight_days(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10))
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == ["draft_certificate"]
    assert dossiers.get_dossier(core, dossier.code).dossier.appointment_at == at(
        4, 9, month=12)
    assert _extensions(core, dossier.id) == []


def test_a_dossier_received_after_the_cut_off_counts_its_fifteen_days_from_next_morning(
        core: Core) -> None:
    dossier = receive(core, at(23, 15, 30))  # counted from Wednesday 25/11 07:30
    complete(core, dossier.code, "check_records", at(25, 9), VERIFY)
    assert dossiers.get_dossier(core, dossier.code).dossier.appointment_at == at(
        16, 7, 30, month=12)


def test_a_verified_dossier_resolved_within_fifteen_days_is_on_time(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10), VERIFY)
    complete(core, dossier.code, "request_police_verification", at(8, 10, month=12), {
        "verification_request_date": "2026-11-23", "verification_reply_number": "15/CA-PV06",
        "verification_reply_date": "2026-12-08", "verification_result": "no_record"})
    for bpmn_id in ("draft_certificate", "review", "sign", "return_result"):
        complete(core, dossier.code, bpmn_id, at(15, 8, month=12))
    with_verification = dossiers.get_dossier(core, dossier.code).dossier
    assert (with_verification.status, with_verification.outcome) == (10, "on_time")


def test_a_calendar_change_keeps_the_extended_appointment(core: Core) -> None:
    from engine.services import working_days

    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10), VERIFY)
    # A day off on Wednesday 9/12: the 15 days end one working day later.
    working_days.set_override(core, at(9, 9, month=12).date(), False, "Nghỉ bù", "admin",
                              at(23, 11))
    with core.uow() as uow:
        moved = uow.session.get_one(Dossier, dossier.id)
    assert moved.appointment_at == at(16, 9, month=12)
