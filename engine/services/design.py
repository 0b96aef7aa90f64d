"""The designers' use cases: a draft per procedure, validated and deployed as a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import Procedure, ProcedureDraft, ProcedureVersion
from engine.services import catalogue
from engine.services.design_skeleton import CODE_PATTERN, skeleton
from engine.specs import Package, PackageError
from engine.validation import ERROR, MAX_BPMN_BYTES, Problem, blocking, validate_package


class ProblemsFound(InvalidInput):
    """The draft has errors that block deployment; `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(N_("The draft has %(count)s error(s): fix them before deploying."),
                         {})
        self.params = {"count": sum(p.severity == ERROR for p in problems)}
        self.problems = problems


def _draft(session: Session, code: str) -> ProcedureDraft | None:
    return session.scalars(select(ProcedureDraft).where(ProcedureDraft.code == code)).first()


def _latest(session: Session, code: str) -> ProcedureVersion | None:
    procedure = session.scalars(select(Procedure).where(Procedure.code == code)).first()
    if procedure is None or procedure.latest_version_id is None:
        return None
    return session.get(ProcedureVersion, procedure.latest_version_id)


def package_of(row: ProcedureDraft | ProcedureVersion) -> Package:
    """The package a draft or version holds."""
    return Package(bpmn_xml=row.bpmn_xml, forms=dict(row.forms), meta=dict(row.meta))


def open_draft(core: Core, code: str, user: str, now: datetime) -> ProcedureDraft:
    """The procedure's draft, created from its latest version on first open."""
    try:
        return _open_draft(core, code, user, now)
    except IntegrityError:  # two first opens at once: the other one created it
        return _open_draft(core, code, user, now)


def _open_draft(core: Core, code: str, user: str, now: datetime) -> ProcedureDraft:
    with core.uow() as uow:
        session = uow.session
        draft = _draft(session, code)
        if draft is None:
            latest = _latest(session, code)
            if latest is None:
                raise NotFound(N_("There is no procedure %(code)s."), code=code)
            draft = ProcedureDraft(code=code, bpmn_xml=latest.bpmn_xml, forms=dict(latest.forms),
                                   meta=dict(latest.meta), base_version_id=latest.id,
                                   updated_by=user, updated_at=now)
            session.add(draft)
            uow.commit()
        session.expunge(draft)
        return draft


def save_draft(core: Core, code: str, *, bpmn_xml: str | None = None,
               forms: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
               user: str, now: datetime) -> ProcedureDraft:
    """Replace parts of a draft; a draft may be invalid, only its size is limited."""
    if bpmn_xml is not None and len(bpmn_xml.encode()) > MAX_BPMN_BYTES:
        raise invalid(N_("The diagram has %(size)s bytes, more than the limit of %(limit)s "
                         "bytes. Remove unused elements or split the procedure."),
                      {"bpmn_xml": "too large"}, size=len(bpmn_xml.encode()), limit=MAX_BPMN_BYTES)
    for value, kind in ((forms, "forms"), (meta, "meta")):
        if value is not None and not isinstance(value, dict):
            raise invalid(N_("%(part)s must be a JSON object."), {kind: "object"}, part=kind)
    open_draft(core, code, user, now)
    with core.uow() as uow:
        draft = _draft(uow.session, code)
        assert draft is not None
        if bpmn_xml is not None:
            draft.bpmn_xml = bpmn_xml
        if forms is not None:
            draft.forms = forms
        if meta is not None:
            draft.meta = meta
        draft.updated_by, draft.updated_at = user, now
        uow.commit()
        uow.session.expunge(draft)
        return draft


def validate_draft(core: Core, code: str) -> list[Problem]:
    """Every problem of the draft, errors first."""
    with core.uow() as uow:
        draft = _draft(uow.session, code)
        if draft is None:
            latest = _latest(uow.session, code)
            if latest is None:
                raise NotFound(N_("There is no procedure %(code)s."), code=code)
            package = package_of(latest)
        else:
            package = package_of(draft)
    problems = validate_package(package)
    if package.meta.get("code") != code:
        problems.insert(0, Problem(ERROR, "code_changed", N_(
            "procedure.toml has the code %(found)s; the procedure's code %(code)s cannot "
            "change."), {"found": str(package.meta.get("code")), "code": code}, None, None))
    return problems


def deploy_draft(core: Core, code: str, change_note: str, user: str, now: datetime
                 ) -> ProcedureVersion:
    """Deploy the draft as a new immutable version; refuse while errors remain."""
    note = change_note.strip()
    if not note:
        raise InvalidInput(N_("Say what changed in this version (the change note)."),
                           {"change_note": "required"})
    problems = validate_draft(core, code)
    if blocking(problems):
        raise ProblemsFound(problems)
    draft = open_draft(core, code, user, now)
    package = package_of(draft)
    with core.uow() as uow:
        latest = _latest(uow.session, code)
        if latest is not None and latest.content_hash == package.content_hash:
            raise _unchanged(latest.version)
    try:
        version = catalogue.deploy(core, package, user, now)
    except PackageError as exc:
        raise ProblemsFound([Problem(ERROR, "spiff_parse", N_(
            "The workflow engine cannot read the diagram: %(detail)s"),
            {"detail": str(exc)}, None, None)]) from exc
    with core.uow() as uow:
        row = uow.session.get_one(ProcedureVersion, version.id)
        row.change_note, row.deployed_by = note, user
        stored = _draft(uow.session, code)
        if stored is not None:
            stored.base_version_id = row.id
        uow.commit()
        uow.session.expunge(row)
        return row


def _unchanged(number: int) -> InvalidInput:
    return invalid(N_("The draft is the same as version %(number)s: nothing to deploy."), {},
                   number=number)


def invalid(message: str, fields: dict[str, str], **params: object) -> InvalidInput:
    """An InvalidInput whose message has parameters."""
    error = InvalidInput(message, fields)
    error.params = params
    return error


def new_procedure(core: Core, code: str, name: str, user: str, now: datetime
                  ) -> ProcedureDraft:
    """Start a new procedure as a draft: one lane, one user task with its form."""
    code, name = code.strip(), name.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(N_("The code may hold lower-case letters, digits and underscores, "
                              "starting with a letter (at most 60)."), {"code": "pattern"})
    if not name:
        raise InvalidInput(N_("Give the procedure a name."), {"name": "required"})
    package = skeleton(code, name)
    with core.uow() as uow:
        session = uow.session
        taken = session.scalars(select(Procedure).where(Procedure.code == code)).first()
        if taken is not None or _draft(session, code) is not None:
            raise _taken(code)
        draft = ProcedureDraft(code=code, bpmn_xml=package.bpmn_xml, forms=package.forms,
                               meta=package.meta, base_version_id=None, updated_by=user,
                               updated_at=now)
        session.add(draft)
        uow.commit()
        session.expunge(draft)
        return draft


def _taken(code: str) -> InvalidInput:
    return invalid(N_("A procedure with the code %(code)s exists already."), {"code": "taken"},
                   code=code)
