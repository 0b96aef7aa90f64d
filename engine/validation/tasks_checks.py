"""User tasks: each in a lane mapped to a role, with an existing form and a valid step deadline."""

from __future__ import annotations

from typing import Any

from engine.validation.model import (
    SCOPES,
    USER_TASKS,
    bpmn_name,
    descendants,
    spiff_properties,
)
from engine.validation.problems import Problem, element_name, problem


def user_tasks(processes: list[Any]) -> list[Any]:
    """The user (and manual) tasks of these processes, subprocesses included."""
    return [task for process in processes for task in descendants(process, *USER_TASKS)]


def task_problems(root: Any, processes: list[Any], lanes: set[str],
                  forms: dict[str, Any]) -> list[Problem]:
    """Lanes, roles, forms and step deadlines of every user task."""
    lane_of = _lanes_by_node(root)
    found: list[Problem] = []
    unmapped: dict[Any, list[str]] = {}
    for task in user_tasks(processes):
        name = element_name(task)
        lane = _task_lane(task, lane_of)
        if lane is None:
            found.append(problem("user_task_without_lane", task, name=name))
        elif lane.get("name") not in lanes:
            unmapped.setdefault(lane, []).append(name)
        found.extend(_property_problems(task, name, forms))
        if not (task.get("name") or "").strip():
            found.append(problem("unnamed_user_task", task, name=name))
    for lane, tasks in unmapped.items():
        found.append(problem("lane_without_role", lane, name=element_name(lane),
                             tasks=", ".join(tasks)))
    return found


def _property_problems(task: Any, name: str, forms: dict[str, Any]) -> list[Problem]:
    props = spiff_properties(task)
    found = []
    form_key = props.get("formKey", "").strip()
    if not form_key:
        found.append(problem("user_task_without_form", task, name=name))
    elif form_key not in forms:
        found.append(problem("form_missing", task, name=name, form=form_key))
    if "slaWorkingDays" not in props:
        found.append(problem("user_task_without_sla", task, name=name))
    elif not _valid_sla(props["slaWorkingDays"]):
        found.append(problem("sla_invalid", task, name=name, value=props["slaWorkingDays"]))
    if "appointmentWorkingDays" in props and not _valid_sla(props["appointmentWorkingDays"]):
        found.append(problem("appointment_days_invalid", task, name=name,
                             value=props["appointmentWorkingDays"]))
    return found


def _valid_sla(value: str) -> bool:
    try:
        days = float(value)
    except ValueError:
        return False
    return days > 0 and (days * 2).is_integer()


def _lanes_by_node(root: Any) -> dict[str, Any]:
    # As SpiffWorkflow reads them: every flowNodeRef of the file, the last (innermost) one wins,
    # its text taken as it is.
    lanes: dict[str, Any] = {}
    for lane in descendants(root, "lane"):
        for ref in lane:
            if bpmn_name(ref) == "flowNodeRef" and ref.text:
                lanes[ref.text] = lane
    return lanes


def _task_lane(task: Any, lane_of: dict[str, Any]) -> Any:
    # A task inside a subprocess works in the lane of the outermost subprocess that has one.
    ancestors = [a for a in task.iterancestors() if bpmn_name(a) in SCOPES]
    for scope in reversed(ancestors):
        if bpmn_name(scope) != "process" and scope.get("id") in lane_of:
            return lane_of[scope.get("id")]
    return lane_of.get(str(task.get("id")))
