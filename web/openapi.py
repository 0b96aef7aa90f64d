"""The OpenAPI document of /api/v1, built from the schemas that validate requests."""

from __future__ import annotations

from typing import Any

from workflows.intake import (
    APPLICANT_SCHEMA,
    DOCUMENTS_RECEIVED_SCHEMA,
    Channel,
    ReturnMethod,
)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
# What every task answer holds; a task list's also its dates, claim and form.
_STEP_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "dossier_code": {"type": "string"},
    "name": {"type": "string"},
    "lane": {"type": ["string", "null"]},
    "role": {"type": "string"},
}
_TASK = {
    "type": "object",
    "properties": {
        **_STEP_PROPERTIES,
        "state": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "claimed_by": {"type": ["integer", "null"]},
        "form": {"type": ["object", "null"], "description": "the task's JSON Schema form"},
    },
}
_DOSSIER = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "procedure": {"type": "string"},
        "status": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "national portal status code",
        },
        "appointment_at": {"type": "string", "format": "date-time"},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
        "history": {"type": "array", "items": {"type": "object"}},
    },
}
_NEXT_STEP = {
    "type": "object",
    "required": ["id", "dossier_code", "name", "lane", "role", "state"],
    "additionalProperties": False,
    "properties": {**_STEP_PROPERTIES, "state": {"const": "ready"}},
}
_COMPLETION = {
    "type": "object",
    "required": ["code", "status", "tasks"],
    "additionalProperties": False,
    "description": "What the completion did: the dossier's status and the steps now waiting, "
                   "in the workflow's order (GET /dossiers/{code} has the rest and the history)",
    "properties": {
        "code": {"type": "string"},
        "status": {"type": "integer", "minimum": 1, "maximum": 10,
                   "description": "national portal status code"},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/NextStep"}},
    },
}
_SCHEMAS = {
    "Error": _ERROR,
    "Task": _TASK,
    "Dossier": _DOSSIER,
    "Completion": _COMPLETION,
    "NextStep": _NEXT_STEP,
    "Applicant": {k: v for k, v in APPLICANT_SCHEMA.items() if k != "$schema"},
    "NewDossier": {
        "type": "object",
        "required": ["procedure", "applicant", "channel"],
        "description": "With documents_received, the applicant's birth_date and return_method "
                       "are required (return_address too when by post) and every required "
                       "document must be listed; without it neither is checked.",
        "properties": {
            "procedure": {"type": "string"},
            "applicant": {"$ref": "#/components/schemas/Applicant"},
            "channel": {"type": "string", "enum": [c.value for c in Channel]},
            "documents_received": DOCUMENTS_RECEIVED_SCHEMA,
            "return_method": {"type": "string", "enum": [m.value for m in ReturnMethod]},
            "return_address": {"type": "string", "maxLength": 500},
        },
    },
}


# Endpoints defined in other modules (web/api_*.py) describe themselves here at import.
_EXTRA_PATHS: dict[str, dict[str, Any]] = {}


def register(paths: dict[str, dict[str, Any]],
             schemas: dict[str, dict[str, Any]] | None = None) -> None:
    """Add endpoints (and the schemas they refer to) to the OpenAPI document."""
    for path, operations in paths.items():
        _EXTRA_PATHS.setdefault(path, {}).update(operations)
    _SCHEMAS.update(schemas or {})


def ref(name: str) -> dict[str, Any]:
    """A reference to a named schema of the document's components."""
    return _ref(name)


def operation(summary: str, ok: dict[str, Any], *errors: int, body: dict[str, Any] | None = None,
              status: str = "200", secure: bool = True) -> dict[str, Any]:
    """One operation: its summary, success schema, error statuses and JSON body."""
    return _op(summary, ok, *errors, body=body, status=status, secure=secure)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ref("Error"), "error") for code in codes}


def _op(
    summary: str,
    ok: dict[str, Any],
    *errors: int,
    body: dict[str, Any] | None = None,
    status: str = "200",
    secure: bool = True,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {status: _json(ok, "success"), **_errors(*errors)},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not secure:
        op["security"] = []
    return op


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of every /api/v1 endpoint."""
    task_id = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "MotCua API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/auth/token": {
                "post": _op(
                    "Get a bearer token",
                    {"type": "object", "properties": {"token": {"type": "string"}}},
                    401,
                    422,
                    status="201",
                    secure=False,
                    body={
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string"},
                            "password": {"type": "string"},
                        },
                    },
                )
            },
            "/procedures": {"get": _op("List procedures", {"type": "object"}, 401)},
            "/dossiers": {
                "post": _op(
                    "Receive a dossier",
                    _ref("Dossier"),
                    401,
                    403,
                    404,
                    422,
                    body=_ref("NewDossier"),
                    status="201",
                )
            },
            "/dossiers/{code}": {
                "get": {
                    **_op(
                        "A dossier with its open tasks and history", _ref("Dossier"), 401, 403, 404
                    ),
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                }
            },
            "/dossiers/{code}/tracking": {"get": {
                **_op("The dossier's tracking sheet: every hand-off, its deadline and result",
                      {"type": "object"}, 401, 403, 404),
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "string"}}]}},
            "/tasks/{task_id}/claim": {
                "post": {
                    **_op("Claim a task", {"type": "object"}, 401, 403, 404, 409),
                    "parameters": task_id,
                }
            },
            "/tasks/{task_id}/unclaim": {
                "post": {
                    **_op("Give a task back", {"type": "object"}, 401, 403, 404, 409),
                    "parameters": task_id,
                }
            },
            "/tasks/{task_id}/complete": {
                "post": {
                    **_op(
                        "Complete a task with its form data: the dossier's status and "
                        "the steps now waiting (GET /dossiers/{code} has the history)",
                        _ref("Completion"),
                        401,
                        403,
                        404,
                        409,
                        422,
                        body={
                            "type": "object",
                            "required": ["data"],
                            "properties": {"data": {"type": "object"}},
                        },
                    ),
                    "parameters": task_id,
                }
            },
            "/escalations": {"get": {
                **_op("Steps past their deadline, the most serious and oldest first, at most "
                      "500 a call", {"type": "object"}, 401, 403),
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer",
                                                               "minimum": 1, "maximum": 500}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer",
                                                                "minimum": 0}}]}},
            "/escalations/{escalation_id}/acknowledge": {"post": {
                **_op("Acknowledge an escalation with a note", {"type": "object"},
                      401, 403, 404, 409,
                      body={"type": "object", "properties": {"note": {"type": "string"}}}),
                "parameters": [{"name": "escalation_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}]}},
            "/tasks/{task_id}/reassign": {"post": {
                **_op("Reassign a waiting task to another officer holding its role",
                      {"type": "object"}, 401, 403, 404, 409, 422,
                      body={"type": "object", "required": ["officer_id"],
                            "properties": {"officer_id": {"type": "integer"}}}),
                "parameters": task_id}},
            "/reports/summary": {"get": {
                **_op("Form II.06a: dossiers received, resolved and in progress, by field or "
                      "procedure, for the local days from..to",
                      {"type": "object", "properties": {
                          "from": {"type": "string", "format": "date"},
                          "to": {"type": "string", "format": "date"},
                          "by": {"type": "string", "enum": ["field", "procedure"]},
                          "rows": {"type": "array", "items": {"type": "object"}},
                          "total": {"type": "object"}}},
                      401, 403, 422),
                "parameters": [
                    {"name": "from", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "by", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["field", "procedure"],
                                "default": "field"}}]}},
        },
    }
    # Endpoints described by their own modules: they may add methods to a path above.
    for path, operations in _EXTRA_PATHS.items():
        document["paths"].setdefault(path, {}).update(operations)
    return document
