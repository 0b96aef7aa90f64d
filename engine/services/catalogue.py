"""Deploying procedures: each distinct content becomes a new immutable version."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from engine.bootstrap import Core
from engine.models import Procedure, ProcedureVersion
from engine.specs import Package, read_package


def deploy(core: Core, package: Package, deployed_by: str, now: datetime) -> ProcedureVersion:
    """Deploy a package as its procedure's newest version (unchanged content: the same one)."""
    parsed = core.cache.load(package)
    meta = parsed.procedure
    with core.uow() as uow:
        session = uow.session
        procedure = session.scalars(select(Procedure).where(Procedure.code == meta.code)).first()
        if procedure is None:
            procedure = Procedure(code=meta.code, name=meta.name, name_en=meta.name_en,
                                  field=meta.field)
            session.add(procedure)
            session.flush()
        existing = session.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id,
            ProcedureVersion.content_hash == parsed.content_hash)).first()
        if existing is not None:
            return existing
        number = (session.scalar(select(func.max(ProcedureVersion.version)).where(
            ProcedureVersion.procedure_id == procedure.id)) or 0) + 1
        version = ProcedureVersion(
            procedure_id=procedure.id, version=number, content_hash=parsed.content_hash,
            process_id=meta.process_id, bpmn_xml=package.bpmn_xml, forms=package.forms,
            meta=package.meta, deployed_by=deployed_by, deployed_at=now)
        session.add(version)
        session.flush()
        procedure.latest_version_id = version.id
        procedure.name, procedure.name_en, procedure.field = meta.name, meta.name_en, meta.field
        uow.commit()
        return version


def load_catalogue(core: Core, folder: Path, deployed_by: str, now: datetime
                   ) -> list[ProcedureVersion]:
    """Deploy every procedure folder under `folder` (the bpmn/ catalogue)."""
    return [
        deploy(core, read_package(path), deployed_by, now)
        for path in sorted(folder.iterdir())
        if (path / "procedure.toml").is_file()
    ]


def deployed_procedures(core: Core) -> list[Procedure]:
    """Every deployed procedure, by name, without its versions' content (for names and
    filters: each version's BPMN and forms are tens of kilobytes)."""
    with core.reads() as uow:
        return list(uow.session.scalars(select(Procedure)
                                        .where(Procedure.latest_version_id.is_not(None))
                                        .order_by(Procedure.name)))


def list_procedures(core: Core) -> list[tuple[Procedure, ProcedureVersion]]:
    """Every procedure with its latest version."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Procedure, ProcedureVersion)
            .join(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)
            .order_by(Procedure.name)
        ).all()
        return [(p, v) for p, v in rows]
