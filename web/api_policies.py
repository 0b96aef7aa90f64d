"""JSON endpoints of the escalation policies (on web.api's blueprint)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import N_, InvalidInput
from engine.services import escalation_settings
from web import current_core, now
from web.api import _user, bp, token_required
from web.openapi import operation, register

_POLICY_TABLE = {
    "type": "object",
    "description": "an [escalation] table of procedure.toml: warn_at_fraction or "
                   "warn_before_working_days, repeat_after_working_days, levels, and optional "
                   "steps.<bpmn id> and appointment tables of the same shape",
    "properties": {
        "warn_at_fraction": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "warn_before_working_days": {"type": "number", "exclusiveMinimum": 0},
        "repeat_after_working_days": {"type": "number", "exclusiveMinimum": 0},
        "levels": {"type": "array", "items": {"enum": ["officer", "head", "leader"]}},
        "steps": {"type": "object", "additionalProperties": {"type": "object"}},
        "appointment": {"type": "object"},
    },
}
_SETTING = {"type": "object", "properties": {
    "procedure": {"type": "string"}, "overridden": {"type": "boolean"},
    "changed_by": {"type": ["string", "null"]},
    "changed_at": {"type": ["string", "null"], "format": "date-time"},
    "policy": _POLICY_TABLE, "rescheduled": {"type": "integer"}}}
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]


def _setting_json(code: str) -> dict[str, Any]:
    setting = escalation_settings.get_policy(current_core(), code)
    return {"procedure": code, "overridden": setting.overridden,
            "changed_by": setting.changed_by,
            "changed_at": setting.changed_at.isoformat() if setting.changed_at else None,
            "policy": setting.table}


@bp.get("/procedures/<code>/escalation-policy")
@token_required("admin", "supervisor")
def policy(code: str) -> ResponseReturnValue:
    """The escalation policy that applies to a procedure now."""
    return jsonify(_setting_json(code))


@bp.put("/procedures/<code>/escalation-policy")
@token_required("admin")
def set_policy(code: str) -> ResponseReturnValue:
    """Replace a procedure's policy ({"policy": null} returns to the deployed one)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "policy" not in body or not isinstance(
            body["policy"], dict | None):
        raise InvalidInput(N_("Send a JSON object {\"policy\": {...}} or {\"policy\": null}."),
                           {"policy": "object or null"})
    moved = escalation_settings.set_policy(current_core(), code, body["policy"], _user().username,
                                           now())
    return jsonify({**_setting_json(code), "rescheduled": moved})


register({"/procedures/{code}/escalation-policy": {
    "get": {**operation("A procedure's escalation policy as it applies now", _SETTING,
                        401, 403, 404), "parameters": _CODE},
    "put": {**operation("Set a procedure's escalation policy (null: the deployed one); open "
                        "dossiers are rescheduled at once", _SETTING, 401, 403, 404, 422,
                        body={"type": "object", "required": ["policy"], "properties": {
                            "policy": {"oneOf": [_POLICY_TABLE, {"type": "null"}]}}}),
            "parameters": _CODE}}})
