"""The designers' area: procedures, their drafts in the bpmn-js modeler, validation, deployment."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import gettext as _

from engine.errors import N_, InvalidInput, NotFound, ServiceError
from engine.models import ProcedureDraft
from engine.services import design, design_list
from engine.services.design import ProblemsFound
from engine.services.design_skeleton import new_form
from engine.validation import ERROR, Problem
from web import current_core, now, translate
from web.auth import current_officer, role_required
from web.views import ELEMENT_TYPES, ROLE_LABELS

bp = Blueprint("design", __name__, url_prefix="/design")
DESIGNERS = ("designer", "admin")
# Publishing (deploying a version, moving running dossiers onto one) is the designers' alone:
# administrators may look and try, not change what officers run.
PUBLISHERS = ("designer",)
# The roles a lane can map to: the officers' roles.
LANE_ROLES = ("reception", "specialist", "head", "leader", "clerk")


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem for the browser and the API, its message in the user's language."""
    try:
        message = gettext(problem.message) % problem.params
    except (KeyError, TypeError, ValueError):
        message = gettext(problem.message)
    return {"severity": problem.severity, "code": problem.code, "message": message,
            "params": problem.params, "element_id": problem.element_id, "line": problem.line}


def problems_body(problems: list[Problem]) -> dict[str, Any]:
    """The problems of a draft, errors and warnings apart."""
    items = [problem_json(p) for p in problems]
    return {"problems": items, "errors": sum(p["severity"] == ERROR for p in items),
            "warnings": sum(p["severity"] != ERROR for p in items)}


def draft_or_404(code: str) -> ProcedureDraft:
    """The procedure's draft (created on first open), or 404."""
    try:
        return design.open_draft(current_core(), code, current_officer().username, now())
    except NotFound:
        abort(404)


def _error(exc: ServiceError, status: int) -> ResponseReturnValue:
    body: dict[str, Any] = {"code": exc.code, "message": translate(exc),
                            "fields": getattr(exc, "fields", {})}
    if isinstance(exc, ProblemsFound):
        body.update(problems_body(exc.problems))
    return jsonify({"error": body}), status


@bp.get("/")
@role_required(*DESIGNERS)
def index() -> ResponseReturnValue:
    """The procedures with their latest version and whether a draft is pending."""
    return render_template("design/index.html",
                           entries=design_list.list_procedures_for_design(current_core()))


@bp.post("/new")
@role_required(*DESIGNERS)
def create() -> ResponseReturnValue:
    """Start a new procedure from a minimal skeleton."""
    code = request.form.get("code", "")
    try:
        design.new_procedure(current_core(), code, request.form.get("name", ""),
                             current_officer().username, now())
    except InvalidInput as exc:
        flash(translate(exc), "danger")
        return redirect(url_for(".index"))
    return redirect(url_for(".diagram", code=code.strip()))


@bp.get("/<code>")
@role_required(*DESIGNERS)
def diagram(code: str) -> ResponseReturnValue:
    """The draft's diagram in the modeler, with the properties panel and the checks."""
    draft = draft_or_404(code)
    roles = [{"value": r, "label": str(ROLE_LABELS.get(r, r))} for r in LANE_ROLES]
    return render_template("design/diagram.html", draft=draft, code=code, active="diagram",
                           roles=roles, lanes=draft.meta.get("lanes", {}),
                           forms=sorted(draft.forms),
                           element_types={k: str(v) for k, v in ELEMENT_TYPES.items()})


@bp.get("/<code>/draft.bpmn")
@role_required(*DESIGNERS)
def draft_xml(code: str) -> ResponseReturnValue:
    """The draft's BPMN text, for the modeler."""
    return Response(draft_or_404(code).bpmn_xml, mimetype="application/xml")


@bp.post("/<code>/draft")
@role_required(*DESIGNERS)
def save(code: str) -> ResponseReturnValue:
    """Save the modeler's XML, the lanes' roles and new forms into the draft."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("bpmn_xml"), str):
        return jsonify({"error": {"code": "invalid", "message": _(
            "Send the diagram as JSON: {\"bpmn_xml\": \"…\"}.")}}), 400
    draft = draft_or_404(code)
    meta, forms = dict(draft.meta), dict(draft.forms)
    if isinstance(body.get("lanes"), dict):
        meta["lanes"] = {str(name): _lane(spec) for name, spec in body["lanes"].items()
                         if isinstance(spec, dict) and spec.get("role")}
    for key in body.get("new_forms") or []:
        if isinstance(key, str) and key not in forms:
            forms[key] = new_form(key)
    try:
        saved = design.save_draft(current_core(), code, bpmn_xml=body["bpmn_xml"], meta=meta,
                                  forms=forms, user=current_officer().username, now=now())
    except InvalidInput as exc:
        return _error(exc, 422)
    return jsonify({"saved_at": saved.updated_at.isoformat(), "forms": sorted(saved.forms)})


def _lane(spec: dict[str, Any]) -> dict[str, Any]:
    lane = {"role": str(spec["role"])}
    lane.update({k: str(spec[k]) for k in ("department", "name_en") if spec.get(k)})
    return lane


@bp.post("/<code>/validate")
@role_required(*DESIGNERS)
def validate(code: str) -> ResponseReturnValue:
    """The draft's problems, each tied to its element."""
    draft_or_404(code)
    return jsonify(problems_body(design.validate_draft(current_core(), code)))


@bp.post("/<code>/deploy")
@role_required(*PUBLISHERS)
def deploy(code: str) -> ResponseReturnValue:
    """Deploy the draft as a new version (refused while errors remain)."""
    draft_or_404(code)
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return _error(InvalidInput(N_("Send a JSON object with Content-Type: application/json."),
                                   {}), 422)
    try:
        version = design.deploy_draft(current_core(), code, str(body.get("change_note", "")),
                                      current_officer().username, now())
    except InvalidInput as exc:
        return _error(exc, 422)
    return jsonify({"version": version.version,
                    "message": _("Version %(number)s deployed.", number=version.version)}), 201


@bp.get("/<code>/versions")
@role_required(*DESIGNERS)
def versions(code: str) -> ResponseReturnValue:
    """Who deployed each version, when, why, and how many dossiers run on it."""
    draft = draft_or_404(code)
    return render_template("design/versions.html", draft=draft, code=code, active="versions",
                           history=design_list.versions(current_core(), code))


# The metadata and forms tabs live in a module of their own; importing it adds their routes.
from web import design_forms  # noqa: E402,F401
