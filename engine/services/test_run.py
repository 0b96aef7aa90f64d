"""Test runs: a designer walks a draft with sample data, in memory, without a dossier.

The run's state is the lean serialization of its workflow, kept in a small server-side
store keyed by a random id for an hour; nothing is written to the database. (With several
worker processes a run lives in the worker that started it: a designer's tool, not a
dossier's.)
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput, NotFound
from engine.runtime import Incident, LoopLimitReached
from engine.specs import Package, PackageError, ParsedVersion
from workflows.forms import field_errors

TTL = timedelta(hours=1)
MAX_RUNS = 200


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


@dataclass
class _Stored:
    code: str
    source: str
    package: Package
    state: bytes
    path: list[str]
    expires_at: datetime


class RunStore:
    """Test runs by id, each forgotten `TTL` after its last use."""

    def __init__(self) -> None:
        self._runs: dict[str, _Stored] = {}
        self._lock = threading.Lock()

    def put(self, run_id: str, stored: _Stored, now: datetime) -> None:
        """Keep a run until `TTL` from now."""
        with self._lock:
            self._forget_expired(now)
            if len(self._runs) >= MAX_RUNS:  # the oldest go first
                for key in sorted(self._runs, key=lambda k: self._runs[k].expires_at)[:10]:
                    del self._runs[key]
            stored.expires_at = now + TTL
            self._runs[run_id] = stored

    def get(self, run_id: str, now: datetime) -> _Stored:
        """The run with this id, if it has not expired."""
        with self._lock:
            self._forget_expired(now)
            stored = self._runs.get(run_id)
        if stored is None:
            raise NotFound(N_("This test run has ended or expired. Start a new one."))
        return stored

    def _forget_expired(self, now: datetime) -> None:
        for key in [k for k, run in self._runs.items() if run.expires_at <= now]:
            del self._runs[key]


STORE = RunStore()


def start(core: Core, code: str, package: Package, source: str, data: dict[str, Any],
          now: datetime, store: RunStore = STORE) -> TestRun:
    """Start a test run of `package` with the dossier's start data, to its first wait."""
    parsed = _parse(core, package)
    with _engine_errors():
        workflow = core.runtime.start(parsed, {"dossier_code": "TEST", "channel": "in_person",
                                               **data}, now)
    run_id = secrets.token_urlsafe(16)
    stored = _Stored(code, source, package, b"", [], now)
    _save(core, store, run_id, stored, workflow, now)
    return _view(run_id, stored, parsed, workflow)


def get(core: Core, run_id: str, now: datetime, store: RunStore = STORE) -> TestRun:
    """Where a test run stands."""
    stored = store.get(run_id, now)
    parsed = _parse(core, stored.package)
    return _view(run_id, stored, parsed, core.runtime.restore(stored.state))


def complete(core: Core, run_id: str, task_id: str, data: dict[str, Any], now: datetime,
             lang: str = "vi", store: RunStore = STORE) -> TestRun:
    """Complete a ready step of a test run with form data and run to the next wait."""
    stored = store.get(run_id, now)
    parsed = _parse(core, stored.package)
    workflow = core.runtime.restore(stored.state)
    step = next((s for s in _ready(parsed, workflow) if s.id == task_id), None)
    if step is None:
        raise Conflict(N_("This step is no longer waiting in the test run."))
    errors = field_errors(step.form, data, lang) if step.form else {}
    if errors:
        raise InvalidInput(N_("The form has errors: correct the fields marked."), errors)
    with _engine_errors():
        core.runtime.complete(workflow, task_id, data, now)
    _save(core, store, run_id, stored, workflow, now)
    return _view(run_id, stored, parsed, workflow)


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


def _save(core: Core, store: RunStore, run_id: str, stored: _Stored, workflow: BpmnWorkflow,
          now: datetime) -> None:
    stored.path = _path(workflow)
    stored.state = core.runtime.dump(workflow)
    store.put(run_id, stored, now)


def _path(workflow: BpmnWorkflow) -> list[str]:
    """The BPMN elements completed, in the order they completed."""
    done = [task for task in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(task.task_spec, "bpmn_id", None)]
    done.sort(key=lambda task: task.last_state_change)
    return [task.task_spec.bpmn_id for task in done]


def _ready(parsed: ParsedVersion, workflow: BpmnWorkflow) -> list[ReadyStep]:
    steps = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        props = task.task_spec.extensions.get("properties", {}) if getattr(
            task.task_spec, "extensions", None) else {}
        form_key = props.get("formKey")
        steps.append(ReadyStep(id=str(task.id), bpmn_id=task.task_spec.bpmn_id,
                               name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                               lane=task.task_spec.lane, form_key=form_key,
                               form=parsed.forms.get(form_key) if form_key else None))
    return steps


def _view(run_id: str, stored: _Stored, parsed: ParsedVersion, workflow: BpmnWorkflow
          ) -> TestRun:
    return TestRun(id=run_id, code=stored.code, source=stored.source, path=list(stored.path),
                   ready=_ready(parsed, workflow), completed=workflow.is_completed(),
                   data=dict(workflow.data), bpmn_xml=stored.package.bpmn_xml,
                   names={spec.bpmn_id: spec.bpmn_name for spec in parsed.spec.task_specs.values()
                          if getattr(spec, "bpmn_id", None) and getattr(spec, "bpmn_name", None)})
