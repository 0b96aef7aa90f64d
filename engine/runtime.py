"""SpiffWorkflow behind a small interface: start, restore, complete a task, fire timers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
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
from workflows.procedure import DEFAULT_MAX_ROUNDS_PER_STEP

# SpiffWorkflow keeps every completed task: past a tree depth of about 1,000 it fails.
# No real procedure loops this often; the cap turns runaway loops into a clear refusal.
# The default of a procedure's `max_rounds_per_step` (procedure.toml), for a workflow whose
# version is not in the cache.
MAX_ROUNDS_PER_TASK = DEFAULT_MAX_ROUNDS_PER_STEP


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
            for task in _ready_user_tasks(workflow)
        ]

    def ready_ids(self, workflow: BpmnWorkflow) -> set[str]:
        """The ids of the user tasks ready for an officer."""
        return {str(task.id) for task in _ready_user_tasks(workflow)}

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
        tasks = workflow.tasks
        depth: dict[UUID, int] = {}
        deepest = 0
        for task in tasks.values():
            # A parent comes before its children in `tasks` (created, or restored, in that
            # order): one lookup each; `_depth_of` walks up for any that does not.
            parent = task._parent
            above = depth.get(parent, 0) if parent is not None else 0
            if parent is not None and not above and parent in tasks:
                above = _depth_of(tasks, parent, depth)
            depth[task.id] = above + 1
            deepest = max(deepest, above + 1)
        return len(tasks), deepest

    def _run(self, workflow: BpmnWorkflow, now: datetime) -> None:
        with engine_time(now):
            try:
                workflow.refresh_timers()
                workflow.do_engine_steps()
            except (SpiffWorkflowException, ScriptError) as exc:
                raise Incident.of(exc) from exc

    def max_rounds(self, workflow: BpmnWorkflow) -> int:
        """How often a step may run in this workflow: its procedure's `max_rounds_per_step`."""
        parsed = self.cache.get(getattr(workflow, "spec_hash", ""))
        return parsed.procedure.max_rounds_per_step if parsed else MAX_ROUNDS_PER_TASK

    def _check_rounds(self, workflow: BpmnWorkflow) -> None:
        done: Counter[str] = Counter()
        ready = []
        # One pass over the flat task list, not walks of the tree (at 200 rounds: 0.05 ms
        # against 1.2 ms).
        for task in _user_tasks(workflow):
            if task.state == TaskState.COMPLETED:
                done[task.task_spec.bpmn_id] += 1
            elif task.state == TaskState.READY:
                ready.append(task.task_spec.bpmn_id)
        limit = self.max_rounds(workflow)
        for bpmn_id in ready:
            rounds = done[bpmn_id] + 1
            if rounds > limit:
                raise LoopLimitReached(bpmn_id, rounds)


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[SpiffTask]:
    """Every task of the workflow and of its subprocesses, in no particular order."""
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _user_tasks(workflow: BpmnWorkflow) -> Iterator[SpiffTask]:
    return (task for task in _all_tasks(workflow) if task.task_spec.manual)


def _ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    """The ready user tasks, in the order of a depth-first walk of the tree (as
    `workflow.get_tasks` gives them), found by one pass over the flat task lists."""
    ready = [task for task in _user_tasks(workflow) if task.state == TaskState.READY]
    if len(ready) > 1:
        ready.sort(key=_tree_position)
    return ready


def _tree_position(task: SpiffTask) -> tuple[int, ...]:
    """Where a depth-first walk meets `task`: child indexes from the top workflow's root, a
    subprocess's tree coming before the children of the task that runs it."""
    path: list[int] = []
    while True:
        tasks = task.workflow.tasks
        while task._parent is not None:
            parent = tasks[task._parent]
            path.append(parent._children.index(task.id))
            task = parent
        parent_task_id = getattr(task.workflow, "parent_task_id", None)
        if parent_task_id is None:
            return tuple(reversed(path))
        path.append(-1)
        task = task.workflow.top_workflow.get_task_from_id(parent_task_id)


def _depth_of(tasks: dict[UUID, SpiffTask], task_id: UUID, depth: dict[UUID, int]) -> int:
    """The depth of a task whose ancestors may not be measured yet; records those on its way."""
    chain = []
    current: UUID | None = task_id
    while current is not None and current not in depth and current in tasks:
        chain.append(current)
        current = tasks[current]._parent
    above = depth.get(current, 0) if current is not None else 0
    for offset, ancestor in enumerate(reversed(chain), start=1):
        depth[ancestor] = above + offset
    return depth[task_id]
