"""JSON endpoints of the designers' area: drafts, validation, deployment, versions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import N_, InvalidInput
from engine.models import ProcedureDraft
from engine.services import design, design_list
from engine.services.design import ProblemsFound
from web import current_core, now, translate
from web.api import _json_body, _user, bp, token_required
from web.design import DESIGNERS, PUBLISHERS, problems_body
from web.openapi import operation, register

_DRAFT = {"type": "object", "properties": {
    "code": {"type": "string"}, "bpmn_xml": {"type": "string"},
    "forms": {"type": "object", "additionalProperties": {"type": "object"},
              "description": "JSON Schema form per formKey"},
    "meta": {"type": "object", "description": "procedure.toml as a JSON object"},
    "base_version": {"type": ["integer", "null"]},
    "updated_by": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"}}}
_PROBLEM = {"type": "object", "properties": {
    "severity": {"enum": ["error", "warning"]}, "code": {"type": "string"},
    "message": {"type": "string"}, "params": {"type": "object"},
    "element_id": {"type": ["string", "null"], "description": "the BPMN element's id"},
    "line": {"type": ["integer", "null"]}}}
_PROBLEMS = {"type": "object", "properties": {
    "problems": {"type": "array", "items": _PROBLEM},
    "errors": {"type": "integer"}, "warnings": {"type": "integer"}}}
_VERSION = {"type": "object", "properties": {
    "version": {"type": "integer"}, "deployed_by": {"type": "string"},
    "deployed_at": {"type": "string", "format": "date-time"}, "change_note": {"type": "string"},
    "running_dossiers": {"type": "integer"}, "dossiers": {"type": "integer"}}}
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]


def _draft_json(draft: ProcedureDraft) -> dict[str, Any]:
    base = None
    if draft.base_version_id is not None:
        base = next((v.number for v in design_list.versions(current_core(), draft.code)
                     if v.id == draft.base_version_id), None)
    return {"code": draft.code, "bpmn_xml": draft.bpmn_xml, "forms": draft.forms,
            "meta": draft.meta, "base_version": base, "updated_by": draft.updated_by,
            "updated_at": draft.updated_at.isoformat()}


@bp.get("/design/<code>/draft")
@token_required(*DESIGNERS)
def design_draft(code: str) -> ResponseReturnValue:
    """The procedure's draft (created from its latest version on first use)."""
    return jsonify(_draft_json(design.open_draft(current_core(), code, _user().username, now())))


@bp.put("/design/<code>/draft")
@token_required(*DESIGNERS)
def design_save_draft(code: str) -> ResponseReturnValue:
    """Replace any of the draft's bpmn_xml, forms and meta (a draft may be invalid)."""
    body = _json_body()
    xml = body.get("bpmn_xml")
    if xml is not None and not isinstance(xml, str):
        raise InvalidInput(N_("bpmn_xml must be a string."), {"bpmn_xml": "string"})
    draft = design.save_draft(current_core(), code, bpmn_xml=xml, forms=body.get("forms"),
                              meta=body.get("meta"), user=_user().username, now=now())
    return jsonify(_draft_json(draft))


@bp.post("/design/<code>/validate")
@token_required(*DESIGNERS)
def design_validate(code: str) -> ResponseReturnValue:
    """Every problem of the draft, each with its BPMN element and line."""
    return jsonify(problems_body(design.validate_draft(current_core(), code)))


@bp.post("/design/<code>/deploy")
@token_required(*PUBLISHERS)
def design_deploy(code: str) -> ResponseReturnValue:
    """Deploy the draft as a new version; 422 with the problems while errors remain."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):  # the body is optional, but an object when sent
        raise InvalidInput(N_("Send a JSON object with Content-Type: application/json."), {})
    try:
        version = design.deploy_draft(current_core(), code, str(body.get("change_note", "")),
                                      _user().username, now())
    except ProblemsFound as exc:
        return jsonify({"error": {"code": exc.code, "message": translate(exc), "fields": {},
                                  **problems_body(exc.problems)}}), 422
    return jsonify({"version": version.version, "deployed_by": version.deployed_by,
                    "deployed_at": version.deployed_at.isoformat(),
                    "change_note": version.change_note}), 201


@bp.get("/design/<code>/versions")
@token_required(*DESIGNERS)
def design_versions(code: str) -> ResponseReturnValue:
    """The deployed versions, newest first, with the dossiers running on each."""
    return jsonify({"versions": [
        {"version": v.number, "deployed_by": v.deployed_by,
         "deployed_at": v.deployed_at.isoformat(), "change_note": v.change_note,
         "running_dossiers": v.running, "dossiers": v.dossiers}
        for v in design_list.versions(current_core(), code)]})


_DEPLOY_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"},
    "problems": {"type": "array", "items": _PROBLEM}}}}}
_DEPLOY = operation("Deploy the draft as a new immutable version; 422 lists the problems",
                    _VERSION, 401, 403, 404, status="201",
                    body={"type": "object", "required": ["change_note"],
                          "properties": {"change_note": {"type": "string"}}})
_DEPLOY["responses"]["422"] = {"description": "errors block deployment (or no change note)",
                               "content": {"application/json": {"schema": _DEPLOY_ERROR}}}
register({
    "/design/{code}/draft": {
        "get": {**operation("A procedure's draft (opened from the latest version)", _DRAFT,
                            401, 403, 404), "parameters": _CODE},
        "put": {**operation("Replace parts of the draft (bpmn_xml of at most 2 MB, forms, "
                            "meta)", _DRAFT, 401, 403, 404, 422, body=_DRAFT),
                "parameters": _CODE}},
    "/design/{code}/validate": {
        "post": {**operation("Validate the draft: problems tied to BPMN elements", _PROBLEMS,
                             401, 403, 404), "parameters": _CODE}},
    "/design/{code}/deploy": {
        "post": {**_DEPLOY, "parameters": _CODE}},
    "/design/{code}/versions": {
        "get": {**operation("The versions with who deployed them, when, why, and their "
                            "running dossiers", {"type": "object", "properties": {
                                "versions": {"type": "array", "items": _VERSION}}},
                            401, 403), "parameters": _CODE}},
})
