"""The reception desk: receipt with a checklist, supplement requests, refusals, the online
queue, the printed forms, and the result returned by post."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import inspect as sa_inspect

from engine.bootstrap import Core
from engine.errors import Conflict, InvalidInput
from engine.models import (
    Attachment,
    Dossier,
    DossierNotice,
    DueItem,
    Event,
    OutboxMessage,
    Procedure,
    ProcessInstance,
)
from engine.projections import DEADLINE
from engine.services import attachments, dossiers, papers, reception, submissions
from engine.services.dossiers import Upload
from engine.services.escalation_settings import set_policy
from engine.services.online_submission import Submission, submit_online
from engine.services.portal import Upload as PortalUpload
from engine.services.result_return import return_record
from engine.services.working_days import set_override
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import (
    APPLICANT,
    JUDICIAL_RECORD,
    complete,
    form_of,
    ready_tasks,
    receive,
)
from workflows.forms import field_errors

PERSON = {**APPLICANT, "birth_date": "1989-05-17", "email": "an@example.vn"}
ALL_FIVE = [{"index": i, "copies": 1} for i in range(5)]
PDF = b"%PDF-1.4\n% scan\n%%EOF\n"


def _counts(core: Core) -> tuple[int, ...]:
    with core.uow() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(table)) or 0
                     for table in (Dossier, DossierNotice, Event, Attachment, ProcessInstance,
                                   OutboxMessage))


def _desk(core: Core, now: datetime = MONDAY_9AM, **overrides: Any) -> Dossier:
    arguments: dict[str, Any] = {
        "procedure_code": JUDICIAL_RECORD, "applicant": PERSON, "channel": "in_person",
        "actor": "reception", "documents_received": ALL_FIVE, "return_method": "in_person",
        **overrides}
    return dossiers.receive_dossier(core, now=now, **arguments)


def test_a_dossier_is_received_with_its_checklist_uploads_and_return_by_post(
        core: Core) -> None:
    stored = attachments.store_file(core, io.BytesIO(PDF), "to khai.pdf")
    dossier = _desk(core, uploads=[Upload(0, stored)], return_method="post",
                    return_address="5 Tràng Tiền, Hà Nội",
                    documents_received=[{**row, "copies": 2 if row["index"] == 0 else 1}
                                        for row in ALL_FIVE])
    detail = dossiers.get_dossier(core, dossier.code)
    d = detail.dossier
    assert d.applicant_birth_date is not None and d.applicant_birth_date.isoformat() == \
        "1989-05-17"
    assert d.documents_received is not None and d.documents_received[0] == {"index": 0,
                                                                             "copies": 2}
    assert (d.return_method, d.return_address) == ("post", "5 Tràng Tiền, Hà Nội")
    assert [(a.purpose, a.document_index, a.filename) for a in detail.attachments] == [
        ("intake", 0, "to khai.pdf")]
    assert d.instance_id is not None and [t.bpmn_id for t in ready_tasks(core, d.code)] == [
        "check_records"]


def test_a_missing_required_document_is_refused_with_a_message_beside_it(core: Core) -> None:
    before = _counts(core)
    with pytest.raises(InvalidInput) as caught:
        _desk(core, documents_received=ALL_FIVE[1:], lang="en")
    assert "supplement" in caught.value.fields["document_0"]
    assert _counts(core) == before


@pytest.mark.parametrize(("change", "field"), [
    ({"applicant": {**PERSON, "birth_date": "2030-01-01"}}, "birth_date"),
    ({"applicant": {k: v for k, v in PERSON.items() if k != "birth_date"}}, "birth_date"),
    ({"return_method": "post", "return_address": ""}, "return_address"),
    ({"return_method": None}, "return_method"),
])
def test_bad_intake_details_are_refused_field_by_field(core: Core, change: dict[str, Any],
                                                       field: str) -> None:
    before = _counts(core)
    with pytest.raises(InvalidInput) as caught:
        _desk(core, **change)
    assert field in caught.value.fields
    assert _counts(core) == before


def test_callers_without_a_checklist_still_receive_without_a_birth_date(core: Core) -> None:
    assert receive(core, MONDAY_9AM).status == 4


def test_an_incomplete_dossier_gets_a_supplement_request_not_a_receipt(core: Core) -> None:
    dossier, notice = reception.request_supplement_at_desk(
        core, procedure_code=JUDICIAL_RECORD, applicant=PERSON, channel="in_person",
        documents_received=ALL_FIVE[1:], note="Ảnh chân dung 4x6", actor="reception",
        now=MONDAY_9AM)
    assert (dossier.status, dossier.outcome, dossier.instance_id) == (5, "not_received", None)
    assert dossier.code == "000.00.18.H57-261123-0001"
    assert notice.items[0].startswith("Tờ khai yêu cầu") and notice.items[-1] == \
        "Ảnh chân dung 4x6"
    assert len(notice.items) == 2  # the optional documents are not asked for
    pdf = papers.notice_pdf(core, dossier.code, notice.id)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(Exception, match="receipt"):
        papers.receipt_slip(core, dossier.code)
    assert receive(core, MONDAY_9AM).code.endswith("-0002")  # the same daily sequence


def test_an_answered_supplement_is_not_accepted_while_a_required_document_lacks(
        core: Core) -> None:
    from engine.services.supplement_answers import answer_supplement

    missing_third = [row for row in ALL_FIVE if row["index"] != 2]
    dossier, _ = reception.request_supplement_at_desk(
        core, procedure_code=JUDICIAL_RECORD, applicant=PERSON, channel="in_person",
        documents_received=missing_third, note="", actor="reception", now=MONDAY_9AM)
    answer_supplement(core, dossier.code, note="", now=at(24, 10),
                      files=[PortalUpload(io.BytesIO(PDF), "tam-tru.pdf")])
    before = _counts(core)
    with pytest.raises(InvalidInput) as caught:
        submissions.accept_submission(core, dossier.code, actor="reception", now=at(25, 9))
    assert caught.value.fields["documents_received"].startswith(
        "Thiếu giấy tờ bắt buộc: Bản chụp giấy tờ chứng minh nơi thường trú")
    assert _counts(core) == before
    assert [d.code for d, _ in submissions.list_submissions(core)] == [dossier.code]
    accepted = submissions.accept_submission(core, dossier.code, actor="reception",
                                             now=at(25, 9), ticked=[2])
    assert accepted.status == 4 and accepted.documents_received == ALL_FIVE


def test_a_supplement_request_with_nothing_missing_is_refused(core: Core) -> None:
    before = _counts(core)
    with pytest.raises(InvalidInput) as caught:
        reception.request_supplement_at_desk(
            core, procedure_code=JUDICIAL_RECORD, applicant=PERSON, channel="in_person",
            documents_received=ALL_FIVE, note="  ", actor="reception", now=MONDAY_9AM)
    assert "supplement_note" in caught.value.fields
    assert _counts(core) == before


def test_an_out_of_scope_dossier_is_refused_with_the_reason(core: Core) -> None:
    dossier, notice = reception.refuse_at_desk(
        core, procedure_code=JUDICIAL_RECORD, applicant=PERSON, channel="post",
        reason="Không thuộc thẩm quyền của Sở Tư pháp", actor="reception", now=MONDAY_9AM)
    assert (dossier.status, dossier.outcome, dossier.instance_id) == (3, "not_received", None)
    assert (notice.kind, notice.reason) == ("refusal", "Không thuộc thẩm quyền của Sở Tư pháp")
    assert papers.notice_pdf(core, dossier.code, notice.id).startswith(b"%PDF")
    with pytest.raises(InvalidInput):
        reception.refuse_at_desk(core, procedure_code=JUDICIAL_RECORD, applicant=PERSON,
                                 channel="post", reason="", actor="reception", now=MONDAY_9AM)


def submitted(core: Core, now: datetime, code: str = "000.00.18.H57-261120-0001") -> str:
    """A dossier as the citizen portal leaves it: status 1, no process, not received."""
    with core.uow() as uow:
        procedure = uow.session.scalars(
            select(Procedure).where(Procedure.code == JUDICIAL_RECORD)).one()
        assert procedure.latest_version_id is not None
        uow.session.add(Dossier(
            code=code, procedure_id=procedure.id,
            procedure_version_id=procedure.latest_version_id, applicant_name="Trần Thị Bình",
            applicant_id_number="001190000001", applicant_email="binh@example.vn",
            channel="online", status=1, outcome="not_received", submitted_at=now,
            received_at=now, appointment_at=now + timedelta(days=14),
            original_appointment_at=now + timedelta(days=14), supplement_rounds=0,
            documents_received=ALL_FIVE[:3]))
        uow.commit()
    return code


def test_accepting_an_online_submission_counts_the_appointment_from_acceptance(
        core: Core) -> None:
    code = submitted(core, at(20, 16))
    older = submitted(core, at(19, 16), "000.00.18.H57-261119-0001")
    assert [d.code for d, _ in submissions.list_submissions(core)] == [older, code]
    accepted = submissions.accept_submission(core, code, actor="reception", now=MONDAY_9AM)
    assert (accepted.received_at, accepted.outcome) == (MONDAY_9AM, None)
    assert accepted.appointment_at == at(4, 9, month=12)  # 8 working days, the 24th is off
    assert accepted.status == 4 and [t.bpmn_id for t in ready_tasks(core, code)] == [
        "check_records"]
    assert [d.code for d, _ in submissions.list_submissions(core)] == [older]
    with pytest.raises(Conflict):
        submissions.accept_submission(core, code, actor="reception", now=MONDAY_9AM)
    assert papers.receipt_slip(core, code).startswith(b"%PDF")


def test_an_online_submission_can_be_sent_back_or_refused_and_the_applicant_is_told(
        core: Core) -> None:
    first = submitted(core, at(20, 16))
    second = submitted(core, at(20, 17), "000.00.18.H57-261120-0002")
    notice = submissions.request_supplement_online(
        core, first, items=["Bản chụp CCCD rõ nét\nTờ khai có chữ ký"], actor="reception",
        now=MONDAY_9AM)
    assert notice.items == ["Bản chụp CCCD rõ nét", "Tờ khai có chữ ký"]
    submissions.refuse_submission(core, second, reason="Người yêu cầu không cư trú tại tỉnh",
                                  actor="reception", now=MONDAY_9AM)
    statuses = {d.code: d.status for d in (dossiers.get_dossier(core, c).dossier
                                           for c in (first, second))}
    assert statuses == {first: 5, second: 3}
    with core.uow() as uow:
        subjects = sorted(uow.session.scalars(select(OutboxMessage.subject)))
    assert len(subjects) == 2 and "Từ chối" in subjects[0] and "bổ sung" in subjects[1]
    before = _counts(core)
    with pytest.raises(Conflict):
        submissions.refuse_submission(core, first, reason="Quá hạn bổ sung",
                                      actor="reception", now=MONDAY_9AM)
    with pytest.raises(InvalidInput):
        submissions.request_supplement_online(core, second, items=[" "], actor="reception",
                                              now=MONDAY_9AM)
    assert _counts(core) == before


def test_a_result_returned_by_post_keeps_the_address_and_tracking_number(core: Core) -> None:
    dossier = _desk(core)
    for step in ["check_records", "draft_certificate", "review", "sign"]:
        complete(core, dossier.code, step, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    form = form_of(core, dossier.code, task.form_key or "")
    post = {"return_method": "post", "receiver_name": "Nguyễn Văn An",
            "returned_date": "2026-11-23"}
    assert set(field_errors(form, post, "en")) == {"postal_address", "postal_tracking"}
    data = {**post, "postal_address": "5 Tràng Tiền, Hà Nội", "postal_tracking": "EB123456789VN"}
    complete(core, dossier.code, "return_result", MONDAY_9AM, data)
    detail = dossiers.get_dossier(core, dossier.code)
    d = detail.dossier
    assert (d.status, d.return_method, d.return_address, d.postal_tracking) == (
        10, "post", "5 Tràng Tiền, Hà Nội", "EB123456789VN")
    record = return_record(detail.events)
    assert record is not None and record.tracking == "EB123456789VN"


def test_a_dossiers_detail_leaves_its_versions_forms_and_bpmn_unread(core: Core) -> None:
    code = receive(core, MONDAY_9AM).code
    version = dossiers.get_dossier(core, code).version
    assert version.version == 1 and version.meta["code"] == JUDICIAL_RECORD
    unread = sa_inspect(version).unloaded
    assert {"forms", "bpmn_xml"} <= unread
    assert "bpmn_xml" not in sa_inspect(
        dossiers.get_dossier(core, code, with_bpmn=True).version).unloaded


def _returned_and_stored(core: Core, dossier: Dossier) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every column of the dossier a service returned and as read from the database; instants
    with their offset (both in UTC, as the database gives them)."""
    def columns(row: Dossier) -> dict[str, Any]:
        values = {c.key: getattr(row, c.key) for c in Dossier.__table__.c}
        return {k: (v, v.utcoffset()) if isinstance(v, datetime) else v
                for k, v in values.items()}

    with core.uow() as uow:
        return columns(dossier), columns(uow.session.get_one(Dossier, dossier.id))


def test_a_receipt_answers_with_the_dossier_as_stored_in_few_statements(core: Core) -> None:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(core.db, "before_cursor_execute", count)
    try:
        dossier = _desk(core)
    finally:
        event.remove(core.db, "before_cursor_execute", count)
    returned, stored = _returned_and_stored(core, dossier)
    assert returned == stored and stored["status"] == 4 and stored["instance_id"]
    # One read (procedure, version, policy and calendar together), then the writes: the
    # sequence, the process, the dossier, its step, due items, status and event. Not read
    # back: the projections' changes are set on the dossier returned.
    statements = [s for s in statements if s != "BEGIN"]
    assert statements.count("SELECT") == 1 and len(statements) <= 10, statements


def test_a_receipt_counts_with_the_calendar_and_policy_set_just_before(core: Core) -> None:
    def step_levels(dossier: Dossier) -> list[int]:
        with core.uow() as uow:
            return list(uow.session.scalars(
                select(DueItem.level).where(DueItem.dossier_id == dossier.id,
                                            DueItem.kind == DEADLINE).order_by(DueItem.level)))

    before = _desk(core)
    assert step_levels(before) == [0, 1, 2, 3]  # procedure.toml's policy
    set_override(core, date(2026, 11, 25), False, "Nghỉ bù", "admin", at(23, 8))
    set_policy(core, JUDICIAL_RECORD, {
        "warn_before_working_days": 0.5, "repeat_after_working_days": 2,
        "levels": ["officer"]}, "admin", at(23, 8))
    after = _desk(core)
    assert after.appointment_at > before.appointment_at  # a working day later
    assert step_levels(after) == [0, 1]


def test_an_accepted_online_refused_or_sent_back_dossier_is_answered_as_stored(
        core: Core) -> None:
    code = submitted(core, at(20, 16))
    accepted = submissions.accept_submission(core, code, actor="reception", now=MONDAY_9AM)
    returned, stored = _returned_and_stored(core, accepted)
    assert returned == stored and stored["status"] == 4
    online = submit_online(core, Submission(
        procedure_code=JUDICIAL_RECORD, applicant=PERSON,
        documents={i: [PortalUpload(io.BytesIO(PDF), f"giay to {i}.pdf")] for i in range(5)},
        return_method="post", return_address="12 Lý Thường Kiệt, Hà Nội", consent=True),
        MONDAY_9AM)
    refused, _ = reception.refuse_at_desk(
        core, procedure_code=JUDICIAL_RECORD, applicant=PERSON, channel="in_person",
        reason="Không thuộc thẩm quyền", actor="reception", now=MONDAY_9AM)
    for dossier in (online, refused):
        returned, stored = _returned_and_stored(core, dossier)
        assert returned == stored
