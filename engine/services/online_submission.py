"""Online submission (nộp hồ sơ trực tuyến): a dossier in status 1, waiting for reception."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput
from engine.models import Dossier, Event
from engine.services import outbox
from engine.services.attachments import attach
from engine.services.dossiers import new_dossier, prepare
from engine.services.portal import Upload, lookup_url, store_uploads
from engine.services.portal_letters import submitted_letter
from workflows.deadlines import appointment_at
from workflows.forms import field_errors
from workflows.intake import (
    Channel,
    birth_date_error,
    checklist,
    document_field,
    intake_schema,
)
from workflows.statuses import DossierStatus
from workflows.submission import accepts_online, missing_file_message, submission_errors

# Keeps a dossier out of the statistics until reception accepts it (and sets it to None).
NOT_RECEIVED = "not_received"


@dataclass
class Submission:
    """What the applicant sends: their details, files per document index, return, consent."""

    procedure_code: str
    applicant: dict[str, Any]
    documents: dict[int, list[Upload]] = field(default_factory=dict)
    return_method: str = ""
    return_address: str = ""
    consent: bool = False


def submit_online(core: Core, submission: Submission, now: datetime, lang: str = "vi"
                  ) -> Dossier:
    """Create an online dossier with its files, in one transaction, and e-mail the applicant."""
    with core.uow() as uow:
        session = uow.session
        prepared = prepare(core, session, submission.procedure_code)
        meta = prepared.parsed.procedure
        if not accepts_online(meta.online_level):
            raise Conflict(N_("This procedure cannot be submitted online. Bring the dossier to "
                              "the reception desk or send it by public post."))
        applicant = {k: v.strip() if isinstance(v, str) else v
                     for k, v in submission.applicant.items() if v not in ("", None)}
        errors = field_errors(intake_schema(meta.applicant_kind), applicant, lang)
        local_today = now.astimezone(core.calendar_zone()).date()
        if "birth_date" in applicant and "birth_date" not in errors:
            late = birth_date_error(applicant["birth_date"], local_today, lang)
            errors.update({"birth_date": late} if late else {})
        errors.update(submission_errors(submission.return_method, submission.return_address,
                                        submission.consent, meta.online_level, lang))
        items = checklist(prepared.version.meta)
        for index, item in enumerate(items):
            if not item.optional and not submission.documents.get(index):
                errors[document_field(index)] = missing_file_message(lang)
        uploads = [(document_field(i), u) for i, files in sorted(submission.documents.items())
                   if 0 <= i < len(items) for u in files]
        stored, file_errors = store_uploads(core, uploads, lang)
        errors.update({k: v for k, v in file_errors.items() if k not in errors})
        if errors:
            raise InvalidInput(N_("The dossier was not submitted: correct the fields marked "
                                  "and attach the files again."), errors)
        calendar = prepared.calendar
        appointment = appointment_at(calendar, now, meta.committed_working_days)
        indexes = {document_field(i): i for i in range(len(items))}
        received = sorted({indexes[name] for name, _ in stored})
        dossier = new_dossier(
            core, session, prepared, applicant, Channel.ONLINE.value, None, now,
            status=int(DossierStatus.SUBMITTED_ONLINE), appointment=appointment,
            outcome=NOT_RECEIVED, submitted_at=now.astimezone(UTC),
            # The electronic copy stands for the copies the checklist asks for.
            documents_received=[{"index": i, "copies": items[i].copies} for i in received],
            return_method=submission.return_method,
            return_address=submission.return_address.strip()
            if submission.return_method == "post" else "")
        for name, file in stored:
            attach(session, dossier.id, file, purpose="intake", actor=None, now=now,
                   document_index=indexes[name])
        session.add(Event(dossier_id=dossier.id, at=now, actor=None, kind="submitted_online",
                          data={"files": len(stored), "return_method": dossier.return_method}))
        if dossier.applicant_email:
            letter = submitted_letter(
                agency_name=meta.agency or core.settings.agency_name, code=dossier.code,
                procedure_name=meta.name, applicant_name=dossier.applicant_name,
                submitted_at=now, lookup_url=lookup_url(core, dossier.code),
                zone=calendar.hours.timezone)
            outbox.enqueue(session.connection(), key=f"{dossier.code}:submitted",
                           to_address=dossier.applicant_email, subject=letter.subject,
                           body=letter.body, now=now, dossier_id=dossier.id)
        uow.commit()
    return dossier
