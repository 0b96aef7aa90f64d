"""Test runs: a designer walks a draft or a version with sample data, without a dossier.

The run's package and the lean serialization of its workflow are kept in the test_run
table under a random id, for an hour after its last use, so that any worker process goes on
with it; no dossier, task or event is written.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput, NotFound
from engine.models import StoredTestRun
from engine.runtime import Incident, LoopLimitReached
from engine.specs import Package, PackageError, ParsedVersion
from workflows.forms import field_errors

TTL = timedelta(hours=1)
MAX_RUNS = 200
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # secrets.token_urlsafe(16): 22 of these


@dataclass(frozen=True)
class ReadyStep:
    """A user task waiting in a test run, with its form."""

    id: str
    bpmn_id: str
    name: str
    lane: str | None
    form_key: str | None
    form: dict[str, Any] | None


@dataclass(frozen=True)
class TestRun:
    """Where a test run stands: the path it took and the steps it waits on."""

    id: str
    code: str
    source: str
    path: list[str]
    ready: list[ReadyStep]
    completed: bool
    data: dict[str, Any]
    bpmn_xml: str = field(repr=False)
    names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> list[str]:
        """The BPMN ids of the ready steps (the diagram highlights them)."""
        return [step.bpmn_id for step in self.ready]


def start(core: Core, code: str, package: Package, source: str, data: dict[str, Any],
          now: datetime, lang: str = "vi") -> TestRun:
    """Start a test run of `package` with the dossier's start data, to its first wait."""
    parsed = _parse(core, package)
    with _engine_errors():
        workflow = core.runtime.start(parsed, {"dossier_code": "TEST", "channel": "in_person",
                                               **data}, now)
    if source != "draft":
        source = str(int(source))  # "01" is version 1
    run = StoredTestRun(id=secrets.token_urlsafe(16), code=code, source=source,
                        package={"bpmn_xml": package.bpmn_xml, "forms": package.forms,
                                 "meta": package.meta},
                        state=core.runtime.dump(workflow), path=_path(workflow), revision=1,
                        expires_at=now + TTL)
    with core.uow() as uow:
        _forget_old(uow.session, now)
        uow.session.add(run)
        uow.commit()
    return _view(run, parsed, workflow, lang)


def get(core: Core, run_id: str, now: datetime, code: str | None = None, lang: str = "vi"
        ) -> TestRun:
    """Where a test run stands (with `code`: only a run of that procedure)."""
    with core.reads() as uow:
        run = _stored(uow.session, run_id, now, code)
    parsed = _parse(core, _package(run))
    return _view(run, parsed, core.runtime.restore(run.state), lang)


def complete(core: Core, run_id: str, task_id: str, data: dict[str, Any], now: datetime,
             lang: str = "vi", code: str | None = None) -> TestRun:
    """Complete a ready step of a test run with form data and run to the next wait.

    Two completions of the same run at once (two windows, a double click): the second to
    save finds the run moved on and is refused, as a dossier's step would be."""
    with core.uow() as uow:
        run = _stored(uow.session, run_id, now, code)
        parsed = _parse(core, _package(run))
        workflow = core.runtime.restore(run.state)
        step = next((s for s in _ready(parsed, workflow) if s.id == task_id), None)
        if step is None:
            raise Conflict(N_("This step is no longer waiting in the test run."))
        errors = field_errors(step.form, data, lang) if step.form else {}
        if errors:
            raise InvalidInput(N_("The form has errors: correct the fields marked."), errors)
        with _engine_errors():
            core.runtime.complete(workflow, task_id, data, now)
        state, path = core.runtime.dump(workflow), _path(workflow)
        saved = uow.session.execute(
            update(StoredTestRun)
            .where(StoredTestRun.id == run_id, StoredTestRun.revision == run.revision)
            .values(state=state, path=path, revision=run.revision + 1, expires_at=now + TTL)
            .execution_options(synchronize_session=False))
        if saved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(N_("The test run moved on meanwhile (in another window?): reload "
                              "it and try again."))
        uow.commit()
    run.path = path
    return _view(run, parsed, workflow, lang)


def _stored(session: Session, run_id: str, now: datetime, code: str | None) -> StoredTestRun:
    """The run with this id, if it has not expired (and is of procedure `code`, if given)."""
    run = session.get(StoredTestRun, run_id) if _RUN_ID.fullmatch(run_id) else None
    if run is None or run.expires_at <= now or code not in (None, run.code):
        raise NotFound(N_("This test run has ended or expired. Start a new one."))
    return run


def _forget_old(session: Session, now: datetime) -> None:
    """Drop the expired runs, and the oldest beyond `MAX_RUNS`."""
    session.execute(delete(StoredTestRun).where(StoredTestRun.expires_at <= now))
    oldest = session.scalars(select(StoredTestRun.id).order_by(StoredTestRun.expires_at.desc())
                             .offset(MAX_RUNS - 1)).all()
    if oldest:
        session.execute(delete(StoredTestRun).where(StoredTestRun.id.in_(oldest)))


def _package(run: StoredTestRun) -> Package:
    return Package(bpmn_xml=run.package["bpmn_xml"], forms=run.package["forms"],
                   meta=run.package["meta"])


def _parse(core: Core, package: Package) -> ParsedVersion:
    try:
        return core.cache.load(package)
    except PackageError as exc:
        raise Conflict(N_("The procedure cannot run: %(detail)s"), detail=str(exc)) from exc


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Turns the engine's failures into a message for the designer."""
    try:
        yield
    except LoopLimitReached as exc:
        raise Conflict(N_("Step %(step)s would run too many times."), step=exc.bpmn_id) from exc
    except Incident as exc:
        raise Conflict(N_("The procedure failed at this step: %(detail)s"),
                       detail=str(exc)) from exc


def _path(workflow: BpmnWorkflow) -> list[str]:
    """The BPMN elements completed, in the order they completed."""
    done = [task for task in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(task.task_spec, "bpmn_id", None)]
    done.sort(key=lambda task: task.last_state_change)
    return [task.task_spec.bpmn_id for task in done]


def _ready(parsed: ParsedVersion, workflow: BpmnWorkflow, lang: str = "vi") -> list[ReadyStep]:
    procedure = parsed.procedure
    steps = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        props = task.task_spec.extensions.get("properties", {}) if getattr(
            task.task_spec, "extensions", None) else {}
        form_key = props.get("formKey")
        steps.append(ReadyStep(id=str(task.id), bpmn_id=task.task_spec.bpmn_id,
                               name=procedure.step_title(
                                   task.task_spec.bpmn_id,
                                   task.task_spec.bpmn_name or task.task_spec.bpmn_id, lang),
                               lane=procedure.lane_title(task.task_spec.lane, lang)
                               if task.task_spec.lane else None, form_key=form_key,
                               form=parsed.forms.get(form_key) if form_key else None))
    return steps


def _view(run: StoredTestRun, parsed: ParsedVersion, workflow: BpmnWorkflow, lang: str
          ) -> TestRun:
    """The run as the designer sees it, steps and lanes named in `lang` where the
    procedure.toml has their English names."""
    title = parsed.procedure.step_title
    return TestRun(id=run.id, code=run.code, source=run.source, path=list(run.path),
                   ready=_ready(parsed, workflow, lang), completed=workflow.is_completed(),
                   data=dict(workflow.data), bpmn_xml=run.package["bpmn_xml"],
                   names={spec.bpmn_id: title(spec.bpmn_id, spec.bpmn_name, lang)
                          for spec in parsed.spec.task_specs.values()
                          if getattr(spec, "bpmn_id", None) and getattr(spec, "bpmn_name", None)})
