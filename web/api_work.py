"""JSON endpoints of the officers' work: tasks, comments, attachments (on web.api's bp)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, send_file, url_for
from flask.typing import ResponseReturnValue

from engine.errors import N_, InvalidInput
from engine.models import Attachment
from engine.services import comments, dossiers, task_files, task_list
from engine.services.attachments import open_attachment
from engine.services.tasks import get_task, version_forms
from web import current_core, lang, now
from web.api import _iso, _json_body, _task_json, _user, bp, token_required, uploaded_file
from web.auth import OFFICER_ROLES
from web.openapi import operation, ref, register

STAFF = (*OFFICER_ROLES, "supervisor")


# Beyond these a number names no page or status: refused, not passed on to the database.
_MAXIMA = {"status": 10, "page": 1_000_000, "per_page": 200}


def _int(name: str, default: int | None) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return default
    most = _MAXIMA.get(name, 10**9)
    if not value.isdigit() or len(value) > 9 or not 1 <= int(value) <= most:
        raise InvalidInput(N_("The query has errors: correct the parameters marked."), {
            name: f"A whole number from 1 to {most}." if lang() == "en"
            else f"Nhập số nguyên từ 1 đến {most}."})
    return int(value)


def _choice(name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = request.args.get(name) or default
    if value is not None and value not in choices:
        raise InvalidInput(N_("The query has errors: correct the parameters marked."), {
            name: ("One of: " if lang() == "en" else "Một trong các giá trị: ")
            + ", ".join(choices)})
    return value


@bp.get("/tasks")
@token_required(*OFFICER_ROLES)
def task_list_json() -> ResponseReturnValue:
    """The caller's tasks (view=available|mine|group), filtered, searched and paged."""
    filters = task_list.TaskFilters(
        view=_choice("view", task_list.VIEWS, "available") or "available",
        procedure=request.args.get("procedure") or None,
        urgency=_choice("urgency", task_list.URGENCIES, None),
        status=_int("status", None), sort=_choice("sort", task_list.SORTS, "deadline") or "",
        search=request.args.get("q", "").strip()[:100], page=_int("page", 1) or 1,
        per_page=_int("per_page", task_list.PAGE_SIZE) or task_list.PAGE_SIZE)
    page = task_list.task_page(current_core(), _user(), filters, now())
    forms = version_forms(current_core(), (r.dossier.procedure_version_id for r in page.rows))
    return jsonify({"tasks": [
        {**_task_json(r.task, r.dossier.code, forms[r.dossier.procedure_version_id].get(
            r.task.form_key) if r.task.form_key else None), "urgency": r.urgency,
         "claimed_by_name": r.claimed_by_name, "applicant_name": r.dossier.applicant_name,
         "procedure": r.procedure.code, "dossier_status": r.dossier.status,
         "received_at": _iso(r.dossier.received_at)} for r in page.rows],
        "page": filters.page, "has_next": page.has_next,
        "searched_all": True})  # kept for v1 clients: every waiting step is searched (0016)


def _comment_json(row: comments.CommentRow) -> dict[str, Any]:
    c = row.comment
    return {"id": c.id, "task_id": c.task_id, "author": c.author,
            "author_name": row.author_name, "body": c.body, "created_at": _iso(c.created_at)}


@bp.get("/dossiers/<code>/comments")
@token_required(*STAFF)
def comment_list(code: str) -> ResponseReturnValue:
    """The dossier's internal comments, oldest first."""
    dossiers.check_scope(current_core(), _user(), code)
    return jsonify({"comments": [_comment_json(r) for r in
                                 comments.list_comments(current_core(), code)]})


@bp.post("/dossiers/<code>/comments")
@token_required(*STAFF)
def comment_add(code: str) -> ResponseReturnValue:
    """Add an internal comment: {"body": "...", "task_id": "..." (optional)}."""
    body = _json_body()
    task_id = body.get("task_id")
    comment = comments.add_comment(current_core(), _user(), code, str(body.get("body", "")),
                                   now(), task_id=str(task_id) if task_id else None,
                                   lang=lang())
    row = comments.CommentRow(comment, _user().full_name)
    return jsonify(_comment_json(row)), 201


def _attachment_json(code: str, a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "task_id": a.task_id, "purpose": a.purpose, "filename": a.filename,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "uploaded_at": _iso(a.uploaded_at), "uploaded_by": a.uploaded_by,
            "url": url_for("api.attachment_file", code=code, attachment_id=a.id)}


@bp.get("/dossiers/<code>/attachments")
@token_required(*STAFF)
def attachment_list(code: str) -> ResponseReturnValue:
    """The dossier's files (metadata and download address), oldest first."""
    dossiers.check_scope(current_core(), _user(), code)
    return jsonify({"attachments": [_attachment_json(code, a) for a in
                                    task_files.dossier_attachments(current_core(), code)]})


@bp.post("/tasks/<task_id>/attachments")
@token_required(*OFFICER_ROLES)
def attachment_add(task_id: str) -> ResponseReturnValue:
    """Attach a file (multipart field "file") to the task's dossier."""
    code = get_task(current_core(), _user(), task_id).dossier.code
    stream, filename = uploaded_file()
    attachment = task_files.attach_to_task(current_core(), _user(), task_id, stream,
                                           filename, now(), lang=lang())
    return jsonify(_attachment_json(code, attachment)), 201


@bp.get("/dossiers/<code>/attachments/<int:attachment_id>")
@token_required(*STAFF)
def attachment_file(code: str, attachment_id: int) -> ResponseReturnValue:
    """A file of the dossier, as a download."""
    dossiers.check_scope(current_core(), _user(), code)
    row, path = open_attachment(current_core(), code, attachment_id)
    response = send_file(path, mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _path(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True,
             "schema": {"type": "integer" if n == "attachment_id" else "string"}}
            for n in names]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_LIST = {"type": "object", "properties": {
    "tasks": {"type": "array", "items": ref("WorkTask")}, "page": {"type": "integer"},
    "has_next": {"type": "boolean"}, "searched_all": {
        "type": "boolean", "deprecated": True,
        "description": "Always true: the search covers every waiting step."}}}
_UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, JPG, PNG, DOCX or XLSX"}}}}}}
_FILE = {"description": "the file, as an attachment", "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}

register({
    "/tasks": {"get": {
        **operation("The caller's tasks: available (unclaimed or mine), mine or my group's; "
                    "filtered, searched (code or applicant, accents ignored), sorted, paged",
                    _LIST, 401, 403, 422),
        "parameters": [
            _query("view", {"type": "string", "enum": list(task_list.VIEWS),
                            "default": "available"}, "whose tasks"),
            _query("procedure", {"type": "string"}, "procedure code"),
            _query("urgency", {"type": "string", "enum": list(task_list.URGENCIES)},
                   "overdue, due soon, on track or without deadline"),
            _query("status", {"type": "integer", "minimum": 1, "maximum": 10},
                   "the dossier's status"),
            _query("sort", {"type": "string", "enum": list(task_list.SORTS),
                            "default": "deadline"}, "order"),
            _query("q", {"type": "string"}, "dossier code or applicant's name"),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}, "page"),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200,
                                "default": task_list.PAGE_SIZE}, "rows per page")]}},
    "/dossiers/{code}/comments": {
        "get": {**operation("The dossier's internal comments", {
            "type": "object", "properties": {"comments": {
                "type": "array", "items": ref("Comment")}}}, 401, 403, 404),
                "parameters": _path("code")},
        "post": {**operation("Add an internal comment", ref("Comment"), 401, 403, 404, 422,
                             body={"type": "object", "required": ["body"], "properties": {
                                 "body": {"type": "string", "minLength": 1,
                                          "maxLength": comments.MAX_LENGTH},
                                 "task_id": {"type": "string"}}}, status="201"),
                 "parameters": _path("code")}},
    "/dossiers/{code}/attachments": {"get": {
        **operation("The dossier's files", {"type": "object", "properties": {
            "attachments": {"type": "array", "items": ref("Attachment")}}}, 401, 403, 404),
        "parameters": _path("code")}},
    "/dossiers/{code}/attachments/{attachment_id}": {"get": {
        **operation("Download one of the dossier's files", {}, 401, 403, 404),
        "responses": {"200": _FILE, **operation("", {}, 401, 403, 404)["responses"]},
        "parameters": _path("code", "attachment_id")}},
    "/tasks/{task_id}/attachments": {"post": {
        **operation("Attach a file to the task's dossier (type and size checked)",
                    ref("Attachment"), 401, 403, 404, 409, 422, status="201"),
        "requestBody": _UPLOAD, "parameters": _path("task_id")}},
}, {
    "WorkTask": {"allOf": [ref("Task"), {"type": "object", "properties": {
        "urgency": {"type": "string", "enum": list(task_list.URGENCIES)},
        "claimed_by_name": {"type": ["string", "null"]},
        "applicant_name": {"type": "string"}, "procedure": {"type": "string"},
        "dossier_status": {"type": "integer"},
        "received_at": {"type": "string", "format": "date-time"}}}]},
    "Comment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "task_id": {"type": ["string", "null"]},
        "author": {"type": "string"}, "author_name": {"type": "string"},
        "body": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}},
    "Attachment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "task_id": {"type": ["string", "null"]},
        "purpose": {"type": "string", "enum": ["intake", "supplement", "task", "result"]},
        "filename": {"type": "string"}, "content_type": {"type": "string"},
        "size": {"type": "integer"}, "sha256": {"type": "string"},
        "uploaded_at": {"type": "string", "format": "date-time"},
        "uploaded_by": {"type": ["string", "null"]}, "url": {"type": "string"}}},
})
