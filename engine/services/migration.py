"""Moving running dossiers to a newer version of their procedure.

The rule, on SpiffWorkflow's workflow diff (`diff_workflow`: the instance's tasks against
the target spec, aligned by BPMN id) and on what `migrate_workflow` does (it points every
aligned task at the new spec, then resets each READY or WAITING task and predicts its
branch again from the new spec):

- every task that has run or is running (COMPLETED, STARTED, ERROR) or is waiting (READY,
  WAITING) must still exist in the target: its history or the officer's task would point
  at nothing. Predicted tasks (FUTURE, LIKELY, MAYBE) do not count: they are dropped and
  predicted again from the new spec.
- a task that has run must not have changed in how the process flows: its children in the
  tree were made by the old flow and stay. A changed type blocks; changed outgoing flows or
  conditions block unless every way the task took (its children that ran or wait) is still
  one of its outgoing flows. Changes that only matter while a step waits or runs (its
  name, documentation, lane, properties, scripts, incoming flows) are harmless.
- a waiting task may change its flows (the reset predicts them again: a step added after
  it is then taken) and its name, but not what the officer's task row was built from:
  its type, lane or properties (role, form, deadline) would silently differ from the row.
- every subprocess the instance has started must exist in the target, under the same rule.

A dossier stopped on an error (an incident) moves under the same rule: its failed task is
in ERROR, which counts as run, and its predicted branch is predicted again from the target
(`migrate_workflow` only resets READY and WAITING tasks). It stays stopped, its projections
untouched, until a retry runs the failed task again, now on the target's spec: that is how
a designer's corrected condition or script reaches a dossier that stopped on the old one.

This is SpiffWorkflow's documented example rule (no changed or removed task that has run),
widened to let a renamed step or a step added ahead of the dossier through. A dossier that
passes is then migrated on a copy and checked again: every task must point at the target
spec. Each dossier moves in a transaction of its own, with the optimistic lock of its
instance: a dossier changed meanwhile is refused with a conflict, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, select, update

from engine.bootstrap import Core
from engine.errors import CHANGED_MEANWHILE, N_, Conflict, InvalidInput, NotFound
from engine.models import Dossier, ProcedureVersion, ProcessInstance
from engine.projections import (
    DOSSIER_COLUMNS,
    DOSSIERS,
    INSTANCES,
    TASKS,
    DossierState,
    event,
    project,
    save_state,
    write_events,
)
from engine.services.incidents import INCIDENT, save_in_incident
from engine.services.versions import get_version
from engine.specs import ParsedVersion

VERSIONS = cast(Table, ProcedureVersion.__table__)
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_HAS_RUN = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
_WAITS = TaskState.READY | TaskState.WAITING
# Attributes of a task spec that no longer matter once the step has run.
_HARMLESS_WHEN_RUN = {"bpmn_name", "description", "documentation", "lane", "extensions",
                      "prescript", "postscript", "script", "data_input_associations",
                      "data_output_associations", "inputs"}
# Where a step that has run leads: harmless if the way it took still leads there.
_FLOW = {"outputs", "cond_task_specs", "default_task_spec"}
# Task spec attributes in the designer's words (the reasons name them).
_WORDS = {"outputs": N_("outgoing flows"), "inputs": N_("incoming flows"),
          "cond_task_specs": N_("conditions"), "default_task_spec": N_("default flow"),
          "typename": N_("type"), "extensions": N_("properties"),
          "manual": N_("kind of step")}
# Attributes a waiting step may change: migrate_workflow predicts its flows again.
_HARMLESS_WHEN_WAITING = {"bpmn_name", "description", "documentation", "inputs", *_FLOW}


@dataclass(frozen=True)
class Reason:
    """Why a dossier cannot move, in words (English, with parameters to translate)."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A running dossier on an older version, and whether it can move to the target."""

    dossier_id: int
    code: str
    applicant_name: str
    version: int
    revision: int
    current_steps: list[str]
    reasons: list[Reason]
    incident: str | None = None  # the error it is stopped on, if it is

    @property
    def can_move(self) -> bool:
        """Whether the dossier can move to the target version."""
        return not self.reasons


@dataclass(frozen=True)
class Preview:
    """The running dossiers of a procedure on older versions, checked against a target."""

    code: str
    target: int
    candidates: list[Candidate]


@dataclass(frozen=True)
class Outcome:
    """What happened to one dossier asked to move."""

    code: str
    moved: bool
    reasons: list[Reason]
    conflict: bool = False
    incident: bool = False  # moved, still stopped on its error: retry it


# Running, or stopped on an error: a dossier stopped on an old version's error moves to the
# corrected version, and its retry then runs the correction.
_RUNNING = (
    select(*DOSSIER_COLUMNS, DOSSIERS.c.instance_id, DOSSIERS.c.procedure_version_id,
           VERSIONS.c.version, INSTANCES.c.state.label("workflow_state"),
           INSTANCES.c.revision, INSTANCES.c.status.label("instance_status"),
           INSTANCES.c.incident)
    .join(INSTANCES, INSTANCES.c.id == DOSSIERS.c.instance_id)
    .join(VERSIONS, VERSIONS.c.id == DOSSIERS.c.procedure_version_id)
    .where(INSTANCES.c.status.in_(["running", INCIDENT]))
)


def _incident(row: Any) -> str | None:
    return (row.incident or "") if row.instance_status == INCIDENT else None


def preview(core: Core, code: str, target: int) -> Preview:
    """Each running (or stopped) dossier on a version older than `target`: can it move, and
    if not why."""
    candidates = []
    with core.uow() as uow:
        version = get_version(uow.session, code, target)
        parsed = core.parsed_for(uow.session, version.id)
        rows = uow.session.connection().execute(_RUNNING.where(
            DOSSIERS.c.procedure_id == version.procedure_id,
            VERSIONS.c.version < target).order_by(DOSSIERS.c.received_at)).all()
        for row in rows:
            # Parsed on this session first: the serializer would open a second one otherwise.
            core.parsed_for(uow.session, row.procedure_version_id)
            workflow = core.runtime.restore(row.workflow_state)
            candidates.append(Candidate(
                dossier_id=row.id, code=row.code, applicant_name=row.applicant_name,
                version=row.version, revision=row.revision,
                current_steps=[t.name for t in core.runtime.ready_tasks(workflow)],
                reasons=check(core, row.workflow_state, parsed), incident=_incident(row)))
    return Preview(code=code, target=target, candidates=candidates)


def check(core: Core, state: bytes, target: ParsedVersion) -> list[Reason]:
    """Why the workflow stored as `state` cannot move to `target` (none: it can)."""
    workflow = core.runtime.restore(state)
    top, subprocess_diffs = diff_workflow(_REGISTRY, workflow, target.spec,
                                          target.subprocess_specs)
    reasons = _reasons(top, workflow)
    for sp_id, sp_diff in subprocess_diffs.items():
        if sp_diff is None:
            name = workflow.subprocesses[sp_id].spec.name
            reasons.append(Reason(N_("its subprocess '%(name)s' was removed"), {"name": name}))
        else:
            reasons += _reasons(sp_diff, workflow.subprocesses[sp_id])
    if not reasons:
        reasons += _trial(core.runtime.restore(state), target)
    return _unique(reasons)


def _name(task: SpiffTask) -> str:
    return str(task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name)


def _reasons(diff: WorkflowDiff, workflow: Any) -> list[Reason]:
    reasons = []
    for task in diff.removed:
        if task.has_state(_WAITS):
            reasons.append(Reason(N_("its current step '%(name)s' was removed"),
                                  {"name": _name(task)}))
        elif task.has_state(_HAS_RUN):
            reasons.append(Reason(N_("its completed step '%(name)s' was removed"),
                                  {"name": _name(task)}))
    changes = _changes(diff, workflow)
    for task in diff.changed:
        what = set(changes.get(task.task_spec, []))
        if task.has_state(_HAS_RUN) and what & _FLOW and _still_leads(task, diff):
            what -= _FLOW
        if task.has_state(_HAS_RUN) and what - _HARMLESS_WHEN_RUN:
            reasons.append(Reason(N_("its completed step '%(name)s' was changed (%(what)s)"),
                                  {"name": _name(task),
                                   "what": _words(what - _HARMLESS_WHEN_RUN)}))
        elif task.has_state(_WAITS) and what - _HARMLESS_WHEN_WAITING:
            reasons.append(Reason(N_("its current step '%(name)s' was changed (%(what)s)"),
                                  {"name": _name(task),
                                   "what": _words(what - _HARMLESS_WHEN_WAITING)}))
    return reasons


def _words(attributes: set[str]) -> str:
    return ", ".join(sorted({_WORDS.get(name, name) for name in attributes}))


def _still_leads(task: SpiffTask, diff: WorkflowDiff) -> bool:
    """Whether every way a step that has run took (its children that ran or wait) is still
    one of its outgoing flows in the target."""
    new_spec = diff.alignment.get(task)
    if new_spec is None:
        return False
    outputs = {spec.name for spec in new_spec.outputs}
    return all(child.task_spec.name in outputs for child in task.children
               if child.has_state(_HAS_RUN | _WAITS))


def _changes(diff: WorkflowDiff, workflow: Any) -> dict[Any, list[str]]:
    """The changed attributes of each changed task spec (WorkflowDiff keeps only the tasks)."""
    found: dict[Any, list[str]] = {}
    for task in diff.changed:
        new_spec = diff.alignment.get(task)
        if new_spec is None:
            continue
        old = _REGISTRY.convert(task.task_spec)
        new = _REGISTRY.convert(new_spec)
        found[task.task_spec] = (["typename"] if old.get("typename") != new.get("typename")
                                 else [k for k, v in old.items() if new.get(k) != v])
    return found


def _trial(copy: BpmnWorkflow, target: ParsedVersion) -> list[Reason]:
    """Migrate a copy and check that every task now points at the target spec."""
    try:
        _migrate(copy, target)
    except Exception as exc:  # noqa: BLE001 - any failure means: do not move
        return [Reason(N_("the engine cannot move it: %(detail)s"), {"detail": str(exc)})]
    specs = [copy.spec, *target.subprocess_specs.values()]
    for task in copy.get_tasks():
        if not any(spec.task_specs.get(task.task_spec.name) is task.task_spec for spec in specs):
            return [Reason(N_("its step '%(name)s' has no place in the new version"),
                           {"name": _name(task)})]
    return []


def _migrate(workflow: BpmnWorkflow, target: ParsedVersion) -> None:
    top, subprocess_diffs = diff_workflow(_REGISTRY, workflow, target.spec,
                                          target.subprocess_specs)
    migrate_workflow(top, workflow, target.spec)
    _predict_failed_again(workflow)
    for sp_id, sp in workflow.subprocesses.items():
        migrate_workflow(subprocess_diffs[sp_id], sp, target.subprocess_specs[sp.spec.name])
        _predict_failed_again(sp)
    workflow.subprocess_specs = target.subprocess_specs
    workflow.spec_hash = target.content_hash


def _predict_failed_again(workflow: Any) -> None:
    """Predict the branch after each failed task (an incident's) again from its new spec, as
    `migrate_workflow` does for waiting tasks: the old prediction may name removed steps."""
    for task in workflow.get_tasks(state=TaskState.ERROR, skip_subprocesses=True):
        if any(child.has_state(TaskState.FINISHED_MASK) for child in task.children):
            continue  # a branch that has run is never dropped (the trial then refuses)
        task._drop_children()
        task._set_state(TaskState.FUTURE)  # as Task.reset_branch predicts, state kept
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
        task._set_state(TaskState.ERROR)


def _unique(reasons: list[Reason]) -> list[Reason]:
    seen: list[Reason] = []
    for reason in reasons:
        if reason not in seen:
            seen.append(reason)
    return seen


def migrate(core: Core, code: str, target: int, dossiers: dict[str, int | None], actor: str,
            now: datetime) -> list[Outcome]:
    """Move the dossiers (code → the revision the caller saw, or None) to version `target`.

    Each dossier moves or not on its own; the outcomes say which did and why not.
    """
    outcomes = []
    for dossier_code, revision in dossiers.items():
        try:
            stopped = migrate_dossier(core, code, target, dossier_code, revision, actor, now)
            outcomes.append(Outcome(dossier_code, True, [], incident=stopped))
        except Cannot as exc:
            outcomes.append(Outcome(dossier_code, False, exc.reasons))
        except Conflict as exc:
            outcomes.append(Outcome(dossier_code, False, [Reason(exc.message, exc.params)],
                                    conflict=True))
    return outcomes


class Cannot(InvalidInput):
    """The dossier cannot move to the target version; `reasons` say why."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(N_("This dossier cannot move to the new version."), {})
        self.reasons = reasons


def migrate_dossier(core: Core, code: str, target: int, dossier_code: str,
                    expected_revision: int | None, actor: str, now: datetime) -> bool:
    """Move one running dossier to version `target` in one transaction (see the module);
    True if it is stopped on an error, to retry now that it runs on the target."""
    with core.uow() as uow:
        version = get_version(uow.session, code, target)
        row = uow.session.connection().execute(_RUNNING.where(
            DOSSIERS.c.code == dossier_code,
            DOSSIERS.c.procedure_id == version.procedure_id)).first()
        if row is None:
            raise NotFound(N_("Dossier %(code)s is not a running dossier of this procedure."),
                           code=dossier_code)
        if expected_revision is not None and row.revision != expected_revision:
            raise Conflict(CHANGED_MEANWHILE)
        if row.procedure_version_id == version.id or row.version > target:
            raise Cannot([Reason(N_("it already runs on version %(number)s"),
                                 {"number": row.version})])
        parsed = core.parsed_for(uow.session, version.id)
        core.parsed_for(uow.session, row.procedure_version_id)  # see preview
        reasons = check(core, row.workflow_state, parsed)
        if reasons:
            raise Cannot(reasons)
        workflow = core.runtime.restore(row.workflow_state)
        before = {task.id: task.name for task in core.runtime.ready_tasks(workflow)}
        _migrate(workflow, parsed)
        conn = uow.session.connection()
        stopped = row.instance_status == INCIDENT
        if stopped:  # its projections stay as they are until a retry succeeds
            save_in_incident(conn, core.runtime, row.instance_id, row.revision, workflow)
        else:
            save_state(conn, core.runtime, row.instance_id, row.revision, workflow, now)
        conn.execute(update(INSTANCES).where(INSTANCES.c.id == row.instance_id)
                     .values(procedure_version_id=version.id))
        conn.execute(update(DOSSIERS).where(DOSSIERS.c.id == row.id)
                     .values(procedure_version_id=version.id))
        after = core.runtime.ready_tasks(workflow)
        for task in after:  # a renamed step keeps its row, claim and deadline
            if task.id in before and before[task.id] != task.name:
                conn.execute(update(TASKS).where(TASKS.c.id == task.id).values(name=task.name))
        events = [event(row.id, "migrated", now, actor,
                        data={"from": row.version, "to": target})]
        if not stopped:
            project(conn, core.runtime, core.calendar_for(uow.session), parsed,
                    DossierState.of(row), row.instance_id, workflow, now, actor, events,
                    previous=set(before))
        write_events(conn, events)
        uow.commit()
        return stopped


def dossier_revision(core: Core, dossier_code: str) -> int:
    """The revision of a dossier's process instance now (for optimistic callers)."""
    with core.uow() as uow:
        revision = uow.session.scalar(
            select(ProcessInstance.revision).join(Dossier, Dossier.instance_id
                                                  == ProcessInstance.id)
            .where(Dossier.code == dossier_code))
        if revision is None:
            raise NotFound(N_("There is no dossier with code %(code)s."), code=dossier_code)
        return int(revision)
