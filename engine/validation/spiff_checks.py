"""procedure.toml and SpiffWorkflow's own reading of the diagram."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.validation.model import element_by_id, process_ids
from engine.validation.problems import Problem, problem
from workflows.procedure import Procedure, procedure_from_dict


def procedure_problems(meta: Any) -> tuple[Procedure | None, list[Problem]]:
    """The procedure of procedure.toml, or the reason it is invalid."""
    if not isinstance(meta, dict):
        return None, [problem("procedure_toml", detail="it is not a table of settings")]
    try:
        return procedure_from_dict(meta), []
    except Exception as exc:  # any bad value (a string for a number, …) is the designer's error
        detail = str(exc) if str(exc) else type(exc).__name__
        return None, [problem("procedure_toml", detail=detail[:300])]


def mapped_lanes(procedure: Procedure | None, meta: Any) -> set[str]:
    """The lane names procedure.toml maps to roles (read leniently if it is invalid)."""
    if procedure is not None:
        return set(procedure.lanes)
    lanes = meta.get("lanes") if isinstance(meta, dict) else None
    return {str(name) for name in lanes} if isinstance(lanes, dict) else set()


def process_problems(root: Any, process_id: str | None) -> list[Problem]:
    """procedure.toml's process_id must name a process of the file (not its pool)."""
    found = process_ids(root)
    if process_id in found:
        return []
    return [problem("process_not_found", process_id=process_id or "(none)",
                    found=", ".join(found) or "(none)")]


def engine_problems(tree: Any, root: Any, process_id: str) -> list[Problem]:
    """What SpiffWorkflow refuses when it builds the process (the schema is checked already)."""
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(tree, filename="process.bpmn")
        parser.get_spec(process_id)
        parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        element = element_by_id(root, exc.id) if getattr(exc, "id", "") else None
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else None
        detail = str(exc.args[0]) if exc.args else type(exc).__name__
        return [problem("spiff_parse", element, element_id=getattr(exc, "id", None) or None,
                        line=line, detail=detail[:300])]
    except Exception as exc:  # the engine's parser fails in many ways on unusual files
        return [problem("spiff_parse", detail=f"{type(exc).__name__}: {exc}"[:300])]
    return []
