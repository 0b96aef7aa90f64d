"""JSON endpoints of the designers' version tools (on web.api's blueprint)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from engine.errors import N_, InvalidInput
from engine.services import migration, test_run, versions
from web import current_core, lang, now
from web.api import _json_body, _user, bp, token_required
from web.design import PUBLISHERS
from web.design_versions import import_upload
from web.openapi import operation, register

DESIGNERS = ("designer", "admin")


LARGEST_VERSION = 2**31 - 1  # PostgreSQL's INTEGER: a larger number would fail in the query


def _number(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit() or int(value) > LARGEST_VERSION:
        raise InvalidInput(N_("Give the version number in '%(name)s'."), {name: "integer"})
    return int(value)


@bp.get("/procedures/<code>/versions/diff")
@token_required(*DESIGNERS)
def version_diff(code: str) -> ResponseReturnValue:
    """Elements, forms and metadata keys added, removed or changed between two versions."""
    result = versions.diff_versions(current_core(), code, _number("from"), _number("to"))
    return jsonify(dataclasses.asdict(result))


@bp.get("/procedures/<code>/versions/<int:number>/export")
@token_required(*DESIGNERS)
def version_export(code: str, number: int) -> ResponseReturnValue:
    """A version as its .bpmn file (format=bpmn) or its procedure folder (format=zip)."""
    with current_core().uow() as uow:
        package = versions.package_of(versions.get_version(uow.session, code, number))
    if request.args.get("format", "zip") == "bpmn":
        return Response(package.bpmn_xml, mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{code}-v{number}.bpmn"'})
    return Response(versions.export_zip(package, code), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{code}-v{number}.zip"'})


@bp.post("/procedures/<code>/import")
@token_required(*DESIGNERS)
def version_import(code: str) -> ResponseReturnValue:
    """Make an uploaded .bpmn file or folder zip (multipart field 'file') the draft."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(N_("Send the file as multipart form field 'file'."),
                           {"file": "required"})
    package = import_upload(code, upload.filename,
                            upload.read(versions.MAX_UPLOAD_BYTES + 1))
    draft = versions.replace_draft(current_core(), code, package, _user().username, now())
    return jsonify({"procedure": code, "content_hash": package.content_hash,
                    "updated_at": draft.updated_at.isoformat(),
                    "forms": sorted(package.forms)}), 201


def _run_json(run: test_run.TestRun) -> dict[str, Any]:
    return {"id": run.id, "procedure": run.code, "source": run.source, "path": run.path,
            "completed": run.completed, "data": run.data,
            "ready": [{"id": s.id, "bpmn_id": s.bpmn_id, "name": s.name, "lane": s.lane,
                       "form_key": s.form_key, "form": s.form} for s in run.ready]}


@bp.post("/procedures/<code>/test-runs")
@token_required(*DESIGNERS)
def test_run_start(code: str) -> ResponseReturnValue:
    """Start a test run of the draft (source 'draft') or of a version (its number)."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):  # the body is optional, but an object when sent
        raise InvalidInput(N_("Send a JSON object with Content-Type: application/json."), {})
    source = str(body.get("source", "draft"))
    if source == "draft":
        package, source = versions.current_package(current_core(), code)
    else:
        if not source.isdigit():
            raise InvalidInput(N_("'source' is 'draft' or a version number."),
                               {"source": "draft or integer"})
        with current_core().uow() as uow:
            package = versions.package_of(versions.get_version(uow.session, code, int(source)))
    data = body["data"] if isinstance(body.get("data"), dict) else {}
    run = test_run.start(current_core(), code, package, source, data, now(), lang())
    return jsonify(_run_json(run)), 201


@bp.get("/test-runs/<run_id>")
@token_required(*DESIGNERS)
def test_run_show(run_id: str) -> ResponseReturnValue:
    """Where a test run stands."""
    return jsonify(_run_json(test_run.get(current_core(), run_id, now(), lang=lang())))


@bp.post("/test-runs/<run_id>/tasks/<task_id>/complete")
@token_required(*DESIGNERS)
def test_run_complete(run_id: str, task_id: str) -> ResponseReturnValue:
    """Complete a ready step of a test run with {"data": {...}}."""
    body = _json_body()
    data = body["data"] if isinstance(body.get("data"), dict) else {}
    run = test_run.complete(current_core(), run_id, task_id, data, now(), lang())
    return jsonify(_run_json(run))


def _reasons(reasons: list[migration.Reason]) -> list[str]:
    return [gettext(r.message, **r.params) for r in reasons]


@bp.get("/procedures/<code>/migration")
@token_required(*DESIGNERS)
def migration_preview(code: str) -> ResponseReturnValue:
    """Which running dossiers can move to version `to`, and why the others cannot."""
    preview = migration.preview(current_core(), code, _number("to"))
    return jsonify({"procedure": code, "target": preview.target, "dossiers": [
        {"code": c.code, "version": c.version, "revision": c.revision,
         "current_steps": c.current_steps, "can_move": c.can_move,
         "reasons": _reasons(c.reasons), "incident": c.incident}
        for c in preview.candidates]})


@bp.post("/procedures/<code>/migration")
@token_required(*PUBLISHERS)
def migration_run(code: str) -> ResponseReturnValue:
    """Move dossiers to version `to`; 409 when one changed since its previewed revision."""
    body = _json_body()
    target, chosen = body.get("to"), body.get("dossiers")
    if not isinstance(target, int) or not 0 < target <= LARGEST_VERSION or not isinstance(
            chosen, list) or not all(
            isinstance(d, dict) and isinstance(d.get("code"), str) for d in chosen):
        raise InvalidInput(N_("Send {\"to\": <version>, \"dossiers\": [{\"code\": …, "
                              "\"revision\": …}]}."), {"dossiers": "list"})
    outcomes = migration.migrate(
        current_core(), code, target,
        {d["code"]: d.get("revision") if isinstance(d.get("revision"), int) else None
         for d in chosen}, _user().username, now())
    status = 409 if any(o.conflict for o in outcomes) else 200
    return jsonify({"target": target, "results": [
        {"code": o.code, "moved": o.moved, "conflict": o.conflict,
         "reasons": _reasons(o.reasons), "incident": o.incident} for o in outcomes]}), status


_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": True, "schema": {"type": "integer"}}


_ELEMENTS = {"type": "array", "items": {"type": "object", "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
    "changes": {"type": "array", "items": {"type": "string"}}}}}
_NAMES = {"type": "array", "items": {"type": "string"}}
_DIFF = {"type": "object", "properties": {
    "code": {"type": "string"}, "from_version": {"type": "integer"},
    "to_version": {"type": "integer"}, "added": _ELEMENTS, "removed": _ELEMENTS,
    "changed": _ELEMENTS, "forms_added": _NAMES, "forms_removed": _NAMES,
    "forms_changed": _NAMES, "meta_changed": _NAMES}}
_RUN = {"type": "object", "properties": {
    "id": {"type": "string"}, "procedure": {"type": "string"}, "source": {"type": "string"},
    "path": _NAMES, "completed": {"type": "boolean"}, "data": {"type": "object"},
    "ready": {"type": "array", "items": {"type": "object"}}}}
_PREVIEW = {"type": "object", "properties": {
    "procedure": {"type": "string"}, "target": {"type": "integer"},
    "dossiers": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "version": {"type": "integer"},
        "revision": {"type": "integer"}, "current_steps": _NAMES,
        "can_move": {"type": "boolean"}, "reasons": _NAMES,
        "incident": {"type": ["string", "null"],
                     "description": "the error it is stopped on: it moves all the same, "
                                    "then its retry runs the target version"}}}}}}
_RESULTS = {"type": "object", "properties": {
    "target": {"type": "integer"}, "results": {"type": "array", "items": {
        "type": "object", "properties": {"code": {"type": "string"},
                                         "moved": {"type": "boolean"},
                                         "conflict": {"type": "boolean"},
                                         "reasons": _NAMES,
                                         "incident": {"type": "boolean", "description":
                                                      "moved, still stopped: retry it"}}}}}}
_FILE = {"type": "string", "format": "binary"}

register({
    "/procedures/{code}/versions/diff": {"get": {
        **operation("What changed between two versions of a procedure", _DIFF, 401, 403, 404,
                    422), "parameters": [_CODE, _query("from"), _query("to")]}},
    "/procedures/{code}/versions/{number}/export": {"get": {
        **operation("A version as a .bpmn file (format=bpmn) or a zip of its folder",
                    _FILE, 401, 403, 404),
        "parameters": [_CODE, _NUMBER, {"name": "format", "in": "query", "schema": {
            "enum": ["zip", "bpmn"]}}]}},
    "/procedures/{code}/import": {"post": {
        **operation("Make an uploaded .bpmn file or folder zip the procedure's draft",
                    {"type": "object"}, 401, 403, 404, 422, status="201"),
        "parameters": [_CODE],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {"file": _FILE}}}}}}},
    "/procedures/{code}/test-runs": {"post": {
        **operation("Start a test run (no dossier is created)", _RUN, 401, 403, 404, 409, 422,
                    status="201", body={"type": "object", "properties": {
                        "source": {"type": "string", "description": "'draft' or a number"},
                        "data": {"type": "object"}}}), "parameters": [_CODE]}},
    "/test-runs/{run_id}": {"get": {**operation("Where a test run stands", _RUN, 401, 403,
                                                404), "parameters": [_RUN_ID]}},
    "/test-runs/{run_id}/tasks/{task_id}/complete": {"post": {
        **operation("Complete a ready step of a test run", _RUN, 401, 403, 404, 409, 422,
                    body={"type": "object", "properties": {"data": {"type": "object"}}}),
        "parameters": [_RUN_ID, _TASK_ID]}},
    "/procedures/{code}/migration": {
        "get": {**operation("Which running (or stopped) dossiers can move to version `to`, and why "
                            "not",
                            _PREVIEW, 401, 403, 404, 422),
                "parameters": [_CODE, _query("to")]},
        "post": {**operation("Move dossiers to a version, each in its own transaction",
                             _RESULTS, 401, 403, 404, 409, 422, body={
                                 "type": "object", "required": ["to", "dossiers"],
                                 "properties": {"to": {"type": "integer"}, "dossiers": {
                                     "type": "array", "items": {"type": "object", "properties": {
                                         "code": {"type": "string"},
                                         "revision": {"type": "integer"}}}}}}),
                 "parameters": [_CODE]}},
})
