"""JSON endpoints of the portal area under /api/v1 (registered on web.api's blueprint).

Public: no token. Acting on a dossier always takes its code and the applicant's ID number.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import N_, NotFound
from engine.services import portal, ratings
from engine.services.online_submission import submit_online
from engine.services.portal_catalogue import entry, public_catalogue
from engine.services.supplement_answers import answer_supplement
from web import current_core, lang, now
from web.api import _json_body, bp
from web.limits import LOOKUP, limiter
from web.openapi import operation, ref, register
from web.portal import files_from_request, submission_from_request
from web.views import STATUS_LABELS
from workflows.intake import APPLICANT_SCHEMA, intake_schema
from workflows.rating import RATING_SCHEMA
from workflows.statuses import DossierStatus


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _public_json(view: portal.PublicDossier) -> dict[str, Any]:
    d = view.dossier
    received = d.outcome != "not_received"
    return {
        "code": d.code, "procedure": view.procedure.code,
        "procedure_name": view.meta.title(lang()), "applicant_name": d.applicant_name,
        "status": d.status, "status_text": str(STATUS_LABELS[DossierStatus(d.status)]),
        "submitted_at": _iso(d.submitted_at),
        "received_at": _iso(d.received_at) if received else None,
        "appointment_at": _iso(d.appointment_at) if received else None,
        "resolved_at": _iso(d.resolved_at), "returned_at": _iso(d.returned_at),
        "return_method": d.return_method, "return_address": d.return_address,
        "history": [{"at": _iso(e.at), "kind": e.kind,
                     **({"status": e.data.get("to")} if e.kind == "status_changed" else {})}
                    for e in view.history],
        "notices": [{"kind": n.kind, "items": n.items, "reason": n.reason,
                     "issued_at": _iso(n.issued_at), "answered": n.answer_note is not None}
                    for n in view.open_notices],
        "files": [{"id": f.id, "filename": f.filename, "size": f.size,
                   "purpose": f.purpose, "uploaded_at": _iso(f.uploaded_at)}
                  for f in view.uploads],
        "rated": view.rated,
    }


@bp.get("/portal/procedures")
def portal_procedures() -> ResponseReturnValue:
    """The public catalogue: each procedure's documents, fees, deadlines, online level."""
    items = []
    for field in public_catalogue(current_core()):
        for item in field.entries:
            p = item.meta
            items.append({
                "code": p.code, "name": p.name, "name_en": p.name_en, "field": p.field,
                "field_name": field.title(lang()),
                "committed_working_days": p.committed_working_days,
                "statutory_working_days": p.statutory_working_days,
                "fee_vnd": p.fee_vnd, "fee_note": p.fee_note, "fee_note_en": p.fee_note_en,
                "online_level": p.online_level, "online": item.online,
                "legal_basis": list(p.legal_basis), "applicant_kind": p.applicant_kind,
                "documents": [{"index": i, "name": d.name, "name_en": d.name_en,
                               "copies": d.copies, "optional": d.optional}
                              for i, d in enumerate(item.checklist)]})
    return jsonify({"procedures": items})


@bp.post("/portal/dossiers")
def portal_submit() -> ResponseReturnValue:
    """Submit a dossier online (multipart/form-data): 201 with its code and lookup URL."""
    code = request.form.get("procedure", "")
    chosen = entry(current_core(), code)
    if chosen is None:
        raise NotFound(N_("No procedure has the code %(code)s. Choose one from the "
                          "catalogue."), code=code)
    schema = intake_schema(chosen.meta.applicant_kind)
    dossier = submit_online(current_core(), submission_from_request(
        code, len(chosen.checklist), schema), now(), lang())
    return jsonify({"code": dossier.code, "status": dossier.status,
                    "submitted_at": _iso(dossier.submitted_at),
                    "lookup_url": portal.lookup_url(current_core(), dossier.code)}), 201


@bp.post("/portal/lookup")
@limiter.limit(LOOKUP)
def portal_lookup() -> ResponseReturnValue:
    """A dossier's public view, given its code and the applicant's ID number."""
    body = _json_body()
    code = portal.check_access(current_core(), str(body.get("code", "")),
                               str(body.get("id_number", "")))
    return jsonify(_public_json(portal.public_dossier(current_core(), code)))


@bp.post("/portal/dossiers/<code>/supplement")
def portal_supplement(code: str) -> ResponseReturnValue:
    """Answer the dossier's supplement request (multipart: id_number, note, files)."""
    code = portal.check_access(current_core(), code, request.form.get("id_number", ""))
    answer_supplement(current_core(), code, note=request.form.get("note", ""),
                      files=files_from_request(), now=now(), lang=lang())
    return jsonify(_public_json(portal.public_dossier(current_core(), code)))


@bp.post("/portal/dossiers/<code>/rating")
def portal_rating(code: str) -> ResponseReturnValue:
    """Rate the service once the result is returned (JSON: id_number and the answers)."""
    body = _json_body()
    code = portal.check_access(current_core(), code, str(body.pop("id_number", "")))
    rating = ratings.rate(current_core(), code, body, now(), lang())
    return jsonify({"code": code, "overall": rating.overall, "answers": rating.answers,
                    "comment": rating.comment, "created_at": _iso(rating.created_at)}), 201


# --- the OpenAPI description, from the schemas that validate the requests ---------------

_FILES = {"type": "array", "items": {"type": "string", "contentMediaType":
                                     "application/octet-stream"}}
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]


def _multipart(summary: str, ok: dict[str, Any], schema: dict[str, Any], *errors: int,
               status: str = "200") -> dict[str, Any]:
    op = operation(summary, ok, *errors, status=status, secure=False)
    op["requestBody"] = {"required": True,
                         "content": {"multipart/form-data": {"schema": schema}}}
    return op


register({
    "/portal/procedures": {"get": operation(
        "The public catalogue of procedures", {"type": "object", "properties": {
            "procedures": {"type": "array", "items": {"type": "object"}}}}, secure=False)},
    "/portal/dossiers": {"post": _multipart(
        "Submit a dossier online: applicant fields, files per document, return method",
        ref("PortalSubmitted"), ref("PortalSubmission"), 404, 409, 422, status="201")},
    "/portal/lookup": {"post": operation(
        "Look a dossier up by its code and the applicant's ID number", ref("PublicDossier"),
        404, 422, body=ref("PortalLookup"), secure=False)},
    "/portal/dossiers/{code}/supplement": {"post": {**_multipart(
        "Answer the dossier's supplement request with a note and files",
        ref("PublicDossier"), ref("PortalSupplement"), 404, 409, 422), "parameters": _CODE}},
    "/portal/dossiers/{code}/rating": {"post": {**operation(
        "Rate the service once the result is returned (once per dossier)",
        {"type": "object"}, 404, 409, 422, body=ref("PortalRating"), status="201",
        secure=False), "parameters": _CODE}},
}, {
    "PortalSubmission": {
        "type": "object",
        "description": "The applicant's fields are those of the procedure's intake schema "
                       "(a person's shown; an agency's for procedures of organisations). "
                       "Files go in document_<index> fields, one or more per document.",
        "required": ["procedure", *APPLICANT_SCHEMA["required"], "return_method", "consent"],
        "properties": {
            "procedure": {"type": "string"},
            **APPLICANT_SCHEMA["properties"],
            "return_method": {"type": "string", "enum": ["in_person", "post", "online"],
                              "description": "online only for fully online procedures"},
            "return_address": {"type": "string", "maxLength": 500,
                               "description": "required when return_method is post"},
            "consent": {"type": "boolean"},
        },
        "patternProperties": {"^document_[0-9]+$": _FILES},
    },
    "PortalSubmitted": {"type": "object", "properties": {
        "code": {"type": "string"}, "status": {"type": "integer"},
        "submitted_at": {"type": "string", "format": "date-time"},
        "lookup_url": {"type": "string", "format": "uri"}}},
    "PortalLookup": {"type": "object", "required": ["code", "id_number"], "properties": {
        "code": {"type": "string"}, "id_number": {"type": "string"}}},
    "PortalSupplement": {"type": "object", "required": ["id_number"], "properties": {
        "id_number": {"type": "string"}, "note": {"type": "string", "maxLength": 2000},
        "files": _FILES}},
    "PortalRating": {
        **{k: v for k, v in RATING_SCHEMA.items() if k != "$schema"},
        "required": ["id_number", *RATING_SCHEMA["required"]],
        "properties": {"id_number": {"type": "string"}, **RATING_SCHEMA["properties"]},
    },
    "PublicDossier": {"type": "object", "properties": {
        "code": {"type": "string"}, "procedure": {"type": "string"},
        "status": {"type": "integer", "minimum": 1, "maximum": 10},
        "status_text": {"type": "string"},
        "appointment_at": {"type": ["string", "null"], "format": "date-time"},
        "history": {"type": "array", "items": {"type": "object"}},
        "notices": {"type": "array", "items": {"type": "object"}},
        "files": {"type": "array", "items": {"type": "object"}},
        "rated": {"type": "boolean"}}},
})
