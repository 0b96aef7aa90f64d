"""The JSON API under /api/v1: every action of the UI, for bearer-token clients."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, TypeVar, cast

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Row

from engine.errors import (
    N_,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    Unauthenticated,
)
from engine.models import Task, User
from engine.services import accounts, catalogue, dossiers, supervision, tasks
from engine.services.tracking import tracking_sheet
from web import current_core, lang, now, translate
from web.auth import OFFICER_ROLES
from web.input_limits import LARGEST_ID
from web.limits import LOGIN, limiter
from web.openapi import openapi_document
from workflows.procedure import procedure_from_dict

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])
_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, Unauthenticated: 401}


def error_body(status: int, code: str, message: str,
               fields: dict[str, str] | None = None) -> ResponseReturnValue:
    """The JSON error every endpoint returns: {"error": {"code", "message", "fields"?}}."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return jsonify({"error": error}), status


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    return error_body(status, exc.code, translate(exc), getattr(exc, "fields", None))


def token_required(*roles: str) -> Callable[[F], F]:
    """Let a request through only with a valid bearer token (and one of `roles`)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated(N_("Send 'Authorization: Bearer <token>'; get a token "
                                         "from POST /api/v1/auth/token."))
            g.api_user = accounts.user_for_token(current_core(), token.strip(), now())
            if roles and not set(roles) & g.api_user.role_set:
                raise Forbidden(N_("Your roles do not allow this action."))
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def _user() -> User:
    return cast(User, g.api_user)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(N_("Send a JSON object with Content-Type: application/json."), {})
    return body


def uploaded_file() -> tuple[IO[bytes], str]:
    """The multipart field "file" (its stream and name), or InvalidInput saying how to send it."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(N_("The file was not accepted: correct the fields marked."),
                           {"file": "Send the file as multipart/form-data field 'file'."
                            if lang() == "en" else
                            "Gửi tệp trong trường 'file' (multipart/form-data)."})
    return upload.stream, upload.filename


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _task_json(task: Task | Row[Any], dossier_code: str,
               form: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": task.id, "dossier_code": dossier_code, "name": task.name, "lane": task.lane,
            "role": task.role, "state": task.state, "created_at": _iso(task.created_at),
            "due_at": _iso(task.due_at), "claimed_by": task.claimed_by, "form": form}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


@bp.post("/auth/token")
@limiter.limit(LOGIN)
def token() -> ResponseReturnValue:
    """Exchange a username and password for a bearer token."""
    body = _json_body()
    user = accounts.authenticate(current_core(), str(body.get("username", "")),
                                 str(body.get("password", "")), now(), channel="api")
    return jsonify({"token": accounts.issue_token(current_core(), user, now())}), 201


@bp.get("/procedures")
@token_required()
def procedures() -> ResponseReturnValue:
    """The procedures dossiers can be received for."""
    items = []
    for procedure, version in catalogue.list_procedures(current_core()):
        meta = procedure_from_dict(version.meta)
        items.append({"code": procedure.code, "name": procedure.name, "name_en": procedure.name_en,
                      "field": procedure.field, "version": version.version,
                      "statutory_working_days": meta.statutory_working_days,
                      "committed_working_days": meta.committed_working_days,
                      "fee_vnd": meta.fee_vnd, "online_level": meta.online_level})
    return jsonify({"procedures": items})


@bp.post("/dossiers")
@token_required("reception", "clerk")
def receive() -> ResponseReturnValue:
    """Receive a dossier: returns its code, status and appointment date.

    With "documents_received" (the checklist) the applicant's birth_date and a
    return_method are required and every required document must be listed.
    """
    body = _json_body()
    applicant = body.get("applicant")
    checklist = body.get("documents_received")
    method = body.get("return_method")
    dossier = dossiers.receive_dossier(
        current_core(), procedure_code=str(body.get("procedure", "")),
        applicant=applicant if isinstance(applicant, dict) else {},
        channel=str(body.get("channel", "")), actor=_user().username, now=now(), lang=lang(),
        documents_received=checklist if checklist is not None else None,
        return_method=str(method) if method is not None else None,
        return_address=str(body.get("return_address", "")))
    return jsonify(_dossier_json(dossiers.get_dossier(current_core(), dossier.code))), 201


def _dossier_json(detail: dossiers.DossierDetail) -> dict[str, Any]:
    d = detail.dossier
    return {
        "code": d.code, "procedure": detail.procedure.code, "version": detail.version.version,
        "status": d.status, "channel": d.channel,
        "applicant": {"name": d.applicant_name, "id_number": d.applicant_id_number,
                      "phone": d.applicant_phone, "email": d.applicant_email,
                      "address": d.applicant_address},
        "received_at": _iso(d.received_at), "appointment_at": _iso(d.appointment_at),
        "resolved_at": _iso(d.resolved_at), "returned_at": _iso(d.returned_at),
        "outcome": d.outcome,
        "tasks": [_task_json(t, d.code, None) for t in detail.tasks if t.state == "ready"],
        "history": [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor,
                     "task": e.task_name, "data": e.data} for e in detail.events],
    }


@bp.get("/dossiers/<code>")
@token_required("reception", "specialist", "head", "leader", "clerk", "supervisor")
def dossier(code: str) -> ResponseReturnValue:
    """A dossier with its open tasks and history (within the officer's departments)."""
    dossiers.check_scope(current_core(), _user(), code)
    return jsonify(_dossier_json(dossiers.get_dossier(current_core(), code)))


@bp.get("/dossiers/<code>/tracking")
@token_required("reception", "specialist", "head", "leader", "clerk", "supervisor")
def dossier_tracking(code: str) -> ResponseReturnValue:
    """The dossier's tracking sheet: every hand-off with its deadline and result."""
    dossiers.check_scope(current_core(), _user(), code)
    sheet = tracking_sheet(current_core(), code, now())
    d = sheet.dossier
    return jsonify({
        "code": d.code, "procedure": sheet.procedure.code, "received_at": _iso(d.received_at),
        "received_by": sheet.received_by,
        "original_appointment_at": _iso(d.original_appointment_at),
        "appointment_at": _iso(d.appointment_at), "resolved_at": _iso(d.resolved_at),
        "outcome": d.outcome,
        "handoffs": [{"step": h.step, "role": h.role, "handed_by": h.handed_by,
                      "handed_at": _iso(h.handed_at), "due_at": _iso(h.due_at),
                      "done_by": h.done_by, "done_at": _iso(h.done_at), "state": h.state,
                      "result": h.result} for h in sheet.handoffs],
        "pauses": [{"reason": p.reason, "started_at": _iso(p.started_at),
                    "ended_at": _iso(p.ended_at), "working_seconds": p.working_seconds}
                   for p in sheet.pauses],
    })


@bp.post("/tasks/<task_id>/claim")
@token_required(*OFFICER_ROLES)
def claim(task_id: str) -> ResponseReturnValue:
    """Claim a task."""
    task = tasks.claim_task(current_core(), _user(), task_id, now())
    return jsonify({"id": task.id, "claimed_by": task.claimed_by})


@bp.post("/tasks/<task_id>/unclaim")
@token_required(*OFFICER_ROLES)
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give a claimed task back to the group."""
    task = tasks.unclaim_task(current_core(), _user(), task_id, now())
    return jsonify({"id": task.id, "claimed_by": task.claimed_by})


@bp.post("/tasks/<task_id>/complete")
@token_required(*OFFICER_ROLES)
def complete(task_id: str) -> ResponseReturnValue:
    """Complete a task with {"data": {...}} matching its form."""
    body = _json_body()
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidInput(N_("Send the form's values as {\"data\": {...}}."), {})
    done = tasks.complete_task(current_core(), _user(), task_id, data, now(), lang())
    # What the completion itself knows, read again from nowhere: the history and the rest of
    # the dossier are at GET /dossiers/<code>.
    return jsonify({"code": done.dossier_code, "status": done.status, "tasks": [
        {"id": step.id, "dossier_code": done.dossier_code, "name": step.name,
         "lane": step.lane, "role": step.role, "state": "ready"} for step in done.next_steps]})


# The most alerts one call returns; `offset` pages through the rest.
ALERTS_PER_CALL = 500


@bp.get("/escalations")
@token_required("supervisor", "head", "leader")
def escalation_list() -> ResponseReturnValue:
    """Running deadlines' latest alerts (a head's: those of their department); filters stage,
    procedure, role, officer; ?all=1 also the acknowledged and settled ones."""
    args = request.args
    filters = supervision.Filters(stage=args.get("stage"), procedure=args.get("procedure"),
                                  role=args.get("role"), officer=args.get("officer"))
    limit = min(max(args.get("limit", ALERTS_PER_CALL, type=int) or 1, 1), ALERTS_PER_CALL)
    offset = min(max(args.get("offset", 0, type=int) or 0, 0), LARGEST_ID)
    alerts = supervision.open_alerts(current_core(), filters,
                                     include_settled=args.get("all") == "1",
                                     limit=limit, offset=offset,
                                     scope=supervision.scope_of(current_core(), _user()))
    return jsonify({"escalations": [
        {"id": a.escalation.id, "kind": a.escalation.kind, "level": a.escalation.level,
         "stage": a.stage, "dossier_code": a.dossier.code, "procedure": a.procedure.code,
         "task_id": a.task.id if a.task else None, "task": a.task.name if a.task else None,
         "told": a.escalation.role, "due_at": _iso(a.escalation.due_at),
         "raised_at": _iso(a.escalation.raised_at),
         "task_state": a.task.state if a.task else None, "claimed_by": a.officer,
         "acknowledged_at": _iso(a.escalation.acknowledged_at), "note": a.escalation.note}
        for a in alerts]})


@bp.post("/escalations/<int:escalation_id>/acknowledge")
@token_required("supervisor", "head", "leader")
def acknowledge(escalation_id: int) -> ResponseReturnValue:
    """Acknowledge an alert with {"note": "..."}."""
    body = _json_body() if request.get_data() else {}
    supervision.acknowledge(current_core(), _user(), escalation_id,
                            str(body.get("note", "")), now())
    return jsonify({"id": escalation_id, "acknowledged": True})


@bp.post("/tasks/<task_id>/reassign")
@token_required("supervisor", "head", "leader")
def reassign(task_id: str) -> ResponseReturnValue:
    """Give a waiting task to another officer with its role: {"officer_id": n}."""
    body = _json_body()
    officer_id = body.get("officer_id")
    if not isinstance(officer_id, int):
        raise InvalidInput(N_("Send the officer's id as {\"officer_id\": n}."), {})
    task = supervision.reassign(current_core(), _user(), task_id, officer_id, now())
    return jsonify({"id": task.id, "claimed_by": task.claimed_by})


# GET /tasks (the task list with its filters) lives in web.api_work.
# The endpoints of the reception desk, the officers' work and the citizen portal live in
# modules of their own; importing them registers their routes on `bp`.
from web import (  # noqa: E402,F401
    api_design,
    api_incidents,
    api_policies,
    api_portal,
    api_reception,
    api_users,
    api_versions,
    api_work,
)
