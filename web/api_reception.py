"""JSON endpoints of the reception area under /api/v1 (registered on web.api's blueprint)."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import N_, InvalidInput
from engine.models import Dossier, DossierNotice
from engine.services import dossiers, papers, reception, submissions
from web import current_core, lang, now
from web.api import _dossier_json, _iso, _json_body, _user, bp, token_required, uploaded_file
from web.auth import OFFICER_ROLES
from web.openapi import operation, ref, register
from web.reception_queue import pdf_response
from workflows.forms import field_errors
from workflows.intake import DOCUMENTS_RECEIVED_SCHEMA

DESK = ("reception", "clerk")
STAFF = (*OFFICER_ROLES, "supervisor")

SUPPLEMENT_REQUEST: dict[str, Any] = {
    "type": "object", "required": ["items"], "additionalProperties": False,
    "properties": {"items": {"type": "array", "minItems": 1, "description":
                             "what the applicant must supply or correct, one item each",
                             "items": {"type": "string", "minLength": 1, "maxLength": 500}}}}
REFUSAL: dict[str, Any] = {
    "type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {"reason": {"type": "string", "minLength": 5, "maxLength": 2000}}}
_AT_DESK = {"procedure": {"type": "string"}, "applicant": {"type": "object"},
            "channel": {"type": "string", "enum": ["in_person", "post"]}}
INTAKE_SUPPLEMENT_REQUEST: dict[str, Any] = {
    "type": "object", "required": ["procedure", "applicant", "channel", "documents_received"],
    "additionalProperties": False,
    "properties": {**_AT_DESK, "documents_received": DOCUMENTS_RECEIVED_SCHEMA,
                   "note": {"type": "string", "maxLength": 2000, "description":
                            "further items to supply or correct, one per line"}}}
INTAKE_REFUSAL: dict[str, Any] = {
    "type": "object", "required": ["procedure", "applicant", "channel", "reason"],
    "additionalProperties": False,
    "properties": {**_AT_DESK, "reason": REFUSAL["properties"]["reason"]}}


def _valid(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON body, or a 422 with a message per field."""
    body = _json_body()
    errors = field_errors(schema, body, lang())
    if errors:
        raise InvalidInput(N_("The request has errors: correct the fields marked."), errors)
    return body


def _notice_json(code: str, notice: DossierNotice) -> dict[str, Any]:
    return {"id": notice.id, "dossier_code": code, "kind": notice.kind,
            "items": list(notice.items), "reason": notice.reason,
            "issued_at": _iso(notice.issued_at), "issued_by": notice.issued_by,
            "answered_at": _iso(notice.answered_at),
            "pdf": f"/api/v1/dossiers/{code}/notices/{notice.id}.pdf"}


def _not_received_json(dossier: Dossier, notice: DossierNotice) -> dict[str, Any]:
    return {"code": dossier.code, "status": dossier.status, "outcome": dossier.outcome,
            "notice": _notice_json(dossier.code, notice)}


@bp.get("/submissions")
@token_required(*DESK)
def submission_queue() -> ResponseReturnValue:
    """Dossiers submitted online and waiting for receipt, the oldest first."""
    return jsonify({"submissions": [
        {"code": d.code, "procedure": p.code, "applicant_name": d.applicant_name,
         "applicant_id_number": d.applicant_id_number, "submitted_at": _iso(d.submitted_at),
         "documents_received": d.documents_received or [], "return_method": d.return_method}
        for d, p in submissions.list_submissions(current_core())]})


@bp.post("/submissions/<code>/accept")
@token_required(*DESK)
def submission_accept(code: str) -> ResponseReturnValue:
    """Receive an online submission: the appointment date counts from now."""
    submissions.accept_submission(current_core(), code, actor=_user().username, now=now(),
                                  lang=lang())
    return jsonify(_dossier_json(dossiers.get_dossier(current_core(), code)))


@bp.post("/submissions/<code>/supplement-request")
@token_required(*DESK)
def submission_supplement(code: str) -> ResponseReturnValue:
    """Send an online submission back: what is missing, stated once; the applicant is told."""
    body = _valid(SUPPLEMENT_REQUEST)
    notice = submissions.request_supplement_online(
        current_core(), code, items=body["items"], actor=_user().username, now=now(),
        lang=lang())
    return jsonify(_notice_json(code, notice)), 201


@bp.post("/submissions/<code>/refusal")
@token_required(*DESK)
def submission_refusal(code: str) -> ResponseReturnValue:
    """Refuse an online submission with the reason; the applicant is told."""
    body = _valid(REFUSAL)
    notice = submissions.refuse_submission(current_core(), code, reason=body["reason"],
                                           actor=_user().username, now=now(), lang=lang())
    return jsonify(_notice_json(code, notice)), 201


@bp.post("/intake/supplement-request")
@token_required(*DESK)
def intake_supplement() -> ResponseReturnValue:
    """Do not receive an incomplete dossier at the desk: record it and what is missing."""
    body = _valid(INTAKE_SUPPLEMENT_REQUEST)
    dossier, notice = reception.request_supplement_at_desk(
        current_core(), procedure_code=body["procedure"], applicant=body["applicant"],
        channel=body["channel"], documents_received=body["documents_received"],
        note=body.get("note", ""), actor=_user().username, now=now(), lang=lang())
    return jsonify(_not_received_json(dossier, notice)), 201


@bp.post("/intake/refusal")
@token_required(*DESK)
def intake_refusal() -> ResponseReturnValue:
    """Refuse to receive a dossier at the desk, with the reason."""
    body = _valid(INTAKE_REFUSAL)
    dossier, notice = reception.refuse_at_desk(
        current_core(), procedure_code=body["procedure"], applicant=body["applicant"],
        channel=body["channel"], reason=body["reason"], actor=_user().username, now=now(),
        lang=lang())
    return jsonify(_not_received_json(dossier, notice)), 201


@bp.get("/dossiers/<code>/slip.pdf")
@token_required(*STAFF)
def receipt_slip(code: str) -> ResponseReturnValue:
    """The receipt and appointment slip (form 01) of a received dossier."""
    dossiers.check_scope(current_core(), _user(), code)
    return pdf_response(papers.receipt_slip(current_core(), code), f"giay-tiep-nhan-{code}.pdf")


@bp.get("/dossiers/<code>/notices/<int:notice_id>.pdf")
@token_required(*STAFF)
def notice_pdf(code: str, notice_id: int) -> ResponseReturnValue:
    """A supplement request (form 02) or refusal (form 03) of the dossier."""
    dossiers.check_scope(current_core(), _user(), code)
    return pdf_response(papers.notice_pdf(current_core(), code, notice_id),
                f"phieu-{notice_id}-{code}.pdf")


@bp.get("/dossiers/<code>/notices")
@token_required(*STAFF)
def notice_list(code: str) -> ResponseReturnValue:
    """The dossier's supplement requests and refusals, oldest first."""
    dossiers.check_scope(current_core(), _user(), code)
    detail = dossiers.get_dossier(current_core(), code)
    return jsonify({"notices": [_notice_json(code, n) for n in detail.notices]})


@bp.post("/dossiers/<code>/attachments")
@token_required(*DESK)
def attachment_upload(code: str) -> ResponseReturnValue:
    """Add a file handed in for the dossier (multipart: file, document_index, purpose)."""
    stream, filename = uploaded_file()
    index = request.form.get("document_index", "").strip()
    if index and not index.isdigit():
        raise InvalidInput(N_("The file was not accepted: correct the fields marked."),
                           {"document_index": "A whole number, 0 or more." if lang() == "en"
                            else "Một số nguyên từ 0 trở lên."})
    row = reception.add_file(current_core(), code, cast(BinaryIO, stream),
                             filename,
                             actor=_user().username, now=now(),
                             document_index=int(index) if index else None,
                             purpose=request.form.get("purpose", "intake"), lang=lang())
    return jsonify({"id": row.id, "purpose": row.purpose, "document_index": row.document_index,
                    "filename": row.filename, "content_type": row.content_type,
                    "size": row.size, "sha256": row.sha256,
                    "uploaded_at": _iso(row.uploaded_at), "uploaded_by": row.uploaded_by,
                    "url": f"/api/v1/dossiers/{code}/attachments/{row.id}"}), 201


def _code(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
            *extra]


_PDF = {"description": "the form as a PDF", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
_NOTICE_ID = {"name": "notice_id", "in": "path", "required": True,
              "schema": {"type": "integer"}}
_NOT_RECEIVED = {"type": "object", "properties": {
    "code": {"type": "string"}, "status": {"type": "integer"},
    "outcome": {"type": "string", "const": "not_received"}, "notice": ref("Notice")}}

register({
    "/submissions": {"get": operation(
        "Online submissions waiting for receipt, the oldest first",
        {"type": "object", "properties": {"submissions": {"type": "array", "items": {
            "type": "object"}}}}, 401, 403)},
    "/submissions/{code}/accept": {"post": {
        **operation("Receive an online submission (appointment counted from now)",
                    ref("Dossier"), 401, 403, 404, 409), "parameters": _code()}},
    "/submissions/{code}/supplement-request": {"post": {
        **operation("Send an online submission back with what is missing",
                    ref("Notice"), 401, 403, 404, 409, 422, status="201",
                    body=ref("SupplementRequest")), "parameters": _code()}},
    "/submissions/{code}/refusal": {"post": {
        **operation("Refuse an online submission with the reason", ref("Notice"),
                    401, 403, 404, 409, 422, status="201", body=ref("Refusal")),
        "parameters": _code()}},
    "/intake/supplement-request": {"post": operation(
        "Do not receive an incomplete dossier at the desk: supplement request (form 02)",
        _NOT_RECEIVED, 401, 403, 404, 422, status="201", body=ref("IntakeSupplementRequest"))},
    "/intake/refusal": {"post": operation(
        "Refuse to receive a dossier at the desk, with the reason (form 03)",
        _NOT_RECEIVED, 401, 403, 404, 422, status="201", body=ref("IntakeRefusal"))},
    "/dossiers/{code}/slip.pdf": {"get": {
        **operation("The receipt and appointment slip (form 01)", {}, 401, 403, 404),
        "responses": {"200": _PDF, **operation("", {}, 401, 403, 404)["responses"]},
        "parameters": _code()}},
    "/dossiers/{code}/notices": {"get": {
        **operation("The dossier's supplement requests and refusals", {
            "type": "object", "properties": {"notices": {"type": "array",
                                                         "items": ref("Notice")}}},
            401, 403, 404), "parameters": _code()}},
    "/dossiers/{code}/notices/{notice_id}.pdf": {"get": {
        **operation("A supplement request (form 02) or refusal (form 03)", {}, 401, 403, 404),
        "responses": {"200": _PDF, **operation("", {}, 401, 403, 404)["responses"]},
        "parameters": _code(_NOTICE_ID)}},
    "/dossiers/{code}/attachments": {"post": {
        **operation("Add a file handed in for the dossier (type and size checked)",
                    {"type": "object"}, 401, 403, 404, 422, status="201"),
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "PDF, JPG, PNG, DOCX or XLSX"},
                "document_index": {"type": "integer", "minimum": 0,
                                   "description": "the checklist item it belongs to"},
                "purpose": {"type": "string", "enum": ["intake", "supplement"],
                            "default": "intake"}}}}}},
        "parameters": _code()}},
}, {
    "Notice": {"type": "object", "properties": {
        "id": {"type": "integer"}, "dossier_code": {"type": "string"},
        "kind": {"type": "string", "enum": ["supplement", "refusal"]},
        "items": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "issued_by": {"type": "string"},
        "answered_at": {"type": ["string", "null"], "format": "date-time"},
        "pdf": {"type": "string"}}},
    "SupplementRequest": SUPPLEMENT_REQUEST,
    "Refusal": REFUSAL,
    "IntakeSupplementRequest": {**INTAKE_SUPPLEMENT_REQUEST, "properties": {
        **INTAKE_SUPPLEMENT_REQUEST["properties"], "applicant": ref("Applicant")}},
    "IntakeRefusal": {**INTAKE_REFUSAL, "properties": {
        **INTAKE_REFUSAL["properties"], "applicant": ref("Applicant")}},
})
