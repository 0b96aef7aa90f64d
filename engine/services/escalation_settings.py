"""An administrator's escalation policy per procedure, replacing procedure.toml's, applied at once.

Changing it reschedules the future warnings and escalations of every open dossier of the
procedure (its waiting steps and its appointment date); levels already raised stay raised
and are never raised twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import (
    Dossier,
    DueItem,
    Escalation,
    EscalationSetting,
    Event,
    Procedure,
    ProcedureVersion,
    Task,
)
from engine.projections import APPOINTMENT, DEADLINE, due_rows
from engine.specs import ParsedVersion
from workflows.escalation import PolicyError, policies_from_table, policy_to_dict
from workflows.statuses import DossierStatus, is_open

_PAUSED = {int(DossierStatus.SUPPLEMENT_REQUESTED), int(DossierStatus.AWAITING_FEES)}


@dataclass(frozen=True)
class PolicySetting:
    """A procedure's policy as it applies now, and whether an administrator set it."""

    procedure: Procedure
    table: dict[str, Any]
    overridden: bool
    changed_by: str | None
    changed_at: datetime | None
    steps: list[tuple[str, str]]  # (bpmn id, name) of the user tasks, for the form


def _table(parsed: ParsedVersion) -> dict[str, Any]:
    procedure = parsed.procedure
    return {**policy_to_dict(procedure.escalation),
            "steps": {bpmn_id: policy_to_dict(policy)
                      for bpmn_id, policy in procedure.step_escalation},
            "appointment": policy_to_dict(procedure.appointment_escalation)}


def _procedure(session: Session, code: str) -> Procedure:
    procedure = session.scalars(select(Procedure).where(Procedure.code == code)).first()
    if procedure is None or procedure.latest_version_id is None:
        raise NotFound(N_("No procedure has the code %(code)s. Choose one from the "
                          "catalogue."), code=code)
    return procedure


def get_policy(core: Core, code: str) -> PolicySetting:
    """The policy of procedure `code` as it applies now."""
    with core.uow() as uow:
        session = uow.session
        procedure = _procedure(session, code)
        parsed = core.parsed_for(session, procedure.latest_version_id or 0)
        setting = session.get(EscalationSetting, procedure.id)
        steps = [(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id)
                 for spec in parsed.spec.task_specs.values()
                 if getattr(spec, "manual", False) and spec.bpmn_id]
        return PolicySetting(procedure, _table(parsed), setting is not None,
                             setting.changed_by if setting else None,
                             setting.changed_at if setting else None, steps)


def set_policy(core: Core, code: str, table: dict[str, Any] | None, actor: str,
               now: datetime) -> int:
    """Set (or, with None, remove) the administrator's policy; returns dossiers rescheduled."""
    if table is not None:
        try:
            policies_from_table(table)
        except PolicyError as exc:
            raise InvalidInput(N_("The escalation policy is not valid: %(problem)s"),
                               {"policy": str(exc)}) from exc
    with core.uow() as uow:
        session = uow.session
        procedure = _procedure(session, code)
        setting = session.get(EscalationSetting, procedure.id)
        if table is None and setting is not None:
            session.delete(setting)
        elif table is not None and setting is None:
            session.add(EscalationSetting(procedure_id=procedure.id, policy=table,
                                          changed_by=actor, changed_at=now))
        elif table is not None and setting is not None:
            setting.policy, setting.changed_by, setting.changed_at = table, actor, now
        session.flush()
        moved = _reschedule(core, session, procedure.id, now)
        session.add(Event(dossier_id=None, at=now, actor=actor, kind="escalation_policy_set",
                          data={"procedure": code, "policy": table, "rescheduled": moved}))
        uow.commit()
        return moved


def _reschedule(core: Core, session: Session, procedure_id: int, now: datetime) -> int:
    """Rewrite the future due items of the procedure's open dossiers under the new policy."""
    calendar = core.calendar_for(session)
    open_statuses = [int(s) for s in DossierStatus if is_open(s)]
    dossiers = session.scalars(select(Dossier).where(
        Dossier.procedure_id == procedure_id, Dossier.status.in_(open_statuses),
        Dossier.instance_id.is_not(None))).all()
    conn = session.connection()
    for dossier in dossiers:
        parsed = core.parsed_for(session, dossier.procedure_version_id)
        raised = {(ref, level) for ref, level in session.execute(
            select(Escalation.ref, Escalation.level).where(
                Escalation.dossier_id == dossier.id))}
        session.execute(delete(DueItem).where(DueItem.dossier_id == dossier.id,
                                              DueItem.kind.in_([DEADLINE, APPOINTMENT])))
        rows: list[dict[str, Any]] = []
        if dossier.status not in _PAUSED:
            rows += due_rows(parsed.procedure.appointment_escalation, calendar, APPOINTMENT,
                             APPOINTMENT, calendar.receipt_start(dossier.received_at),
                             dossier.appointment_at, dossier.instance_id or 0, dossier.id)
        for task in session.scalars(select(Task).where(
                Task.dossier_id == dossier.id, Task.state == "ready",
                Task.due_at.is_not(None))):
            assert task.due_at is not None
            start = (calendar.receipt_start(task.created_at)
                     if task.created_at == dossier.received_at else task.created_at)
            items = due_rows(parsed.procedure.step_policy(task.bpmn_id), calendar, DEADLINE,
                             task.id, start, task.due_at, task.instance_id, dossier.id)
            task.warn_at = items[0]["due_at"]
            rows += items
        rows = [row for row in rows if (row["ref"], row["level"]) not in raised]
        if rows:
            conn.execute(insert(DueItem), rows)
    return len(dossiers)


def list_policies(core: Core) -> list[tuple[Procedure, bool]]:
    """Every procedure of the catalogue, and whether an administrator set its policy."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Procedure, EscalationSetting.procedure_id)
            .join(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)
            .outerjoin(EscalationSetting, EscalationSetting.procedure_id == Procedure.id)
            .order_by(Procedure.field, Procedure.code)).all()
        return [(procedure, overridden is not None) for procedure, overridden in rows]
