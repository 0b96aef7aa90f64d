"""The reception desk: receive dossiers, list them, open one."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import InvalidInput, NotFound
from engine.services import apologies, catalogue, dossiers, supervision
from engine.services.tracking import tracking_sheet
from web import current_core, lang, now
from web.auth import OFFICER_ROLES, current_officer, role_required
from web.views import localtime
from workflows.intake import CHANNEL_TITLES, intake_schema

bp = Blueprint("reception", __name__, url_prefix="/dossiers")
STAFF = (*OFFICER_ROLES, "supervisor")


@bp.get("/")
@role_required(*STAFF)
def index() -> ResponseReturnValue:
    """The most recently received dossiers."""
    return render_template("reception/index.html", rows=dossiers.list_dossiers(current_core()))


@bp.route("/new", methods=["GET", "POST"])
@role_required("reception", "clerk")
def receive() -> ResponseReturnValue:
    """Receive a new dossier: choose its procedure, then record its applicant."""
    core = current_core()
    procedures = catalogue.list_procedures(core)
    code = request.values.get("procedure") or (procedures[0][0].code if procedures else "")
    chosen = next(((p, v) for p, v in procedures if p.code == code), None)
    schema = intake_schema(chosen[1].meta.get("applicant_kind", "person") if chosen else "")
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {key: request.form.get(key, "").strip() for key in
                  (*schema["properties"], "procedure", "channel")}
        applicant = {key: values[key] for key in schema["properties"] if values[key]}
        try:
            dossier = dossiers.receive_dossier(
                core, procedure_code=values["procedure"], applicant=applicant,
                channel=values["channel"], actor=current_officer().username, now=now(),
                lang=lang())
        except InvalidInput as exc:
            errors = exc.fields
        except NotFound:
            errors = {"procedure": _("Please choose a procedure from the list.")}
        else:
            flash(_("Dossier %(code)s received. Appointment date: %(date)s.",
                    code=dossier.code, date=localtime(dossier.appointment_at)), "success")
            return redirect(url_for("reception.show", code=dossier.code))
        flash(_("The dossier was not received: correct the fields marked in red."), "danger")
    return render_template("reception/new.html", procedures=procedures, chosen=chosen,
                           values=values, errors=errors, schema=schema,
                           channels=CHANNEL_TITLES), 422 if errors else 200


@bp.get("/<code>/tracking")
@role_required(*STAFF)
def tracking(code: str) -> ResponseReturnValue:
    """The dossier's tracking sheet; ?print=1 gives the printable form."""
    try:
        sheet = tracking_sheet(current_core(), code, now())
    except NotFound:
        abort(404)
    template = "reception/tracking_print.html" if request.args.get("print") else \
        "reception/tracking.html"
    return render_template(template, sheet=sheet,
                           agency=current_core().settings.agency_name)


@bp.get("/<code>/diagram.bpmn")
@role_required(*STAFF)
def diagram(code: str) -> ResponseReturnValue:
    """The BPMN of the version the dossier runs on (for the diagram viewer)."""
    try:
        detail = dossiers.get_dossier(current_core(), code)
    except NotFound:
        abort(404)
    return Response(detail.version.bpmn_xml, mimetype="application/xml")


@bp.get("/<code>")
@role_required(*STAFF)
def show(code: str) -> ResponseReturnValue:
    """A dossier: its applicant, dates, open tasks and history."""
    try:
        detail = dossiers.get_dossier(current_core(), code)
    except NotFound:
        abort(404)
    escalated = {a.task.bpmn_id for a in supervision.open_alerts(
        current_core(), include_settled=False) if a.task is not None
        and a.dossier.code == code and a.escalation.level >= 1}
    return render_template(
        "reception/show.html", detail=detail,
        letters=apologies.letters(current_core(), code=code),
        markers={"active": sorted({t.bpmn_id for t in detail.tasks if t.state == "ready"}),
                 "done": sorted({t.bpmn_id for t in detail.tasks if t.state == "completed"}),
                 "escalated": sorted(escalated)})
