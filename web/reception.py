"""The reception desk: receive dossiers (or send them back, or refuse them), list, open one."""

from __future__ import annotations

from typing import Any

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

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.services import apologies, catalogue, dossiers, reception, submissions, supervision
from engine.services.attachments import store_file
from engine.services.result_return import return_record
from engine.services.tracking import tracking_sheet
from web import current_core, lang, now
from web.auth import OFFICER_ROLES, current_officer, role_required
from web.recorded import recorded_steps
from web.views import diagram_xml, localtime, procedure_name
from workflows.intake import (
    CHANNEL_TITLES,
    RETURN_TITLES,
    Channel,
    ChecklistItem,
    checklist,
    document_field,
    intake_schema,
)

bp = Blueprint("reception", __name__, url_prefix="/dossiers")
STAFF = (*OFFICER_ROLES, "supervisor")
DESK = ("reception", "clerk")
DESK_CHANNELS = {c: t for c, t in CHANNEL_TITLES.items() if c != Channel.ONLINE}


@bp.get("/")
@role_required(*STAFF)
def index() -> ResponseReturnValue:
    """The online submissions waiting for receipt, and the most recently received dossiers."""
    core = current_core()
    user = current_officer()
    return render_template("reception/index.html",
                           rows=dossiers.list_dossiers(core, user=user),
                           # the queue names applicants: for the roles that see every dossier
                           queue=submissions.list_submissions(core)
                           if dossiers.AGENCY_WIDE_ROLES & user.role_set else [])


def check_scope(code: str) -> None:
    """404 for an unknown dossier, 403 for one outside the officer's roles and department."""
    try:
        dossiers.check_scope(current_core(), current_officer(), code)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _read_intake(schema: dict[str, Any], items: list[ChecklistItem]
                 ) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """The typed values of the intake form, and its checklist as received."""
    names = (*schema["properties"], "procedure", "channel", "return_method", "return_address",
             "supplement_note", "reason")
    values: dict[str, Any] = {key: request.form.get(key, "").strip() for key in names}
    received = []
    for index in range(len(items)):
        field = document_field(index)
        values[field] = request.form.get(field) == "1"
        values[f"{field}_copies"] = request.form.get(f"{field}_copies", "").strip()
        if values[field]:
            copies = values[f"{field}_copies"] or str(items[index].copies)
            received.append({"index": index,
                             "copies": int(copies) if copies.isdigit() else 0})
    return values, received


def _store_uploads(items: list[ChecklistItem], errors: dict[str, str]) -> list[dossiers.Upload]:
    """Check and store every uploaded file; a refused one adds a message beside its item."""
    uploads = []
    for index in range(len(items)):
        field = document_field(index)
        for file in request.files.getlist(f"{field}_files"):
            if not file.filename:
                continue
            try:
                uploads.append(dossiers.Upload(index, store_file(
                    current_core(), file.stream, file.filename, field=field, lang=lang())))
            except InvalidInput as exc:
                errors.update(exc.fields)
    return uploads


def _default_checklist(items: list[ChecklistItem]) -> dict[str, Any]:
    """A fresh checklist: required documents ticked, each with its usual number of copies."""
    values: dict[str, Any] = {document_field(i): not item.optional for i, item in enumerate(items)}
    values.update({f"{document_field(i)}_copies": str(item.copies)
                   for i, item in enumerate(items)})
    return values


@bp.route("/new", methods=["GET", "POST"])
@role_required(*DESK)
def receive() -> ResponseReturnValue:
    """Receive a new dossier, or issue a supplement request or a refusal instead."""
    core = current_core()
    procedures = catalogue.list_procedures(core)
    code = request.values.get("procedure") or (procedures[0][0].code if procedures else "")
    chosen = next(((p, v) for p, v in procedures if p.code == code), None)
    schema = intake_schema(chosen[1].meta.get("applicant_kind", "person") if chosen else "")
    items = checklist(chosen[1].meta) if chosen else []
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status = 200
    action = request.form.get("action", "receive")
    built_for = request.form.get("checklist_for")
    if request.method == "POST" and (action == "choose" or (built_for and built_for != code)):
        # another procedure was chosen: show its checklist, keep the applicant, record nothing
        values = {**_read_intake(schema, [])[0], **_default_checklist(items)}
        if not chosen:
            errors = {"procedure": _("Please choose a procedure from the list.")}
        elif action != "choose":
            flash(_("The procedure was changed and nothing was recorded: tick the documents "
                    "received for %(name)s below, then submit again.",
                    name=procedure_name(chosen[0])), "warning")
            status = 422
    elif request.method == "POST":
        values, received = _read_intake(schema, items)
        applicant = {key: values[key] for key in schema["properties"] if values[key]}
        common = {"procedure_code": values["procedure"], "applicant": applicant,
                  "channel": values["channel"], "actor": current_officer().username,
                  "now": now(), "lang": lang()}
        try:
            if action == "supplement":
                dossier, _notice = reception.request_supplement_at_desk(
                    core, documents_received=received, note=values["supplement_note"], **common)
                flash(_("Dossier %(code)s was not received: print the supplement request and "
                        "hand it to the applicant.", code=dossier.code), "warning")
            elif action == "refuse":
                dossier, _notice = reception.refuse_at_desk(core, reason=values["reason"], **common)
                flash(_("Dossier %(code)s was refused: print the refusal and hand it to the "
                        "applicant.", code=dossier.code), "warning")
            else:
                uploads = _store_uploads(items, errors)
                if errors:
                    raise InvalidInput("", errors)
                dossier = dossiers.receive_dossier(
                    core, documents_received=received, uploads=uploads,
                    return_method=values["return_method"] or None,
                    return_address=values["return_address"], **common)
                flash(_("Dossier %(code)s received. Appointment date: %(date)s.",
                        code=dossier.code, date=localtime(dossier.appointment_at)), "success")
        except InvalidInput as exc:
            errors = {**errors, **exc.fields}
        except NotFound:
            errors = {"procedure": _("Please choose a procedure from the list.")}
        else:
            return redirect(url_for("reception.show", code=dossier.code))
        flash(_("Nothing was recorded: correct the fields marked in red."), "danger")
    elif chosen:
        values = _default_checklist(items)
    return render_template("reception/new.html", procedures=procedures, chosen=chosen,
                           values=values, errors=errors, schema=schema, items=items,
                           channels=DESK_CHANNELS, return_methods=RETURN_TITLES,
                           asks_return="birth_date" in schema["properties"],
                           ), 422 if errors else status


@bp.get("/<code>/tracking")
@role_required(*STAFF)
def tracking(code: str) -> ResponseReturnValue:
    """The dossier's tracking sheet; ?print=1 gives the printable form."""
    check_scope(code)
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
    check_scope(code)
    try:
        detail = dossiers.get_dossier(current_core(), code, with_bpmn=True)
    except NotFound:
        abort(404)
    return Response(diagram_xml(detail.version.id, detail.version.bpmn_xml),
                    mimetype="application/xml")


@bp.get("/<code>")
@role_required(*STAFF)
def show(code: str) -> ResponseReturnValue:
    """A dossier: its applicant, checklist, files, notices, dates, open tasks and history."""
    check_scope(code)
    try:
        detail = dossiers.get_dossier(current_core(), code)
    except NotFound:
        abort(404)
    escalated = {a.task.bpmn_id for a in supervision.open_alerts(
        current_core(), supervision.Filters(dossier_code=code))
        if a.task is not None and a.escalation.level >= 1}
    items = checklist(detail.version.meta)
    received = {row["index"]: row["copies"] for row in detail.dossier.documents_received or []}
    # back in the queue after answering a supplement request, or as first submitted
    answered = [n.answered_at for n in detail.notices if n.answered_at is not None]
    return render_template(
        "reception/show.html", detail=detail, items=items, received=received,
        queued_at=max(answered, default=None) or detail.dossier.submitted_at,
        returned=return_record(detail.events), return_methods=RETURN_TITLES,
        letters=apologies.letters(current_core(), code=code),
        recorded=recorded_steps(current_core(), detail, lang()),
        markers={"active": sorted({t.bpmn_id for t in detail.tasks if t.state == "ready"}),
                 "done": sorted({t.bpmn_id for t in detail.tasks if t.state == "completed"}),
                 "escalated": sorted(escalated)})


# The printed forms, the files and the online queue's actions live in a module of their own;
# importing it registers its routes on `bp`.
from web import reception_queue  # noqa: E402,F401
