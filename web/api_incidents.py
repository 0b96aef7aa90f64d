"""JSON endpoints of incidents: stopped procedures and their retry (on web.api's blueprint).

Completing a task whose next script or condition fails answers 409 with the error code
"incident": the step is saved (the task is completed), the dossier waits for a retry here.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.services import incidents
from web import current_core, now
from web.api import _user, bp, token_required
from web.openapi import operation, register

_INCIDENT = {"type": "object", "properties": {
    "dossier": {"type": "string"}, "procedure": {"type": "string"},
    "error": {"type": "string", "description": "the failing element ('bpmn id' (name)) and "
                                                "the error"},
    "since": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "description": "the procedure version it runs on"},
    "newer_version": {"type": ["integer", "null"], "description":
                      "the procedure's newest version if newer: move the dossier there (a "
                      "retry runs the version it is on), then retry"}}}
_RETRY = {"type": "object", "properties": {
    "dossier": {"type": "string"},
    "cleared": {"type": "boolean", "description": "true: the procedure runs again"},
    "error": {"type": ["string", "null"], "description": "the new error if it failed again"},
    "newer_version": {"type": ["integer", "null"], "description":
                      "if it failed again on an old version: the newer one to move it to"}}}
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]


def _incident_json(row: incidents.IncidentRow) -> dict[str, Any]:
    return {"dossier": row.dossier_code, "procedure": row.procedure_code, "error": row.error,
            "since": row.since.isoformat(), "version": row.version,
            "newer_version": row.newer_version}


@bp.get("/incidents")
@token_required(*incidents.RETRY_ROLES)
def incident_list() -> ResponseReturnValue:
    """The dossiers whose process is stopped on an error, the oldest first."""
    return jsonify([_incident_json(row) for row in incidents.list_incidents(current_core())])


@bp.post("/dossiers/<code>/incident/retry")
@token_required(*incidents.RETRY_ROLES)
def retry_incident(code: str) -> ResponseReturnValue:
    """Run a stopped dossier's failed step again (200 whether it cleared or failed again)."""
    outcome = incidents.retry_incident(current_core(), _user(), code, now())
    return jsonify({"dossier": code, "cleared": outcome.cleared, "error": outcome.error,
                    "newer_version": outcome.newer_version})


register({
    "/incidents": {"get": operation(
        "Dossiers whose procedure stopped on a script or condition error",
        {"type": "array", "items": _INCIDENT}, 401, 403)},
    "/dossiers/{code}/incident/retry": {"post": {**operation(
        "Retry a stopped dossier's failed step; 409 if it is not stopped",
        _RETRY, 401, 403, 404, 409), "parameters": _CODE}},
})
