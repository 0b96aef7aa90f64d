"""Use cases of reception: receive a dossier; read a dossier with its tasks and history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import (
    Dossier,
    DossierSequence,
    Event,
    Procedure,
    ProcedureVersion,
    ProcessInstance,
    Task,
)
from engine.projections import DossierState, event, project, write_events
from workflows.codes import dossier_code
from workflows.deadlines import appointment_at
from workflows.forms import field_errors
from workflows.intake import Channel, intake_schema
from workflows.statuses import DossierStatus


@dataclass(frozen=True)
class DossierDetail:
    """A dossier with its procedure, its open and done tasks and its history."""

    dossier: Dossier
    procedure: Procedure
    version: ProcedureVersion
    tasks: list[Task]
    events: list[Event]


def receive_dossier(core: Core, *, procedure_code: str, applicant: dict[str, Any],
                    channel: str, actor: str | None, now: datetime, lang: str = "vi") -> Dossier:
    """Receive a dossier: give it a code and an appointment date and start its process."""
    with core.uow() as uow:
        session = uow.session
        procedure = session.scalars(
            select(Procedure).where(Procedure.code == procedure_code)).first()
        if procedure is None or procedure.latest_version_id is None:
            raise NotFound(N_("No procedure has the code %(code)s. Choose one from the "
                              "catalogue."), code=procedure_code)
        version = session.get_one(ProcedureVersion, procedure.latest_version_id)
        parsed = core.parsed_version(version)
        errors = field_errors(intake_schema(parsed.procedure.applicant_kind), applicant, lang)
        if channel not in {c.value for c in Channel}:
            errors["channel"] = ("Vui lòng chọn hình thức nộp." if lang != "en"
                                 else "Please choose how the dossier was submitted.")
        if errors:
            raise InvalidInput(N_("The applicant's details are incomplete or wrong: correct "
                                  "the fields marked."), errors)
        calendar = core.calendar_for(session)
        local_day = now.astimezone(calendar.zone).date()
        appointment = appointment_at(calendar, now, parsed.procedure.committed_working_days)
        dossier = Dossier(
            code=dossier_code(core.settings.agency_code, local_day,
                              _next_sequence(session, core.settings.agency_code, local_day)),
            procedure_id=procedure.id, procedure_version_id=version.id,
            applicant_name=applicant["name"].strip(), applicant_id_number=applicant["id_number"],
            applicant_phone=applicant.get("phone", ""),
            applicant_email=applicant.get("email", ""),
            applicant_address=applicant.get("address", ""), channel=channel,
            status=int(DossierStatus.RECEIVED), received_at=now, received_by=actor,
            appointment_at=appointment, original_appointment_at=appointment,
        )
        session.add(dossier)
        session.flush()
        workflow = core.runtime.start(parsed, {"dossier_code": dossier.code, "channel": channel},
                                      now)
        task_count, depth = core.runtime.measure(workflow)
        instance = ProcessInstance(
            procedure_version_id=version.id, state=core.runtime.dump(workflow),
            serializer_version=core.runtime.serializer.version, revision=1, status="running",
            task_count=task_count, depth=depth, created_at=now, updated_at=now,
        )
        session.add(instance)
        session.flush()
        dossier.instance_id = instance.id
        session.flush()
        events = [event(dossier.id, "received", now, actor,
                        data={"channel": channel, "appointment_at": appointment.isoformat()})]
        conn = session.connection()
        project(conn, core.runtime, calendar, parsed, DossierState.of(dossier),
                instance.id, workflow, now, actor, events, previous=set(),
                clock_start=calendar.receipt_start(now))
        write_events(conn, events)
        session.refresh(dossier)
        uow.commit()
    return dossier


def _next_sequence(session: Session, agency_code: str, day: Any) -> int:
    """The next number of the agency's daily sequence: atomic, and gap-free on rollback."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(DossierSequence)
        .values(agency_code=agency_code, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={"last_value": DossierSequence.last_value + 1},
        )
        .returning(DossierSequence.last_value)
    )
    return int(session.execute(statement).scalar_one())


def get_dossier(core: Core, code: str) -> DossierDetail:
    """A dossier by code, with its tasks and history."""
    with core.uow() as uow:
        session = uow.session
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        if dossier is None:
            raise NotFound(N_("No dossier has the code %(code)s. Check the code and try "
                              "again."), code=code)
        return DossierDetail(
            dossier=dossier,
            procedure=session.get_one(Procedure, dossier.procedure_id),
            version=session.get_one(ProcedureVersion, dossier.procedure_version_id),
            tasks=list(session.scalars(
                select(Task).where(Task.dossier_id == dossier.id).order_by(Task.created_at))),
            events=list(session.scalars(
                select(Event).where(Event.dossier_id == dossier.id).order_by(Event.id))),
        )


def list_dossiers(core: Core, limit: int = 50) -> list[tuple[Dossier, Procedure]]:
    """The most recently received dossiers with their procedures."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Dossier, Procedure).join(Procedure, Procedure.id == Dossier.procedure_id)
            .order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(limit)
        ).all()
        return [(d, p) for d, p in rows]
