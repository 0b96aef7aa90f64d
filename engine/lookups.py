"""Records found by what users type: a dossier by its code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import N_, NotFound
from engine.models import Dossier


def dossier_by_code(session: Session, code: str) -> Dossier:
    """The dossier with this code, or NotFound with a message saying what to check."""
    dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
    if dossier is None:
        raise NotFound(N_("No dossier has the code %(code)s. Check the code and try again."),
                       code=code)
    return dossier
