"""Task forms: each a valid JSON Schema (Draft 2020-12) with fields, each used by a task."""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import SchemaError

from engine.validation.model import spiff_properties
from engine.validation.problems import Problem, problem
from workflows.forms import check_schema


def form_problems(forms: Any, tasks: list[Any]) -> list[Problem]:
    """Invalid and unused forms, each tied to the first user task that names it."""
    if not isinstance(forms, dict):
        return [problem("form_invalid", form="forms", detail="the forms are not a mapping")]
    users: dict[str, Any] = {}
    for task in tasks:
        users.setdefault(spiff_properties(task).get("formKey", "").strip(), task)
    found = []
    for name, schema in forms.items():
        task = users.get(name)
        detail = schema_error(schema)
        if detail:
            found.append(problem("form_invalid", task, form=name, detail=detail))
        else:
            undefined = undefined_required(schema)
            if undefined:
                found.append(problem("form_required_undefined", task, form=name,
                                     fields=", ".join(undefined)))
        if task is None:
            found.append(problem("form_unused", form=name))
    return found


def schema_error(schema: Any) -> str | None:
    """Why a form cannot be used, or None if it can."""
    if not isinstance(schema, dict):
        return "a form must be a JSON object"
    try:
        check_schema(schema)
    except SchemaError as exc:
        return f"{exc.message} (at {'/'.join(str(p) for p in exc.path) or 'the top'})"
    except Exception as exc:  # a hostile schema must give a problem, never a server error
        return f"{type(exc).__name__}: {exc}"[:300]
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return "it has no properties: a form needs at least one field"
    return None


# Keywords whose subschemas apply to the form itself, so their `required` name its fields.
_SAME_OBJECT = ("allOf", "anyOf", "oneOf", "if", "then", "else", "not")


def undefined_required(schema: dict[str, Any]) -> list[str]:
    """Fields a form requires (also under allOf/if/then/else…) but does not define."""
    properties = schema.get("properties") or {}
    missing: list[str] = []
    pending: list[Any] = [schema]
    while pending:
        part = pending.pop()
        if not isinstance(part, dict):
            continue
        for name in part.get("required") or []:
            if name not in properties and name not in missing:
                missing.append(name)
        for keyword in _SAME_OBJECT:
            value = part.get(keyword)
            pending.extend(value if isinstance(value, list) else [value])
    return missing
