"""Incidents: a script or condition failed, and the dossier's process waits for a retry.

The failed workflow is saved as it stands (the failing task in ERROR, the officer's completed
step kept), the instance's status becomes "incident" with the error, and an "incident" event
is logged. The projections stay as they were until a retry succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import Connection, Table, bindparam, delete, func, select, update

from engine.bootstrap import Core
from engine.errors import CHANGED_MEANWHILE, N_, Conflict, Forbidden, NotFound
from engine.models import Procedure, ProcedureVersion, User
from engine.projections import (
    DOSSIER_COLUMNS,
    DOSSIERS,
    DUE,
    INSTANCES,
    TASKS,
    TIMER,
    DossierState,
    event,
    project,
    save_state,
    write_events,
)
from engine.runtime import Incident, LoopLimitReached, Runtime

INCIDENT = "incident"
RETRY_ROLES = ("designer", "admin", "supervisor")
PROCEDURES = cast(Table, Procedure.__table__)
VERSIONS = cast(Table, ProcedureVersion.__table__)
# The version a stopped dossier runs on, and its procedure's newest: a designer corrects an
# error in a new version, and a dossier takes it only once moved there.
_VERSION = (select(VERSIONS.c.version).where(VERSIONS.c.id == DOSSIERS.c.procedure_version_id)
            .scalar_subquery())
_NEWEST = (select(func.max(VERSIONS.c.version))
           .where(VERSIONS.c.procedure_id == DOSSIERS.c.procedure_id).scalar_subquery())

_RECORD = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("instance_id"),
           INSTANCES.c.revision == bindparam("revision"))
    .values(state=bindparam("state"), revision=bindparam("revision") + 1, status=INCIDENT,
            incident=bindparam("incident"), task_count=bindparam("task_count"),
            depth=bindparam("depth"), updated_at=bindparam("now"))
)
# A stopped workflow rewritten (moved to another version): still stopped on the same error,
# and "since" (updated_at) still the moment it stopped.
_KEEP = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("instance_id"),
           INSTANCES.c.revision == bindparam("revision"), INSTANCES.c.status == INCIDENT)
    .values(state=bindparam("state"), revision=bindparam("revision") + 1,
            task_count=bindparam("task_count"), depth=bindparam("depth"))
)
# While in incident no timer of the instance fires; a successful retry projects them again.
_PARK_TIMERS = delete(DUE).where(DUE.c.instance_id == bindparam("instance_id"),
                                 DUE.c.kind == TIMER)
_FOR_RETRY = (
    select(*DOSSIER_COLUMNS, DOSSIERS.c.procedure_version_id, DOSSIERS.c.instance_id,
           INSTANCES.c.state.label("workflow_state"), INSTANCES.c.revision,
           INSTANCES.c.status.label("instance_status"), _VERSION.label("version"),
           _NEWEST.label("newest"))
    .join(INSTANCES, INSTANCES.c.id == DOSSIERS.c.instance_id)
    .where(DOSSIERS.c.code == bindparam("code"))
)
_TASK_STATES = select(TASKS.c.id, TASKS.c.state).where(
    TASKS.c.instance_id == bindparam("instance_id"))
_LIST = (
    select(DOSSIERS.c.code, PROCEDURES.c.name.label("procedure_name"),
           PROCEDURES.c.code.label("procedure_code"), INSTANCES.c.id.label("instance_id"),
           INSTANCES.c.incident, INSTANCES.c.updated_at, _VERSION.label("version"),
           _NEWEST.label("newest"))
    .join(INSTANCES, INSTANCES.c.id == DOSSIERS.c.instance_id)
    .join(PROCEDURES, PROCEDURES.c.id == DOSSIERS.c.procedure_id)
    .where(INSTANCES.c.status == INCIDENT)
    .order_by(INSTANCES.c.updated_at, DOSSIERS.c.code)
)
_STATUS_OF = (select(INSTANCES.c.status, INSTANCES.c.incident)
              .join(DOSSIERS, DOSSIERS.c.instance_id == INSTANCES.c.id)
              .where(DOSSIERS.c.code == bindparam("code")))


@dataclass(frozen=True)
class IncidentRow:
    """A dossier whose process stopped on an error, for the list."""

    dossier_code: str
    procedure_code: str
    procedure_name: str
    error: str
    since: datetime
    version: int
    newest_version: int

    @property
    def newer_version(self) -> int | None:
        """The procedure's newest version if newer than the dossier's (move it there)."""
        return self.newest_version if self.newest_version > self.version else None


@dataclass(frozen=True)
class RetryOutcome:
    """What a retry did: `error` is None when the incident cleared."""

    dossier_code: str
    error: str | None
    newer_version: int | None = None  # the procedure's, if newer than the dossier's

    @property
    def cleared(self) -> bool:
        """The process runs again."""
        return self.error is None


class ProcedureIncident(Conflict):
    """The step was saved, but the procedure stopped on an error the designer must fix."""

    code = "incident"


def record_incident(conn: Connection, runtime: Runtime, instance_id: int, revision: int,
                    workflow: BpmnWorkflow, incident: Incident, now: datetime,
                    dossier_id: int, actor: str | None,
                    data: dict[str, Any] | None = None) -> None:
    """Save the failed workflow with its error and log one "incident" event."""
    task_count, depth = runtime.measure(workflow)
    result = conn.execute(_RECORD, {
        "instance_id": instance_id, "revision": revision, "state": runtime.dump(workflow),
        "incident": incident.describe(), "task_count": task_count, "depth": depth,
        "now": now})
    if result.rowcount != 1:
        raise Conflict(CHANGED_MEANWHILE)
    conn.execute(_PARK_TIMERS, {"instance_id": instance_id})
    write_events(conn, [event(dossier_id, INCIDENT, now, actor, None, incident.name, {
        "step": incident.bpmn_id, "error": incident.describe(), **(data or {})})])


def save_in_incident(conn: Connection, runtime: Runtime, instance_id: int, revision: int,
                     workflow: BpmnWorkflow) -> None:
    """Write a stopped workflow's state, still stopped on its error: a retry runs it."""
    task_count, depth = runtime.measure(workflow)
    result = conn.execute(_KEEP, {
        "instance_id": instance_id, "revision": revision, "state": runtime.dump(workflow),
        "task_count": task_count, "depth": depth})
    if result.rowcount != 1:
        raise Conflict(CHANGED_MEANWHILE)


def raised(incident: Incident) -> ProcedureIncident:
    """The error that tells the officer the step was saved but the procedure stopped."""
    return ProcedureIncident(
        N_("The step was saved, but the procedure then stopped on an error in step "
           "%(step)s: %(error)s. The process designer must fix it; the dossier waits until "
           "then."), step=incident.name or incident.bpmn_id or "?", error=incident.message)


def list_incidents(core: Core) -> list[IncidentRow]:
    """The dossiers whose process is stopped on an error, the oldest first."""
    with core.reader.connect() as conn:
        return [IncidentRow(row.code, row.procedure_code, row.procedure_name,
                            row.incident or "", row.updated_at, row.version, row.newest)
                for row in conn.execute(_LIST)]


def incident_of(core: Core, dossier_code: str) -> str | None:
    """The error that stopped a dossier's process, or None if it runs."""
    with core.reader.connect() as conn:
        row = conn.execute(_STATUS_OF, {"code": dossier_code}).first()
    if row is None or row.status != INCIDENT:
        return None
    return row.incident or ""


def retry_incident(core: Core, user: User, dossier_code: str, now: datetime) -> RetryOutcome:
    """Run a stopped dossier's failed step again; the incident clears if it now succeeds."""
    if not set(RETRY_ROLES) & user.role_set:
        raise Forbidden(N_("Only a process designer, an administrator or a supervisor may "
                           "retry a stopped procedure."))
    with core.uow() as uow:
        conn = uow.session.connection()
        row = conn.execute(_FOR_RETRY, {"code": dossier_code}).first()
        if row is None:
            raise NotFound(N_("No dossier has the code %(code)s."), code=dossier_code)
        if row.instance_status != INCIDENT:
            raise Conflict(N_("The procedure of dossier %(code)s is not stopped on an error: "
                              "there is nothing to retry."), code=dossier_code)
        parsed = core.parsed_for(uow.session, row.procedure_version_id)
        workflow = core.runtime.restore(row.workflow_state)
        states = conn.execute(_TASK_STATES, {"instance_id": row.instance_id}).all()
        try:
            core.runtime.retry(workflow, {t.id for t in states if t.state == "completed"}, now)
        except Incident as exc:
            record_incident(conn, core.runtime, row.instance_id, row.revision, workflow, exc,
                            now, row.id, user.username, {"retry": True})
            uow.commit()
            newer = row.newest if row.newest > row.version else None
            return RetryOutcome(dossier_code, exc.describe(), newer)
        except LoopLimitReached as exc:
            raise Conflict(N_("This step has been repeated too many times for one dossier. "
                              "Contact the process designer."), step=exc.bpmn_id) from exc
        save_state(conn, core.runtime, row.instance_id, row.revision, workflow, now)
        events = [event(row.id, "incident_resolved", now, user.username)]
        project(conn, core.runtime, core.calendar_for(uow.session), parsed,
                DossierState.of(row), row.instance_id, workflow, now, user.username, events,
                {t.id for t in states if t.state == "ready"})
        write_events(conn, events)
        uow.commit()
        return RetryOutcome(dossier_code, None)
