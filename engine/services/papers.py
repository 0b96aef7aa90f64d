"""The desk's printed forms as PDF: receipt slip (01), supplement request (02), refusal (03)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, NotFound
from engine.lookups import dossier_by_code
from engine.models import Dossier, DossierNotice, Procedure, ProcedureVersion, User
from engine.pdf.forms import (
    RefusalData,
    SlipData,
    SupplementRequestData,
    receipt_slip_pdf,
    refusal_pdf,
    supplement_request_pdf,
)
from workflows.intake import CHANNEL_TITLES, RETURN_TITLES, Channel, ReturnMethod, checklist


def lookup_url(core: Core, code: str) -> str:
    """The citizen portal's lookup page of a dossier (printed as a QR code)."""
    return f"{core.settings.public_url.rstrip('/')}/portal/lookup?code={code}"


def _dossier(session: Session, code: str) -> Dossier:
    dossier = dossier_by_code(session, code)
    return dossier


def _officer(session: Session, username: str | None) -> str:
    if not username:
        return ""
    name = session.scalars(select(User.full_name).where(User.username == username)).first()
    return name or username


def _agency(core: Core, version: ProcedureVersion) -> str:
    return str(version.meta.get("agency") or core.settings.agency_name)


def receipt_slip(core: Core, code: str) -> bytes:
    """Form 01 of a received dossier; NotFound for one that was not (or not yet) received."""
    with core.uow() as uow:
        session = uow.session
        dossier = _dossier(session, code)
        if dossier.instance_id is None:
            raise NotFound(N_("Dossier %(code)s has not been received, so it has no receipt "
                              "slip."), code=code)
        procedure = session.get_one(Procedure, dossier.procedure_id)
        version = session.get_one(ProcedureVersion, dossier.procedure_version_id)
        items = checklist(version.meta)
        documents = [(items[row["index"]].name, int(row["copies"]))
                     for row in dossier.documents_received or [] if row["index"] < len(items)]
        method = (RETURN_TITLES[ReturnMethod(dossier.return_method)][0]
                  if dossier.return_method in set(ReturnMethod) else
                  RETURN_TITLES[ReturnMethod.IN_PERSON][0])
        if dossier.return_method == ReturnMethod.POST and dossier.return_address:
            method = f"{method}: {dossier.return_address}"
        channel = CHANNEL_TITLES.get(Channel(dossier.channel), (dossier.channel, ""))[0] \
            if dossier.channel in set(Channel) else dossier.channel
        data = SlipData(
            agency_name=_agency(core, version), code=dossier.code,
            procedure_name=procedure.name, applicant_name=dossier.applicant_name,
            applicant_id_number=dossier.applicant_id_number,
            applicant_phone=dossier.applicant_phone, applicant_email=dossier.applicant_email,
            applicant_address=dossier.applicant_address, channel_title=channel,
            documents=documents, received_at=dossier.received_at,
            appointment_at=dossier.original_appointment_at, return_method_title=method,
            lookup_url=lookup_url(core, dossier.code),
            officer_name=_officer(session, dossier.received_by), zone=core.calendar_zone(),
            processing_time_title=_statutory(version.meta))
    return receipt_slip_pdf(data)


def _statutory(meta: dict[str, object]) -> str:
    """Form 01's "processing time as prescribed": the law's time, not the agency's shorter
    commitment (which the appointment date already reflects)."""
    days = _days(meta.get("statutory_working_days"))
    longer = _days(meta.get("statutory_working_days_with_verification"))
    return f"{days} ({longer} nếu phải xác minh)" if days and longer else days


def _days(value: object) -> str:
    if value is None:
        return ""
    days = float(str(value))
    return f"{days:g} ngày làm việc"


def notice_pdf(core: Core, code: str, notice_id: int) -> bytes:
    """Form 02 or 03 of one of the dossier's supplement requests or refusals."""
    with core.uow() as uow:
        session = uow.session
        dossier = _dossier(session, code)
        notice = session.get(DossierNotice, notice_id)
        if notice is None or notice.dossier_id != dossier.id:
            raise NotFound(N_("This notice does not exist. Reload the dossier's page."))
        procedure = session.get_one(Procedure, dossier.procedure_id)
        version = session.get_one(ProcedureVersion, dossier.procedure_version_id)
        common: dict[str, Any] = {"agency_name": _agency(core, version), "code": dossier.code,
                  "procedure_name": procedure.name, "applicant_name": dossier.applicant_name,
                  "applicant_id_number": dossier.applicant_id_number,
                  "applicant_address": dossier.applicant_address,
                  "officer_name": _officer(session, notice.issued_by),
                  "zone": core.calendar_zone()}
    if notice.kind == "refusal":
        return refusal_pdf(RefusalData(reason=notice.reason, refused_at=notice.issued_at,
                                       **common))
    reason = notice.reason or ("Hồ sơ chưa đầy đủ thành phần theo quy định của thủ tục "
                               "hành chính.")
    return supplement_request_pdf(SupplementRequestData(
        items=list(notice.items), reason=reason, requested_at=notice.issued_at, **common))
