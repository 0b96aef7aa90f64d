"""SpiffWorkflow behind a small interface: start, restore, complete a task, fire timers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.clock import engine_time
from engine.scripting import SCRIPT_ENGINE, ScriptError
from engine.serializer import LeanSerializer, new_workflow
from engine.specs import ParsedVersion, SpecCache, user_task_properties

# SpiffWorkflow keeps every completed task: past a tree depth of about 1,000 it fails.
# No real procedure loops this often; the cap turns runaway loops into a clear refusal.
MAX_ROUNDS_PER_TASK = 25


class Incident(Exception):
    """The engine failed while running a step (a script or condition raised)."""

    def __init__(self, message: str, bpmn_id: str | None = None,
                 name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bpmn_id = bpmn_id
        self.name = name

    def describe(self) -> str:
        """The element that failed and the error, as stored with the instance."""
        if self.bpmn_id is None:
            return self.message
        label = f"'{self.bpmn_id}'" + (f" ({self.name})" if self.name else "")
        return f"{label}: {self.message}"

    @classmethod
    def of(cls, exc: Exception) -> Incident:
        """From what SpiffWorkflow (or the restricted environment) raised."""
        spec = getattr(exc, "task_spec", None)
        message = str(exc).strip().rstrip(".").strip()
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, SpiffWorkflowException) \
                and str(cause) not in message:
            message = f"{message}: {type(cause).__name__}: {cause}"
        message = " ".join(message.split())  # one line, for lists and banners
        return cls(message, getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None))


class LoopLimitReached(Exception):
    """A step would run more often than an instance allows."""

    def __init__(self, bpmn_id: str, rounds: int) -> None:
        super().__init__(f"step '{bpmn_id}' would run for the {rounds}th time")
        self.bpmn_id = bpmn_id
        self.rounds = rounds


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for an officer, as the projections need it."""

    id: str
    bpmn_id: str
    name: str
    lane: str | None
    properties: dict[str, str]


@dataclass(frozen=True)
class WaitingTimer:
    """A BPMN timer event waiting to fire at `due_at`."""

    ref: str
    due_at: datetime


class Runtime:
    """Runs workflows of parsed versions; knows nothing of the database."""

    def __init__(self, cache: SpecCache, serializer: LeanSerializer) -> None:
        self.cache = cache
        self.serializer = serializer

    def start(self, parsed: ParsedVersion, data: dict[str, Any], now: datetime) -> BpmnWorkflow:
        """A new workflow with `data`, run to its first wait."""
        workflow = self.begin(parsed, data)
        self._run(workflow, now)
        return workflow

    def begin(self, parsed: ParsedVersion, data: dict[str, Any]) -> BpmnWorkflow:
        """A new workflow with `data`, not yet run (see `advance`)."""
        workflow = new_workflow(parsed)
        workflow.script_engine = SCRIPT_ENGINE
        workflow.data.update(data)
        workflow.task_tree.data.update(data)
        return workflow

    def advance(self, workflow: BpmnWorkflow, now: datetime) -> None:
        """Run a workflow to its next wait; Incident if a script or condition fails."""
        self._run(workflow, now)

    def restore(self, state: bytes) -> BpmnWorkflow:
        """A workflow from its stored state."""
        workflow = self.serializer.loads(state)
        workflow.script_engine = SCRIPT_ENGINE
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> bytes:
        """The stored state of a workflow."""
        return self.serializer.dumps(workflow)

    def ready_tasks(self, workflow: BpmnWorkflow) -> list[ReadyTask]:
        """The user tasks ready for an officer."""
        return [
            ReadyTask(
                id=str(task.id),
                bpmn_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                lane=task.task_spec.lane,
                properties=user_task_properties(task.task_spec),
            )
            for task in workflow.get_tasks(state=TaskState.READY, manual=True)
        ]

    def complete(self, workflow: BpmnWorkflow, task_id: str, data: dict[str, Any],
                 now: datetime) -> None:
        """Complete a ready user task with form data and run the engine to its next wait."""
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise KeyError(task_id)
        task.set_data(**data)
        with engine_time(now):
            try:
                task.run()
            except (SpiffWorkflowException, ScriptError) as exc:
                raise Incident.of(exc) from exc
        self._run(workflow, now)
        self._check_rounds(workflow)

    def failed(self, workflow: BpmnWorkflow) -> list[SpiffTask]:
        """The tasks left in error by a failed run (an incident)."""
        return list(workflow.get_tasks(state=TaskState.ERROR))

    def retry(self, workflow: BpmnWorkflow, completed: set[str], now: datetime) -> None:
        """Run the failed tasks again, then the engine to its next wait.

        A user task in error whose id is in `completed` failed after an officer completed it
        (its post-script): it is completed again with its data. Any other task is reset to
        wait for its predecessors again (taking their data, corrected or not) and rerun.
        """
        with engine_time(now):
            try:
                for task in self.failed(workflow):
                    if task.task_spec.manual and str(task.id) in completed:
                        task._set_state(TaskState.READY)
                        task.run()
                    else:
                        task._set_state(TaskState.FUTURE)
                        task.task_spec._update(task)
            except (SpiffWorkflowException, ScriptError) as exc:
                raise Incident.of(exc) from exc
        self._run(workflow, now)
        self._check_rounds(workflow)

    def fire_timers(self, workflow: BpmnWorkflow, now: datetime) -> None:
        """Fire the timers due at `now` and run the engine to its next wait."""
        self._run(workflow, now)

    def waiting_timers(self, workflow: BpmnWorkflow) -> list[WaitingTimer]:
        """Every timer the workflow waits on, with its absolute due time."""
        timers = []
        for event in workflow.waiting_events():
            # Duration, date and cycle timers all end with this name.
            if not str(event.event_type).endswith("TimerEventDefinition") or not event.value:
                continue
            timers.append(WaitingTimer(ref=str(event.name), due_at=datetime.fromisoformat(
                str(event.value))))
        return timers

    def measure(self, workflow: BpmnWorkflow) -> tuple[int, int]:
        """Task count and tree depth of a workflow (its growth)."""
        depth = {workflow.task_tree.id: 1}
        deepest = 1
        stack: list[SpiffTask] = [workflow.task_tree]
        while stack:
            task = stack.pop()
            for child in task.children:
                depth[child.id] = depth[task.id] + 1
                deepest = max(deepest, depth[child.id])
                stack.append(child)
        return len(workflow.tasks), deepest

    def _run(self, workflow: BpmnWorkflow, now: datetime) -> None:
        with engine_time(now):
            try:
                workflow.refresh_timers()
                workflow.do_engine_steps()
            except (SpiffWorkflowException, ScriptError) as exc:
                raise Incident.of(exc) from exc

    def _check_rounds(self, workflow: BpmnWorkflow) -> None:
        done = Counter(
            task.task_spec.bpmn_id
            for task in workflow.get_tasks(state=TaskState.COMPLETED, manual=True)
        )
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            rounds = done[task.task_spec.bpmn_id] + 1
            if rounds > MAX_ROUNDS_PER_TASK:
                raise LoopLimitReached(task.task_spec.bpmn_id, rounds)
