"""Use cases of reception: receive a dossier; read a dossier with its tasks and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from engine.bootstrap import Core, overrides_column, policy_column
from engine.errors import N_, Forbidden, InvalidInput, NotFound
from engine.lookups import dossier_by_code
from engine.models import (
    Attachment,
    Dossier,
    DossierNotice,
    DossierSequence,
    Event,
    Procedure,
    ProcedureVersion,
    Task,
    User,
)
from engine.projections import INSTANCES, DossierState, event, project, write_events
from engine.runtime import Incident
from engine.services.attachments import StoredFile, attach
from engine.services.incidents import record_incident
from engine.specs import ParsedVersion
from workflows.calendar import WorkingCalendar
from workflows.codes import dossier_code
from workflows.deadlines import appointment_at
from workflows.forms import field_errors
from workflows.intake import (
    Channel,
    birth_date_error,
    checklist,
    checklist_errors,
    intake_schema,
    return_errors,
)
from workflows.statuses import DossierStatus

ALL_CHANNELS = frozenset(c.value for c in Channel)


@dataclass(frozen=True)
class DossierDetail:
    """A dossier with its procedure, its open and done tasks and its history."""

    dossier: Dossier
    procedure: Procedure
    version: ProcedureVersion
    tasks: list[Task]
    events: list[Event]
    notices: list[DossierNotice] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Upload:
    """A file checked and stored before receipt, for one item of the checklist (or none)."""

    document_index: int | None
    stored: StoredFile


@dataclass(frozen=True)
class VersionInfo:
    """What a receipt needs of a procedure's latest version: its id and its metadata
    (procedure.toml); the parsed spec is `Prepared.parsed`."""

    id: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class Prepared:
    """A procedure's latest version, parsed, with the working calendar, for a new dossier."""

    procedure: Procedure
    version: VersionInfo
    parsed: ParsedVersion
    calendar: WorkingCalendar


_PROCEDURES = cast(Table, Procedure.__table__)
_VERSIONS = cast(Table, ProcedureVersion.__table__)


def _prepare_query(where: Any) -> Any:
    # The procedure, its latest version's id, hash and metadata (not its BPMN and forms: the
    # parsed spec comes from memory), the administrator's policy and the calendar's
    # overrides: one statement, where an ORM read of each took four.
    return (select(*_PROCEDURES.c, _VERSIONS.c.id.label("version_id"),
                   _VERSIONS.c.content_hash, _VERSIONS.c.meta,
                   policy_column(_PROCEDURES.c.id).label("policy"),
                   overrides_column().label("overrides"))
            .join(_VERSIONS, _VERSIONS.c.id == _PROCEDURES.c.latest_version_id)
            .where(where))


_PREPARE_BY_CODE = _prepare_query(_PROCEDURES.c.code == bindparam("key"))
_PREPARE_BY_ID = _prepare_query(_PROCEDURES.c.id == bindparam("key"))


def prepare(core: Core, session: Session, procedure_code: str) -> Prepared:
    """The latest version of a procedure, or NotFound."""
    row = session.connection().execute(_PREPARE_BY_CODE, {"key": procedure_code}).first()
    if row is None:
        raise NotFound(N_("No procedure has the code %(code)s. Choose one from the "
                          "catalogue."), code=procedure_code)
    return _prepared(core, session, row)


def prepare_by_id(core: Core, session: Session, procedure_id: int) -> Prepared:
    """The latest version of a procedure known to exist (an online submission's)."""
    return _prepared(core, session, session.connection().execute(
        _PREPARE_BY_ID, {"key": procedure_id}).one())


def _prepared(core: Core, session: Session, row: Any) -> Prepared:
    # The hash just read, not a remembered one: parsed_with_policy finds the spec by it.
    core.version_hashes[row.version_id] = row.content_hash
    return Prepared(
        Procedure(**{column.key: getattr(row, column.key) for column in _PROCEDURES.c}),
        VersionInfo(row.version_id, row.meta),
        core.parsed_with_policy(session, row.version_id, row.policy),
        core.calendar_from(session, row.overrides))


def applicant_errors(prepared: Prepared, applicant: dict[str, Any], channel: str,
                     now: datetime, lang: str, *, birth_date_required: bool = True,
                     channels: frozenset[str] = ALL_CHANNELS
                     ) -> dict[str, str]:
    """Field messages for an applicant's details and the channel (empty when all is well)."""
    schema = intake_schema(prepared.parsed.procedure.applicant_kind,
                           birth_date_required=birth_date_required)
    errors = field_errors(schema, applicant, lang)
    if "birth_date" in applicant and "birth_date" not in errors:
        today = now.astimezone(prepared.calendar.zone).date()
        message = birth_date_error(applicant["birth_date"], today, lang)
        if message:
            errors["birth_date"] = message
    if channel not in channels:
        errors["channel"] = ("Vui lòng chọn hình thức nộp." if lang != "en"
                             else "Please choose how the dossier was submitted.")
    return errors


def new_dossier(core: Core, session: Session, prepared: Prepared, applicant: dict[str, Any],
                channel: str, actor: str | None, now: datetime, *, status: int,
                appointment: datetime, code: str | None = None, **columns: Any) -> Dossier:
    """A dossier row with the next code of the day (or `code`) and any other `columns`, added
    to the session and inserted (its process not yet started)."""
    birth = applicant.get("birth_date")
    dossier = Dossier(
        code=code or next_code(core, session, prepared, now),
        procedure_id=prepared.procedure.id, procedure_version_id=prepared.version.id,
        applicant_name=applicant["name"].strip(), applicant_id_number=applicant["id_number"],
        applicant_phone=applicant.get("phone", ""), applicant_email=applicant.get("email", ""),
        applicant_address=applicant.get("address", ""),
        applicant_birth_date=_birth_date(birth), channel=channel,
        status=status, received_at=now.astimezone(UTC), received_by=actor,
        appointment_at=appointment.astimezone(UTC),
        original_appointment_at=appointment.astimezone(UTC), supplement_rounds=0,
        **{"return_address": "", **columns})
    session.add(dossier)
    session.flush()
    return dossier


def _birth_date(value: Any) -> date | None:
    """The birth date if the intake schema asks for one (already validated as a date)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def next_code(core: Core, session: Session, prepared: Prepared, now: datetime) -> str:
    """The next dossier code of the agency's day (local time)."""
    local_day = now.astimezone(prepared.calendar.zone).date()
    return dossier_code(core.settings.agency_code, local_day,
                        _next_sequence(session, core.settings.agency_code, local_day))


def receive_dossier(core: Core, *, procedure_code: str, applicant: dict[str, Any],
                    channel: str, actor: str | None, now: datetime, lang: str = "vi",
                    documents_received: list[dict[str, int]] | None = None,
                    uploads: Sequence[Upload] = (), return_method: str | None = None,
                    return_address: str = "") -> Dossier:
    """Receive a dossier: give it a code and an appointment date and start its process.

    With `documents_received` (the checklist: the desk, the API) the date of birth and a
    return method (not for official correspondence) are required and every required
    document must be there; without it (older callers) neither is checked.
    """
    with core.uow() as uow:
        session = uow.session
        prepared = prepare(core, session, procedure_code)
        checked = documents_received is not None
        errors = applicant_errors(prepared, applicant, channel, now, lang,
                                  birth_date_required=checked)
        if checked:
            items = checklist(prepared.version.meta)
            errors.update(checklist_errors(items, documents_received, lang))
            if prepared.parsed.procedure.applicant_kind != "organisation":
                errors.update(return_errors(return_method, return_address, lang))
        if errors:
            raise InvalidInput(N_("The applicant's details are incomplete or wrong: correct "
                                  "the fields marked."), errors)
        appointment = appointment_at(prepared.calendar, now,
                                     prepared.parsed.procedure.committed_working_days)
        # The process first, then the dossier that points to it: one INSERT of each.
        code = next_code(core, session, prepared, now)
        started = begin_process(core, session, prepared, code, channel, now)
        dossier = new_dossier(core, session, prepared, applicant, channel, actor, now,
                              status=int(DossierStatus.RECEIVED), appointment=appointment,
                              code=code, instance_id=started.instance_id,
                              documents_received=documents_received,
                              return_method=return_method,
                              return_address=return_address.strip())
        for upload in uploads:
            attach(session, dossier.id, upload.stored, purpose="intake", actor=actor, now=now,
                   document_index=upload.document_index)
        events = [event(dossier.id, "received", now, actor,
                        data={"channel": channel, "appointment_at": appointment.isoformat()})]
        _project_start(core, session, prepared, dossier, started, actor, now, events)
        uow.commit()
    return dossier


@dataclass
class Started:
    """A process begun for a dossier: its stored instance and its workflow, run to its first
    wait, or to the error it stopped on."""

    instance_id: int
    workflow: Any
    failure: Incident | None


_INSERT_INSTANCE = insert(INSTANCES).returning(INSTANCES.c.id)


def begin_process(core: Core, session: Session, prepared: Prepared, code: str, channel: str,
                  now: datetime) -> Started:
    """Begin the process of a dossier with this code and store its instance."""
    workflow = core.runtime.begin(prepared.parsed, {"dossier_code": code, "channel": channel})
    failure: Incident | None = None
    try:
        core.runtime.advance(workflow, now)
    except Incident as exc:  # received all the same: the dossier waits in incident, visible
        failure = exc
    task_count, depth = core.runtime.measure(workflow)
    instance_id = session.connection().execute(_INSERT_INSTANCE, {
        "procedure_version_id": prepared.version.id, "state": core.runtime.dump(workflow),
        "serializer_version": core.runtime.serializer.version, "revision": 1,
        "status": "running", "incident": None, "task_count": task_count, "depth": depth,
        "created_at": now, "updated_at": now}).scalar_one()
    return Started(instance_id, workflow, failure)


def start_process(core: Core, session: Session, prepared: Prepared, dossier: Dossier,
                  actor: str | None, now: datetime, events: list[dict[str, Any]]) -> None:
    """Start the process of a received dossier (status 2) and write its projections."""
    started = begin_process(core, session, prepared, dossier.code, dossier.channel, now)
    dossier.instance_id = started.instance_id
    session.flush()
    _project_start(core, session, prepared, dossier, started, actor, now, events)


def _project_start(core: Core, session: Session, prepared: Prepared, dossier: Dossier,
                  started: Started, actor: str | None, now: datetime,
                  events: list[dict[str, Any]]) -> None:
    """Write the projections of a dossier's process begun in this transaction (or its
    incident), its events, and the dossier's columns they changed into `dossier`."""
    conn = session.connection()
    if started.failure is not None:
        write_events(conn, events)
        record_incident(conn, core.runtime, started.instance_id, 1, started.workflow,
                        started.failure, now, dossier.id, actor)
        return
    changed: dict[str, Any] = {}
    project(conn, core.runtime, prepared.calendar, prepared.parsed, DossierState.of(dossier),
            started.instance_id, started.workflow, now, actor, events, previous=set(),
            clock_start=prepared.calendar.receipt_start(now), started=True,
            dossier_changes=changed)
    write_events(conn, events)
    # What the projections wrote, as the database gives it back (instants in UTC), without
    # reading the row back.
    for name, value in changed.items():
        set_committed_value(dossier, name,
                            value.astimezone(UTC) if isinstance(value, datetime) else value)


def _next_sequence(session: Session, agency_code: str, day: Any) -> int:
    """The next number of the agency's daily sequence: atomic, and gap-free on rollback."""
    dialect = session.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(DossierSequence)
        .values(agency_code=agency_code, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={"last_value": DossierSequence.last_value + 1},
        )
        .returning(DossierSequence.last_value)
    )
    return int(session.execute(statement).scalar_one())


def get_dossier(core: Core, code: str, with_bpmn: bool = False) -> DossierDetail:
    """A dossier by code, with its tasks and history; its version without the forms, and
    without the BPMN unless `with_bpmn` (tens of kilobytes that only the diagram needs)."""
    with core.uow() as uow:
        session = uow.session
        dossier = dossier_by_code(session, code)
        heavy = [ProcedureVersion.forms] + ([] if with_bpmn else [ProcedureVersion.bpmn_xml])
        return DossierDetail(
            dossier=dossier,
            procedure=session.get_one(Procedure, dossier.procedure_id),
            version=session.get_one(ProcedureVersion, dossier.procedure_version_id,
                                    options=[defer(column, raiseload=True) for column in heavy]),
            tasks=list(session.scalars(
                select(Task).where(Task.dossier_id == dossier.id).order_by(Task.created_at))),
            events=list(session.scalars(
                select(Event).where(Event.dossier_id == dossier.id).order_by(Event.id))),
            notices=list(session.scalars(
                select(DossierNotice).where(DossierNotice.dossier_id == dossier.id)
                .order_by(DossierNotice.id))),
            attachments=list(session.scalars(
                select(Attachment).where(Attachment.dossier_id == dossier.id)
                .order_by(Attachment.id))),
        )


def list_dossiers(core: Core, limit: int = 50, user: User | None = None
                  ) -> list[tuple[Dossier, Procedure]]:
    """The most recently received dossiers with their procedures (not the online queue);
    with `user`, only those in the user's scope."""
    with core.uow() as uow:
        query = (select(Dossier, Procedure).join(Procedure, Procedure.id == Dossier.procedure_id)
                 .where(Dossier.status != int(DossierStatus.SUBMITTED_ONLINE))
                 .order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(limit))
        if user is not None and not AGENCY_WIDE_ROLES & user.role_set:
            query = query.where(Dossier.procedure_version_id.in_(
                [version_id for version_id, meta in uow.session.execute(
                    select(ProcedureVersion.id, ProcedureVersion.meta))
                 if in_scope(user, meta)]))
        rows = uow.session.execute(query).all()
        return [(d, p) for d, p in rows]


# Roles that answer for every dossier: the one-stop desk and the records clerk receive and
# return them all; the leadership and the supervisors oversee them all.
AGENCY_WIDE_ROLES = frozenset({"reception", "clerk", "leader", "supervisor"})


def in_scope(user: User, meta: dict[str, Any]) -> bool:
    """Whether `user` may read the dossiers of a version with this procedure.toml `meta`.

    Agency-wide roles read every dossier; other officers read those of procedures with a
    lane of one of their roles in their department, or in no department (as tasks go).
    """
    if AGENCY_WIDE_ROLES & user.role_set:
        return True
    lanes = meta.get("lanes") or {}
    return any(isinstance(lane, dict) and lane.get("role") in user.role_set
               and lane.get("department") in (None, "", user.department)
               for lane in lanes.values())


def check_scope(core: Core, user: User, code: str) -> None:
    """NotFound for an unknown code; Forbidden for a dossier outside the user's scope."""
    with core.uow() as uow:
        meta = uow.session.scalar(
            select(ProcedureVersion.meta)
            .join(Dossier, Dossier.procedure_version_id == ProcedureVersion.id)
            .where(Dossier.code == code))
    if meta is None:
        raise NotFound(N_("No dossier has the code %(code)s. Check the code and try again."),
                       code=code)
    if not in_scope(user, meta):
        raise Forbidden(N_("This dossier belongs to another department: ask a supervisor "
                           "if you need to work on it."))
