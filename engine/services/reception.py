"""Reception's decisions besides receiving a dossier at the desk, and the files it adds.

At the desk an incomplete dossier gets a supplement request (form 02) and an out-of-scope one
a refusal (form 03) instead of a receipt; neither starts a process. Such dossiers still take
a code from the daily sequence, so that the form carries a number the applicant can quote:
the national public service portal numbers the dossiers it refuses or sends back as well.
`outcome = "not_received"` keeps them out of the statistics report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput
from engine.lookups import dossier_by_code
from engine.models import Attachment, Dossier, DossierNotice, ProcedureVersion
from engine.projections import event, write_events
from engine.services.attachments import attach, store_file
from engine.services.dossiers import applicant_errors, new_dossier, prepare
from workflows.intake import Channel, checklist, checklist_errors, missing_documents
from workflows.statuses import DossierStatus

NOT_RECEIVED = "not_received"
DESK_CHANNELS = frozenset({Channel.IN_PERSON.value, Channel.POST.value})


def note_lines(text: str) -> list[str]:
    """A free text's non-empty lines, without bullets."""
    return [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]


def message(lang: str, vi: str, en: str) -> str:
    """`en` for English users, else `vi`."""
    return en if lang == "en" else vi


def request_supplement_at_desk(core: Core, *, procedure_code: str, applicant: dict[str, Any],
                               channel: str, documents_received: list[dict[str, int]],
                               note: str, actor: str, now: datetime,
                               lang: str = "vi") -> tuple[Dossier, DossierNotice]:
    """Do not receive an incomplete dossier: record it and what is missing (form 02)."""
    with core.uow() as uow:
        session = uow.session
        prepared = prepare(core, session, procedure_code)
        errors = applicant_errors(prepared, applicant, channel, now, lang,
                                  channels=DESK_CHANNELS)
        items_of = checklist(prepared.version.meta)
        shape = checklist_errors(items_of, documents_received, lang)
        if "documents_received" in shape:
            errors["documents_received"] = shape["documents_received"]
        items = (missing_documents(items_of, documents_received)
                 if "documents_received" not in shape else []) + note_lines(note)
        if not items:
            errors["supplement_note"] = message(
                lang, "Hồ sơ không thiếu giấy tờ nào: hãy ghi rõ nội dung cần bổ sung.",
                "No document is missing: state what the applicant must supply or correct.")
        if errors:
            raise InvalidInput(N_("The supplement request was not issued: correct the fields "
                                  "marked."), errors)
        dossier = new_dossier(core, session, prepared, applicant, channel, actor, now,
                              status=int(DossierStatus.SUPPLEMENT_REQUESTED), appointment=now)
        dossier.outcome = NOT_RECEIVED
        dossier.documents_received = documents_received
        notice = issue_notice(session, dossier, "supplement", items, "", actor, now)
        uow.commit()
        return dossier, notice


def refuse_at_desk(core: Core, *, procedure_code: str, applicant: dict[str, Any], channel: str,
                   reason: str, actor: str, now: datetime,
                   lang: str = "vi") -> tuple[Dossier, DossierNotice]:
    """Refuse to receive a dossier the agency cannot handle, with the reason (form 03)."""
    with core.uow() as uow:
        session = uow.session
        prepared = prepare(core, session, procedure_code)
        errors = applicant_errors(prepared, applicant, channel, now, lang,
                                  channels=DESK_CHANNELS)
        errors.update(reason_errors(reason, lang))
        if errors:
            raise InvalidInput(N_("The refusal was not issued: correct the fields marked."),
                               errors)
        dossier = new_dossier(core, session, prepared, applicant, channel, actor, now,
                              status=int(DossierStatus.REFUSED), appointment=now)
        dossier.outcome = NOT_RECEIVED
        notice = issue_notice(session, dossier, "refusal", [], reason.strip(), actor, now)
        uow.commit()
        return dossier, notice


def reason_errors(reason: str, lang: str) -> dict[str, str]:
    """A message when a refusal's reason is missing."""
    if len(reason.strip()) < 5:
        return {"reason": message(lang, "Vui lòng ghi rõ lý do (ít nhất 5 ký tự).",
                                   "State the reason (at least 5 characters).")}
    return {}


def issue_notice(session: Session, dossier: Dossier, kind: str, items: list[str], reason: str,
                 actor: str, now: datetime) -> DossierNotice:
    """Record a supplement request or refusal of the dossier, with its event."""
    notice = DossierNotice(dossier_id=dossier.id, kind=kind, items=items, reason=reason,
                           issued_at=now, issued_by=actor)
    session.add(notice)
    session.flush()
    write_events(session.connection(), [event(
        dossier.id, "supplement_requested" if kind == "supplement" else "refused", now, actor,
        data={"notice_id": notice.id, "items": items, "reason": reason,
              "status": dossier.status})])
    return notice


def add_file(core: Core, code: str, stream: BinaryIO, filename: str, *, actor: str,
             now: datetime, document_index: int | None = None, purpose: str = "intake",
             lang: str = "vi") -> Attachment:
    """Check, store and attach a file handed in for the dossier (an item of its checklist)."""
    if purpose not in {"intake", "supplement"}:
        raise InvalidInput(N_("The file was not accepted: correct the fields marked."), {
            "purpose": message(lang, "Mục đích phải là intake hoặc supplement.",
                               "The purpose must be intake or supplement.")})
    with core.uow() as uow:
        session = uow.session
        dossier = dossier_by_code(session, code)
        version = session.get_one(ProcedureVersion, dossier.procedure_version_id)
        if document_index is not None and not 0 <= document_index < len(
                checklist(version.meta)):
            raise InvalidInput(N_("The file was not accepted: correct the fields marked."), {
                "document_index": message(lang, "Không có giấy tờ với số thứ tự này.",
                                          "The checklist has no document with this number.")})
        stored = store_file(core, stream, filename, lang=lang)
        row = attach(session, dossier.id, stored, purpose=purpose, actor=actor, now=now,
                     document_index=document_index)
        session.flush()
        write_events(session.connection(), [event(dossier.id, "file_added", now, actor, data={
            "attachment_id": row.id, "filename": row.filename,
            "document_index": document_index})])
        uow.commit()
        return row
