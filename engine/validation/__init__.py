"""Validation of a procedure package before deployment: every problem, tied to its element.

Errors block deployment; warnings are shown and allowed. Nothing a designer uploads makes
`validate_package` raise: each failure becomes a Problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.specs import Package
from engine.validation.expressions import expression_problems
from engine.validation.forms_checks import form_problems
from engine.validation.graph import graph_problems
from engine.validation.model import element_by_id, processes_to_check
from engine.validation.problems import ERROR, RULES, WARNING, Problem, ordered, problem
from engine.validation.spiff_checks import (
    engine_problems,
    mapped_lanes,
    procedure_problems,
    process_problems,
)
from engine.validation.tasks_checks import task_problems, user_tasks
from engine.validation.xml_checks import (
    MAX_BPMN_BYTES,
    encoded,
    parse_xml,
    schema_problems,
)

__all__ = ["ERROR", "MAX_BPMN_BYTES", "RULES", "WARNING", "Problem", "blocking",
           "validate_package"]


def validate_package(package: Package) -> list[Problem]:
    """Every problem of a package, errors first; never raises on bad input."""
    try:
        return ordered(_problems(package))
    except Exception as exc:  # a bug here must not become a server error for the designer
        return [_failed("package", exc)]


def blocking(problems: list[Problem]) -> bool:
    """True if any problem is an error (which blocks deployment)."""
    return any(p.severity == ERROR for p in problems)


def _problems(package: Package) -> list[Problem]:
    meta = package.meta
    procedure, found = procedure_problems(meta)
    raw_id = meta.get("process_id") if isinstance(meta, dict) else None
    process_id = str(raw_id) if isinstance(raw_id, str | int | float) else None
    data = encoded(package.bpmn_xml)
    root, unreadable = parse_xml(data)
    if root is None:
        return found + unreadable
    tree, schema = _guarded("schema", lambda: schema_problems(data), default=(None, []))
    found += schema
    missing = process_problems(root, process_id)
    found += missing
    processes = processes_to_check(root, process_id)
    tasks = user_tasks(processes)
    lanes = mapped_lanes(procedure, meta)
    forms = package.forms if isinstance(package.forms, dict) else {}
    checks: dict[str, Callable[[], list[Problem]]] = {
        "tasks": lambda: task_problems(root, processes, lanes, forms),
        "forms": lambda: form_problems(package.forms, tasks),
        "expressions": lambda: expression_problems(processes),
        "graph": lambda: graph_problems(processes),
    }
    for name, check in checks.items():
        found += _guarded(name, check, default=[])
    if tree is not None and not schema and not missing:
        # SpiffWorkflow stops at its first error: keep it only if it says something new.
        engine = _guarded("engine", lambda: engine_problems(tree, root, str(process_id)),
                          default=[])
        found += [p for p in engine if not _already_reported(p, found, root)]
    return found


def _already_reported(engine_problem: Problem, found: list[Problem], root: Any) -> bool:
    if engine_problem.element_id is None:
        return False
    related = {engine_problem.element_id}
    element = element_by_id(root, engine_problem.element_id)
    if element is not None and element.get("sourceRef"):
        related.add(element.get("sourceRef"))  # a flow's problem is its gateway's problem
    return any(p.severity == ERROR and p.element_id in related for p in found)


def _guarded(name: str, check: Callable[[], Any], default: Any) -> Any:
    try:
        return check()
    except Exception as exc:
        return _add_failure(default, _failed(name, exc))


def _add_failure(default: Any, failure: Problem) -> Any:
    if isinstance(default, tuple):
        return default[0], [failure]
    return [failure]


def _failed(check: str, exc: Exception) -> Problem:
    return problem("check_failed", check=check, detail=f"{type(exc).__name__}: {exc}"[:300])
