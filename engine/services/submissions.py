"""The queue of online submissions: reception accepts, sends back or refuses each one.

The citizen portal creates them with status 1 (submitted online) and no process; accepting
starts the process with the appointment date counted from the acceptance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput
from engine.lookups import dossier_by_code
from engine.models import Dossier, DossierNotice, Procedure
from engine.projections import event, write_events
from engine.services import outbox
from engine.services.dossiers import prepare_by_id, start_process
from engine.services.reception import issue_notice, message, note_lines, reason_errors
from workflows.deadlines import appointment_at
from workflows.intake import checklist, missing_documents
from workflows.statuses import DossierStatus


def list_submissions(core: Core, limit: int = 200) -> list[tuple[Dossier, Procedure]]:
    """Dossiers citizens submitted online, waiting for reception: the oldest first."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Dossier, Procedure).join(Procedure, Procedure.id == Dossier.procedure_id)
            .where(Dossier.status == int(DossierStatus.SUBMITTED_ONLINE))
            .order_by(Dossier.submitted_at, Dossier.id).limit(limit)).all()
        return [(d, p) for d, p in rows]


def _take_submission(session: Session, code: str, status: DossierStatus) -> Dossier:
    """Move a waiting online submission to `status`, or Conflict if someone acted first."""
    dossier = dossier_by_code(session, code)
    moved = session.execute(
        update(Dossier).where(Dossier.id == dossier.id,
                              Dossier.status == int(DossierStatus.SUBMITTED_ONLINE))
        .values(status=int(status)).execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(N_("This dossier is no longer waiting for receipt: someone dealt with "
                          "it meanwhile. Reload the page."))
    session.refresh(dossier)
    return dossier


def accept_submission(core: Core, code: str, *, actor: str, now: datetime,
                      ticked: Sequence[int] = (), lang: str = "vi") -> Dossier:
    """Receive an online submission: the appointment counts from now; start its process.

    `ticked` are the checklist's documents reception now marks received (the applicant's
    answer to a supplement request may bring them); a required one still missing refuses.
    """
    with core.uow() as uow:
        session = uow.session
        dossier = dossier_by_code(session, code)
        prepared = prepare_by_id(core, session, dossier.procedure_id)
        documents = _documents_with(prepared.version.meta, dossier.documents_received, ticked,
                                    lang)
        dossier = _take_submission(session, code, DossierStatus.RECEIVED)
        appointment = appointment_at(prepared.calendar, now,
                                     prepared.parsed.procedure.committed_working_days)
        # The dossier runs on the version current at receipt, like one received at the desk.
        dossier.procedure_version_id = prepared.version.id
        dossier.received_at = now.astimezone(UTC)
        dossier.received_by, dossier.outcome = actor, None
        dossier.appointment_at = dossier.original_appointment_at = appointment
        dossier.documents_received = documents
        session.flush()
        events = [event(dossier.id, "status_changed", now, actor, data={"from": 1, "to": 2}),
                  event(dossier.id, "received", now, actor, data={
                      "channel": dossier.channel, "appointment_at": appointment.isoformat(),
                      "submitted_at": dossier.submitted_at.isoformat()
                      if dossier.submitted_at else None})]
        start_process(core, session, prepared, dossier, actor, now, events)
        uow.commit()
        return dossier


def _documents_with(meta: Mapping[str, Any], received: list[dict[str, int]] | None,
                    ticked: Sequence[int], lang: str) -> list[dict[str, int]] | None:
    """The checklist with the `ticked` documents added; InvalidInput if a required one lacks."""
    items = checklist(meta)
    if received is None and not ticked:
        return None  # a submission without a checklist (older ones): nothing to check
    rows = list(received or [])
    have = {row["index"] for row in rows}
    rows += [{"index": i, "copies": items[i].copies} for i in sorted(set(ticked))
             if 0 <= i < len(items) and i not in have]
    missing = missing_documents(items, rows, lang)
    if missing:
        raise InvalidInput(N_("The dossier was not received: correct the fields marked."), {
            "documents_received": message(
                lang, "Thiếu giấy tờ bắt buộc: " + "; ".join(missing) + ". Hãy đánh dấu giấy "
                "tờ đã nhận, hoặc lập phiếu yêu cầu bổ sung thay vì tiếp nhận.",
                "Required documents are missing: " + "; ".join(missing) + ". Tick the "
                "documents received, or request a supplement instead of receiving.")})
    return sorted(rows, key=lambda row: row["index"])


def request_supplement_online(core: Core, code: str, *, items: Sequence[str], actor: str,
                              now: datetime, lang: str = "vi") -> DossierNotice:
    """Send an online submission back for completion, saying once what is missing."""
    wanted = [line for item in items for line in note_lines(str(item))]
    if not wanted:
        raise InvalidInput(N_("The supplement request was not issued: correct the fields "
                              "marked."), {"items": message(
                                  lang, "Vui lòng ghi rõ nội dung cần bổ sung.",
                                  "State what the applicant must supply or correct.")})
    with core.uow() as uow:
        dossier = _take_submission(uow.session, code, DossierStatus.SUPPLEMENT_REQUESTED)
        _status_event(uow.session, dossier, DossierStatus.SUPPLEMENT_REQUESTED, actor, now)
        notice = issue_notice(uow.session, dossier, "supplement", wanted, "", actor, now)
        _mail(core, uow.session, dossier, notice, now)
        uow.commit()
        return notice


def refuse_submission(core: Core, code: str, *, reason: str, actor: str, now: datetime,
                      lang: str = "vi") -> DossierNotice:
    """Refuse an online submission, with the reason."""
    errors = reason_errors(reason, lang)
    if errors:
        raise InvalidInput(N_("The refusal was not issued: correct the fields marked."), errors)
    with core.uow() as uow:
        dossier = _take_submission(uow.session, code, DossierStatus.REFUSED)
        _status_event(uow.session, dossier, DossierStatus.REFUSED, actor, now)
        notice = issue_notice(uow.session, dossier, "refusal", [], reason.strip(), actor, now)
        _mail(core, uow.session, dossier, notice, now)
        uow.commit()
        return notice


def _status_event(session: Session, dossier: Dossier, status: DossierStatus, actor: str,
                  now: datetime) -> None:
    """Log the move out of reception's queue, as every status change is logged."""
    write_events(session.connection(), [event(
        dossier.id, "status_changed", now, actor,
        data={"from": int(DossierStatus.SUBMITTED_ONLINE), "to": int(status)})])


def _mail(core: Core, session: Session, dossier: Dossier, notice: DossierNotice,
          now: datetime) -> None:
    """E-mail the applicant the notice, in the transaction that issues it."""
    if not dossier.applicant_email:
        return
    procedure = session.get_one(Procedure, dossier.procedure_id)
    common = {"agency_name": core.settings.agency_name, "code": dossier.code,
              "procedure_name": procedure.name, "applicant_name": dossier.applicant_name,
              "zone": core.settings.hours.timezone}
    if notice.kind == "supplement":
        letter = outbox.supplement_letter(requested_at=now, missing="; ".join(notice.items),
                                          **common)
    else:
        letter = refusal_letter(reason=notice.reason, refused_at=now, **common)
    outbox.enqueue(session.connection(), key=f"{dossier.code}:notice:{notice.id}",
                   to_address=dossier.applicant_email, subject=letter.subject,
                   body=letter.body, now=now, dossier_id=dossier.id)


def refusal_letter(*, agency_name: str, code: str, procedure_name: str, applicant_name: str,
                   reason: str, refused_at: datetime, zone: str) -> outbox.Letter:
    """The e-mail telling an online applicant their dossier was not received, and why."""
    local = refused_at.astimezone(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")
    body = "\n".join([
        f"Kính gửi Ông/Bà {applicant_name.strip()},", "",
        f"{agency_name} không tiếp nhận hồ sơ Ông/Bà nộp trực tuyến.", "",
        f"Mã hồ sơ: {code}", f"Thủ tục: {procedure_name}", f"Ngày từ chối: {local}",
        f"Lý do: {reason.strip()}", "",
        "Trân trọng,", agency_name, "",
        "Đây là thư tự động, vui lòng không trả lời thư này."]) + "\n"
    return outbox.Letter(f"[{agency_name}] Từ chối tiếp nhận hồ sơ {code}", body)
