"""The citizen portal's reading side: lookup by code and ID number, the public dossier view."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import IO

from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import (
    Attachment,
    Dossier,
    DossierNotice,
    Event,
    Procedure,
    ProcedureVersion,
    Rating,
)
from engine.services.attachments import StoredFile, store_file
from workflows.procedure import Procedure as ProcedureMeta
from workflows.procedure import procedure_from_dict

LOOKUP_PATH = "/portal/lookup?code="
# Events a citizen may see: status changes and what they or reception did in the open;
# never officers' steps, comments or internal notes.
PUBLIC_EVENTS = frozenset({"submitted_online", "received", "status_changed", "resumed",
                           "supplement_requested", "refused", "supplement_answered",
                           "apology_approved", "appointment_extended"})
NOT_FOUND = N_("No dossier matches this code and ID number. Check both (the code is on your "
               "receipt or confirmation e-mail) and try again.")
_DUMMY = "0" * 12


@dataclass(frozen=True)
class Upload:
    """A file as the applicant sent it: its stream and its name."""

    stream: IO[bytes]
    filename: str


@dataclass(frozen=True)
class PublicDossier:
    """What the applicant may see of their dossier."""

    dossier: Dossier
    procedure: Procedure
    meta: ProcedureMeta
    history: list[Event]
    open_notices: list[DossierNotice]
    uploads: list[Attachment]
    rated: bool

    @property
    def open_supplement(self) -> DossierNotice | None:
        """The supplement request the applicant can still answer, if any."""
        return next((n for n in self.open_notices if n.kind == "supplement"), None)


def lookup_url(core: Core, code: str) -> str:
    """The absolute address where the applicant looks the dossier up."""
    return f"{core.settings.public_url.rstrip('/')}{LOOKUP_PATH}{code}"


def normalise_code(code: str) -> str:
    """A dossier code as typed, without spaces, in capitals."""
    return "".join(str(code).split()).upper()


def check_access(core: Core, code: str, id_number: str) -> str:
    """The dossier's code if `id_number` is its applicant's; else the same NotFound always."""
    code = normalise_code(code)
    with core.uow() as uow:
        stored = uow.session.scalar(select(Dossier.applicant_id_number)
                                    .where(Dossier.code == code))
    given = "".join(str(id_number).split()).encode()
    # Compared in constant time, and compared even when the code is unknown.
    same = hmac.compare_digest((stored or _DUMMY).encode(), given)
    if stored is None or not same or not given:
        raise NotFound(NOT_FOUND)
    return code


def public_dossier(core: Core, code: str) -> PublicDossier:
    """The applicant's view of a dossier; the caller has checked access."""
    with core.uow() as uow:
        session = uow.session
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        if dossier is None:
            raise NotFound(NOT_FOUND)
        procedure = session.get_one(Procedure, dossier.procedure_id)
        version = session.get_one(ProcedureVersion, dossier.procedure_version_id)
        return PublicDossier(
            dossier=dossier, procedure=procedure, meta=procedure_from_dict(version.meta),
            history=list(session.scalars(
                select(Event).where(Event.dossier_id == dossier.id,
                                    Event.kind.in_(sorted(PUBLIC_EVENTS)))
                .order_by(Event.at, Event.id))),
            open_notices=list(session.scalars(
                select(DossierNotice).where(DossierNotice.dossier_id == dossier.id,
                                            DossierNotice.answered_at.is_(None))
                .order_by(DossierNotice.id))),
            uploads=list(session.scalars(
                select(Attachment).where(Attachment.dossier_id == dossier.id,
                                         Attachment.uploaded_by.is_(None))
                .order_by(Attachment.id))),
            rated=session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id))
            is not None,
        )


def store_uploads(core: Core, uploads: list[tuple[str, Upload]], lang: str
                  ) -> tuple[list[tuple[str, StoredFile]], dict[str, str]]:
    """Check and store each (field, upload); return what was stored and a message per bad field."""
    stored: list[tuple[str, StoredFile]] = []
    errors: dict[str, str] = {}
    for field, upload in uploads:
        try:
            stored.append((field, store_file(core, upload.stream, upload.filename,
                                             field=field, lang=lang)))
        except InvalidInput as exc:
            for name, message in exc.fields.items():
                errors.setdefault(name, f"{upload.filename}: {message}")
    return stored, errors


def open_upload(core: Core, code: str, attachment_id: int) -> Attachment:
    """One of the applicant's own uploads of the dossier (officers' files stay hidden)."""
    with core.uow() as uow:
        row = uow.session.execute(
            select(Attachment).join(Dossier, Dossier.id == Attachment.dossier_id)
            .where(Attachment.id == attachment_id, Dossier.code == code,
                   Attachment.uploaded_by.is_(None))).scalar()
    if row is None:
        raise NotFound(N_("This file does not exist or is no longer available."))
    return row

