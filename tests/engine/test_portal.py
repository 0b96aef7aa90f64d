"""The citizen portal's use cases on a real database: submit, look up, answer, rate."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import (
    Attachment,
    Dossier,
    DossierNotice,
    Event,
    Notification,
    OutboxMessage,
    Rating,
    User,
)
from engine.services import portal, ratings
from engine.services.online_submission import NOT_RECEIVED, Submission, submit_online
from engine.services.portal import Upload
from engine.services.supplement_answers import answer_supplement
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import APPLICANT, complete, receive
from workflows.statuses import DossierStatus

PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JUDICIAL = "judicial_record_certificate"
MAIN_PATH = ["check_records", "draft_certificate", "review", "sign", "return_result"]


def pdf(name: str = "scan.pdf", content: bytes = PDF) -> Upload:
    """An uploaded file."""
    return Upload(io.BytesIO(content), name)


def submission(**overrides: object) -> Submission:
    """A complete online submission of a judicial record request, every document attached."""
    values: dict[str, object] = {
        "procedure_code": JUDICIAL,
        "applicant": {**APPLICANT, "birth_date": "1989-05-17", "email": "an@example.vn"},
        "documents": {0: [pdf("to khai.pdf")], 1: [pdf("cccd.pdf"), pdf("cccd-2.png", PNG)],
                      **{i: [pdf(f"giay to {i}.pdf")] for i in (2, 3, 4)}},
        "return_method": "post", "return_address": "12 Lý Thường Kiệt, Hà Nội",
        "consent": True, **overrides}
    return Submission(**values)  # type: ignore[arg-type]


def test_an_online_submission_waits_for_reception_with_a_code_and_its_files(core: Core) -> None:
    dossier = submit_online(core, submission(), MONDAY_9AM)
    assert dossier.code == "000.00.18.H57-261123-0001"
    assert (dossier.status, dossier.channel, dossier.outcome, dossier.instance_id) == (
        DossierStatus.SUBMITTED_ONLINE, "online", NOT_RECEIVED, None)
    assert dossier.submitted_at == dossier.received_at == MONDAY_9AM
    assert dossier.appointment_at == dossier.original_appointment_at == at(4, 9, month=12)
    assert dossier.documents_received == [{"index": i, "copies": 1} for i in range(5)]
    assert dossier.applicant_birth_date == date(1989, 5, 17)
    assert (dossier.return_method, dossier.return_address) == ("post", "12 Lý Thường Kiệt, Hà Nội")
    with core.uow() as uow:
        files = uow.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        [mail] = uow.session.scalars(select(OutboxMessage)).all()
        kinds = uow.session.scalars(select(Event.kind)).all()
    assert [(f.document_index, f.purpose, f.uploaded_by) for f in files] == [
        (i, "intake", None) for i in (0, 1, 1, 2, 3, 4)]
    assert kinds == ["submitted_online"]
    assert mail.to_address == "an@example.vn" and dossier.code in mail.subject
    assert portal.lookup_url(core, dossier.code) in mail.body
    # The same daily sequence as reception's: the next dossier received gets 0002.
    assert receive(core, MONDAY_9AM + timedelta(minutes=1)).code.endswith("-0002")


def test_a_bad_field_or_file_leaves_nothing_behind(core: Core) -> None:
    bad = submission(applicant={**APPLICANT, "id_number": "12", "birth_date": "2030-01-01"},
                     documents={0: [pdf("virus.exe", b"MZ")], 2: [pdf()], 3: [pdf()],
                                4: [pdf()]},
                     return_address="", consent=False)
    with pytest.raises(InvalidInput) as caught:
        submit_online(core, bad, MONDAY_9AM, lang="en")
    fields = caught.value.fields
    assert set(fields) == {"id_number", "birth_date", "document_0", "document_1",
                           "return_address", "consent"}
    assert "PDF, JPG" in fields["document_0"] and "attach" in fields["document_1"]
    assert "after today" in fields["birth_date"]
    with core.uow() as uow:
        assert not uow.session.scalars(select(Dossier)).all()
        assert not uow.session.scalars(select(Attachment)).all()
    assert submit_online(core, submission(), MONDAY_9AM).code.endswith("-0001")  # no gap


def test_an_electronic_result_is_offered_only_for_full_online_procedures(core: Core) -> None:
    assert submit_online(core, submission(return_method="online"), MONDAY_9AM).return_method \
        == "online"
    partial = submission(procedure_code="notary_office_registration", return_method="online",
                         documents={i: [pdf()] for i in range(4)})
    with pytest.raises(InvalidInput) as caught:
        submit_online(core, partial, MONDAY_9AM)
    assert set(caught.value.fields) == {"return_method"}


def test_a_procedure_not_offered_online_is_refused(core: Core) -> None:
    with pytest.raises(Conflict):
        submit_online(core, submission(procedure_code="incoming_document"), MONDAY_9AM)
    with pytest.raises(NotFound):
        submit_online(core, submission(procedure_code="nope"), MONDAY_9AM)


def test_lookup_needs_both_the_code_and_the_id_number(core: Core) -> None:
    code = submit_online(core, submission(), MONDAY_9AM).code
    messages = set()
    for wrong_code, wrong_id in ((code[:-1] + "9", APPLICANT["id_number"]),
                                 (code, "001089012346"), (code, ""), ("", "")):
        with pytest.raises(NotFound) as caught:
            portal.check_access(core, wrong_code, wrong_id)
        messages.add(caught.value.message)
    assert messages == {portal.NOT_FOUND}
    assert portal.check_access(core, f" {code.lower()} ", APPLICANT["id_number"]) == code
    view = portal.public_dossier(core, code)
    assert [e.kind for e in view.history] == ["submitted_online"]
    assert len(view.uploads) == 6 and not view.rated and view.open_supplement is None


def _sent_back_before_acceptance(core: Core) -> str:
    """An online dossier reception sent back for a supplement before accepting it."""
    dossier = submit_online(core, submission(), MONDAY_9AM)
    with core.uow() as uow:
        uow.session.get_one(Dossier, dossier.id).status = int(
            DossierStatus.SUPPLEMENT_REQUESTED)
        uow.session.add(DossierNotice(dossier_id=dossier.id, kind="supplement",
                                      items=["Bản chụp CCCD rõ nét"], reason="",
                                      issued_at=at(23, 10), issued_by="reception"))
        uow.commit()
    return dossier.code


def test_a_supplement_answered_before_acceptance_returns_to_receptions_queue(
        core: Core) -> None:
    code = _sent_back_before_acceptance(core)
    assert portal.public_dossier(core, code).open_supplement is not None
    answer_supplement(core, code, note="Gửi lại bản chụp rõ", files=[pdf("cccd-ro.pdf")],
                      now=at(23, 14))
    view = portal.public_dossier(core, code)
    assert view.dossier.status == DossierStatus.SUBMITTED_ONLINE
    assert view.open_supplement is None
    with core.uow() as uow:
        notice = uow.session.scalars(select(DossierNotice)).one()
        purposes = uow.session.scalars(select(Attachment.purpose)).all()
    assert (notice.answer_note, notice.answered_at) == ("Gửi lại bản chụp rõ", at(23, 14))
    assert purposes.count("supplement") == 1
    assert [e.kind for e in view.history][-2:] == ["supplement_answered", "status_changed"]


def test_a_supplement_answered_during_processing_waits_for_reception(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             {"dossier_complete": False, "missing_documents": "Bản chụp CCCD",
              "residence_history": "one_province", "needs_verification": False})
    with pytest.raises(InvalidInput) as caught:
        answer_supplement(core, dossier.code, note="", files=[], now=at(23, 14), lang="en")
    assert "Attach" in caught.value.fields["files"]
    answer_supplement(core, dossier.code, note="", files=[pdf()], now=at(23, 14))
    view = portal.public_dossier(core, dossier.code)
    assert view.dossier.status == DossierStatus.SUPPLEMENT_REQUESTED
    assert view.open_supplement is not None and view.open_supplement.answer_note == ""
    with core.uow() as uow:
        [reception_id] = uow.session.scalars(select(User.id).where(
            User.username == "reception")).all()
        notified = uow.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notified] == [(reception_id, "supplement_answered")]
    with pytest.raises(Conflict):
        answer_supplement(core, dossier.code, note="lần hai", files=[], now=at(23, 15))
    # Reception completes its step: the request counts as answered, the clock runs again.
    complete(core, dossier.code, "receive_supplement", at(24, 10))
    assert portal.public_dossier(core, dossier.code).open_supplement is None


def test_a_dossier_is_rated_once_after_its_result_is_returned(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with pytest.raises(Conflict):
        ratings.rate(core, dossier.code, {"overall": "satisfied"}, at(23, 10))
    moment = MONDAY_9AM
    for bpmn_id in MAIN_PATH:
        moment += timedelta(hours=1)
        complete(core, dossier.code, bpmn_id, moment)
    with pytest.raises(InvalidInput) as caught:
        ratings.rate(core, dossier.code, {"overall": "great", "contacts": "satisfied"},
                     at(24, 9), lang="en")
    assert set(caught.value.fields) == {"overall"}
    ratings.rate(core, dossier.code, {"overall": "very_satisfied", "contacts": "satisfied",
                                      "comment": " Nhanh, chu đáo "}, at(24, 9))
    with pytest.raises(Conflict) as again:
        ratings.rate(core, dossier.code, {"overall": "not_satisfied"}, at(24, 10))
    assert again.value.message == ratings.ALREADY_RATED
    with core.uow() as uow:
        rating = uow.session.scalars(select(Rating)).one()
    assert (rating.overall, rating.answers, rating.comment) == (
        "very_satisfied", {"contacts": "satisfied"}, "Nhanh, chu đáo")
    assert portal.public_dossier(core, dossier.code).rated


def test_the_rating_questions_form_a_valid_schema_with_both_languages() -> None:
    from workflows.forms import check_schema
    from workflows.rating import ANSWERS, QUESTIONS, RATING_SCHEMA

    check_schema(RATING_SCHEMA)
    assert len({q for q, _, _ in QUESTIONS}) == len(QUESTIONS)
    assert all(vi and en and vi != en for _, vi, en in (*QUESTIONS, *ANSWERS))
