"""The citizen portal (no login): catalogue, online submission, lookup, supplement, rating."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, redirect, render_template, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from engine.errors import Conflict, InvalidInput, NotFound
from engine.services import attachments, portal, ratings
from engine.services.online_submission import Submission, submit_online
from engine.services.portal_catalogue import CatalogueEntry, entry, public_catalogue
from engine.services.supplement_answers import answer_supplement
from web import current_core, lang, now, translate
from web.limits import LOOKUP, limiter
from workflows.intake import document_field, intake_schema
from workflows.rating import RATING_SCHEMA
from workflows.submission import ONLINE_RETURN_TITLES, return_methods

bp = Blueprint("portal", __name__, url_prefix="/portal")
F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "portal_codes"
REMEMBERED = 20  # codes one browser may act on, the latest kept
HISTORY_LABELS = {
    "submitted_online": lazy_gettext("Submitted online"),
    "received": lazy_gettext("Received by the reception desk"),
    "resumed": lazy_gettext("Supplement accepted: the appointment date moved"),
    "supplement_requested": lazy_gettext("The reception desk asked in writing for a "
                                         "supplement"),
    "refused": lazy_gettext("The reception desk refused the dossier, with the reason in "
                            "writing"),
    "supplement_answered": lazy_gettext("You answered the supplement request"),
    "apology_approved": lazy_gettext("The agency apologised for the delay and set a new date"),
    "appointment_extended": lazy_gettext("Your case needs a verification: the appointment date "
                                         "moved to the time the law allows"),
}


def remember(code: str) -> None:
    """Let this browser act on the dossier `code` (after a lookup or its submission)."""
    codes = [c for c in session.get(SESSION_KEY, []) if c != code]
    session[SESSION_KEY] = [*codes, code][-REMEMBERED:]


def access_required(view: F) -> F:
    """Let a request through only for a dossier this browser looked up; else to the lookup."""

    @functools.wraps(view)
    def wrapped(code: str, *args: Any, **kwargs: Any) -> Any:
        if code not in session.get(SESSION_KEY, []):
            return redirect(url_for("portal.lookup", code=code))
        return view(code, *args, **kwargs)

    return cast(F, wrapped)


def submission_from_request(procedure_code: str, item_count: int,
                            schema: dict[str, Any]) -> Submission:
    """The submission a multipart form (page or API) carries."""
    form = request.form
    return Submission(
        procedure_code=procedure_code,
        applicant={key: form.get(key, "").strip() for key in schema["properties"]},
        documents={i: [portal.Upload(f.stream, f.filename or "")
                       for f in request.files.getlist(document_field(i)) if f.filename]
                   for i in range(item_count)},
        return_method=form.get("return_method", ""),
        return_address=form.get("return_address", ""),
        consent=form.get("consent", "").lower() in {"on", "true", "1", "yes"})


def files_from_request(field: str = "files") -> list[portal.Upload]:
    """The files a multipart form carries under `field`."""
    return [portal.Upload(f.stream, f.filename or "") for f in request.files.getlist(field)
            if f.filename]


def return_titles() -> dict[str, tuple[str, str]]:
    """Every return method's titles, for showing a dossier's choice."""
    return {**return_methods("full"), "online": ONLINE_RETURN_TITLES}


@bp.get("/")
def index() -> ResponseReturnValue:
    """The catalogue of procedures by field, with documents, fees and deadlines."""
    return render_template("portal/index.html", fields=public_catalogue(current_core()))


@bp.route("/submit/<procedure>", methods=["GET", "POST"])
def submit(procedure: str) -> ResponseReturnValue:
    """Submit a dossier online: applicant, documents with files, return method, consent."""
    chosen: CatalogueEntry | None = entry(current_core(), procedure)
    if chosen is None:
        return _not_found(lazy_gettext("This procedure is not in the catalogue. Choose one "
                                       "from the list of procedures."))
    schema = intake_schema(chosen.meta.applicant_kind)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST" and chosen.online:
        values = {k: request.form.get(k, "") for k in (*schema["properties"], "return_method",
                                                       "return_address", "consent")}
        try:
            dossier = submit_online(current_core(), submission_from_request(
                procedure, len(chosen.checklist), schema), now(), lang())
        except InvalidInput as exc:
            errors = exc.fields
        else:
            remember(dossier.code)
            return redirect(url_for("portal.submitted", code=dossier.code))
    return render_template("portal/submit.html", chosen=chosen, schema=schema, values=values,
                           errors=errors, methods=return_methods(chosen.meta.online_level),
                           field_of=document_field), 422 if errors else 200


def _not_found(message: Any) -> ResponseReturnValue:
    return render_template("portal/not_found.html", message=message), 404


@bp.get("/submitted/<code>")
@access_required
def submitted(code: str) -> ResponseReturnValue:
    """What the applicant gets after submitting: the code, the lookup address, what next."""
    view = portal.public_dossier(current_core(), code)
    return render_template("portal/submitted.html", view=view,
                           lookup_url=portal.lookup_url(current_core(), code))


@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit(LOOKUP, methods=["POST"])
def lookup() -> ResponseReturnValue:
    """Look a dossier up by its code and the applicant's ID number."""
    values = {"code": request.values.get("code", ""), "id_number": ""}
    message = None
    if request.method == "POST":
        values["id_number"] = request.form.get("id_number", "")
        try:
            code = portal.check_access(current_core(), values["code"], values["id_number"])
        except NotFound as exc:
            message = translate(exc)
        else:
            remember(code)
            return redirect(url_for("portal.show", code=code))
    return render_template("portal/lookup.html", values=values, message=message), \
        404 if message else 200


def _show(code: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    view = portal.public_dossier(current_core(), code)
    return render_template("portal/dossier.html", view=view, history_labels=HISTORY_LABELS,
                           returns=return_titles(), note=context.pop("note", ""),
                           errors=context.pop("errors", {}), **context), status


@bp.get("/dossiers/<code>")
@access_required
def show(code: str) -> ResponseReturnValue:
    """The applicant's view of their dossier: status, dates, history, notices, files."""
    return _show(code)


@bp.post("/dossiers/<code>/supplement")
@access_required
def supplement(code: str) -> ResponseReturnValue:
    """Answer the open supplement request with a note and files."""
    note = request.form.get("note", "")
    try:
        answer_supplement(current_core(), code, note=note, files=files_from_request(),
                          now=now(), lang=lang())
    except InvalidInput as exc:
        return _show(code, 422, note=note, errors=exc.fields, problem=translate(exc))
    except Conflict as exc:
        return _show(code, 409, problem=translate(exc))
    return redirect(url_for("portal.show", code=code, answered=1))


@bp.route("/dossiers/<code>/rating", methods=["GET", "POST"])
@access_required
def rating(code: str) -> ResponseReturnValue:
    """Rate the service once the result is returned (the national index's questions)."""
    view = portal.public_dossier(current_core(), code)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    problem = None
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in RATING_SCHEMA["properties"]}
        try:
            ratings.rate(current_core(), code, dict(values), now(), lang())
        except InvalidInput as exc:
            errors, problem, status = exc.fields, translate(exc), 422
        except Conflict as exc:
            problem, status = translate(exc), 409
        else:
            return redirect(url_for("portal.show", code=code, rated=1))
    return render_template("portal/rating.html", view=view, schema=RATING_SCHEMA,
                           values=values, errors=errors, problem=problem), status


@bp.get("/dossiers/<code>/files/<int:attachment_id>")
@access_required
def download(code: str, attachment_id: int) -> ResponseReturnValue:
    """One of the files the applicant uploaded."""
    core = current_core()
    try:
        portal.open_upload(core, code, attachment_id)
        row, path = attachments.open_attachment(core, code, attachment_id)
    except NotFound as exc:
        return _not_found(translate(exc))
    return send_file(path, mimetype=row.content_type, as_attachment=True,
                     download_name=row.filename)
