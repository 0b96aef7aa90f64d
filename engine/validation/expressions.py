"""Python in the diagram: timer expressions, flow conditions and scripts must compile."""

from __future__ import annotations

import ast
import re
from typing import Any

from engine.scripting import check_source
from engine.validation.model import bpmn_name, children, descendants, spiff_texts, text
from engine.validation.problems import Problem, element_name, problem

TIMER_FIELDS = ("timeDuration", "timeDate", "timeCycle")
# What a designer means when a timer reads PT1H, R3/PT1H or 2026-12-01T08:00 without quotes.
_ISO_8601 = re.compile(r"^(R\d*/)?(P[\dYMWDTHS.,]+|\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_COMPILE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def expression_problems(processes: list[Any]) -> list[Problem]:
    """Unquoted timers, conditions and scripts that are not valid Python."""
    found: list[Problem] = []
    for process in processes:
        for definition in descendants(process, "timerEventDefinition"):
            found.extend(_timer_problems(definition))
        for flow in descendants(process, "sequenceFlow"):
            found.extend(_condition_problems(flow, children(flow, "conditionExpression")))
        for definition in descendants(process, "conditionalEventDefinition"):
            found.extend(_condition_problems(definition.getparent(),
                                             children(definition, "condition")))
        for element in process.iter():
            found.extend(_script_problems(element))
    return found


def compile_error(source: str | None, mode: str) -> tuple[int, str] | None:
    """(line, reason) if `source` does not compile as Python in `mode`, else None.

    The text is taken as SpiffWorkflow hands it to the script engine, untrimmed: the
    restricted engine parses it as it is (plain eval() would forgive leading spaces only).
    """
    try:
        compile(source or "", "<bpmn>", mode, dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno or 1, str(exc.msg)
    except _COMPILE_ERRORS as exc:
        return 1, f"{type(exc).__name__}: {exc}"[:200]
    refused = check_source(source or "", mode)  # what the restricted engine would refuse
    return (1, refused[:200]) if refused else None


def timer_error(source: str | None) -> bool:
    """True when a timer expression is not Python that yields a string (e.g. bare PT1H)."""
    if not (source or "").strip() or compile_error(source, "eval"):
        return True
    if _ISO_8601.match((source or "").strip()):  # PT1H is a valid Python name, not a variable
        return True
    try:
        body = ast.parse((source or "").strip(), mode="eval").body
    except _COMPILE_ERRORS:
        return True
    if isinstance(body, ast.Constant):
        return not isinstance(body.value, str)
    return isinstance(body, ast.List | ast.Dict | ast.Set | ast.Tuple)


def _condition_problems(owner: Any, conditions: list[Any]) -> list[Problem]:
    found = []
    for condition in conditions:
        error = compile_error(condition.text, "eval") if text(condition) else None
        if error:
            found.append(problem("condition_syntax", condition, element_id=owner.get("id"),
                                 name=element_name(owner), expression=text(condition),
                                 detail=error[1]))
    return found


def _timer_problems(definition: Any) -> list[Problem]:
    event = definition.getparent()
    fields = [child for child in definition if bpmn_name(child) in TIMER_FIELDS]
    found = []
    for field in fields:
        if timer_error(field.text):
            found.append(problem("timer_unquoted", field, element_id=event.get("id"),
                                 name=element_name(event), expression=text(field) or "(empty)"))
    return found


def _script_problems(element: Any) -> list[Problem]:
    scripts = children(element, "script") if bpmn_name(element) == "scriptTask" else []
    scripts += spiff_texts(element, "preScript") + spiff_texts(element, "postScript")
    found = []
    for script in scripts:
        source = script.text or ""  # what SpiffWorkflow hands to exec()
        error = compile_error(source, "exec") if source.strip() else None
        if error:
            line = (script.sourceline or 0) + error[0] - 1 if script.sourceline else None
            found.append(problem("script_syntax", script, element_id=element.get("id"),
                                 line=line or None, name=element_name(element),
                                 script_line=error[0], detail=error[1]))
    return found
