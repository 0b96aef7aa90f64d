"""The designers' list: procedures with their latest version, drafts, and version history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.bootstrap import Core
from engine.models import Dossier, Procedure, ProcedureDraft, ProcedureVersion
from engine.services.design import package_of
from workflows.statuses import FINISHED


@dataclass(frozen=True)
class DesignEntry:
    """A procedure as the designers' list shows it."""

    code: str
    name: str
    name_en: str
    version: int | None
    deployed_by: str | None
    deployed_at: datetime | None
    draft_differs: bool


@dataclass(frozen=True)
class VersionEntry:
    """One deployed version with who deployed it, when, why, and its dossiers."""

    id: int
    number: int
    deployed_by: str
    deployed_at: datetime
    change_note: str
    running: int
    dossiers: int


def list_procedures_for_design(core: Core) -> list[DesignEntry]:
    """Every procedure (and new, undeployed draft) with its latest version and draft state."""
    with core.uow() as uow:
        session = uow.session
        drafts = {d.code: d for d in session.scalars(select(ProcedureDraft))}
        entries = []
        for procedure, version in session.execute(
                select(Procedure, ProcedureVersion)
                .join(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)):
            draft = drafts.pop(procedure.code, None)
            differs = draft is not None and package_of(draft).content_hash != version.content_hash
            entries.append(DesignEntry(procedure.code, procedure.name, procedure.name_en,
                                       version.version, version.deployed_by,
                                       version.deployed_at, differs))
        for draft in drafts.values():
            entries.append(DesignEntry(draft.code, str(draft.meta.get("name", draft.code)),
                                       str(draft.meta.get("name_en", "")), None, None, None,
                                       True))
        return sorted(entries, key=lambda e: e.name)


def versions(core: Core, code: str) -> list[VersionEntry]:
    """The procedure's versions, newest first, with the dossiers running on each."""
    with core.uow() as uow:
        session = uow.session
        procedure = session.scalars(select(Procedure).where(Procedure.code == code)).first()
        if procedure is None:
            return []
        total = func.count(Dossier.id)
        running = func.count(Dossier.id).filter(Dossier.status.not_in(
            sorted(int(s) for s in FINISHED)))
        counts = {row[0]: (row[1], row[2]) for row in session.execute(
            select(Dossier.procedure_version_id, running, total)
            .where(Dossier.procedure_id == procedure.id)
            .group_by(Dossier.procedure_version_id))}
        rows = session.scalars(select(ProcedureVersion)
                               .where(ProcedureVersion.procedure_id == procedure.id)
                               .order_by(ProcedureVersion.version.desc()))
        return [VersionEntry(v.id, v.version, v.deployed_by, v.deployed_at, v.change_note,
                             *counts.get(v.id, (0, 0))) for v in rows]
