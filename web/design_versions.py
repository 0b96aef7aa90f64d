"""Designers' version tools: diff, export and import, test runs, moving running dossiers."""

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

from engine.errors import N_, Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from engine.models import Procedure
from engine.services import dossiers, migration, test_run, versions
from engine.specs import Package
from web import current_core, lang, now, translate
from web.auth import current_officer, role_required
from web.design import PUBLISHERS
from web.reception import STAFF
from workflows.forms import coerce_form

bp = Blueprint("design_versions", __name__, url_prefix="/design")
DESIGNERS = ("designer", "admin")


def _procedure(code: str) -> tuple[Procedure, list[Any]]:
    try:
        history = versions.list_versions(current_core(), code)
    except NotFound:
        abort(404)
    with current_core().uow() as uow:
        return uow.session.get_one(Procedure, history[0].procedure_id), history


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        abort(400)


@bp.get("/<code>/versions/diff")
@role_required(*DESIGNERS)
def diff(code: str) -> ResponseReturnValue:
    """Two versions side by side: elements, forms and metadata added, removed, changed."""
    procedure, history = _procedure(code)
    latest = history[0].version
    new = _number(request.args.get("to"), latest)
    old = _number(request.args.get("from"), max(new - 1, 1))
    try:
        result = versions.diff_versions(current_core(), code, old, new)
    except NotFound as exc:
        flash(translate(exc), "warning")
        return redirect(url_for(".diff", code=code))
    return render_template("design_versions/diff.html", procedure=procedure, history=history,
                           diff=result)


def _download(content: str | bytes, filename: str, mimetype: str) -> Response:
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _version_package(code: str, number: int) -> Package:
    try:
        with current_core().uow() as uow:
            return versions.package_of(versions.get_version(uow.session, code, number))
    except NotFound:
        abort(404)


@bp.get("/<code>/versions/<int:number>/export.bpmn")
@role_required(*DESIGNERS)
def export_bpmn(code: str, number: int) -> ResponseReturnValue:
    """A version's BPMN file."""
    return _download(_version_package(code, number).bpmn_xml, f"{code}-v{number}.bpmn",
                     "application/xml")


@bp.get("/<code>/versions/<int:number>/export.zip")
@role_required(*DESIGNERS)
def export_zip(code: str, number: int) -> ResponseReturnValue:
    """A version's procedure folder as a zip (procedure.toml, process.bpmn, forms)."""
    return _download(versions.export_zip(_version_package(code, number), code),
                     f"{code}-v{number}.zip", "application/zip")


@bp.post("/<code>/import")
@role_required(*DESIGNERS)
def import_files(code: str) -> ResponseReturnValue:
    """Make an uploaded .bpmn file or procedure folder zip the procedure's draft."""
    _procedure(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a .bpmn file or a .zip of the procedure folder."), "warning")
        return redirect(url_for(".diff", code=code))
    try:
        package = import_upload(code, upload.filename, upload.read(versions.MAX_UPLOAD_BYTES + 1))
        versions.replace_draft(current_core(), code, package, current_officer().username, now())
    except InvalidInput as exc:
        flash(translate(exc), "danger")
        return redirect(url_for(".diff", code=code))
    flash(_("The file is now the procedure's draft. Validate and test it before deploying."),
          "success")
    return redirect(url_for(".diff", code=code))


def import_upload(code: str, filename: str, data: bytes) -> Package:
    """The package an uploaded file gives (shared with the API)."""
    name = filename.lower()
    if name.endswith(".zip"):
        return versions.import_zip(data, code)
    if name.endswith(".bpmn") or name.endswith(".xml"):
        base, _source = versions.current_package(current_core(), code)
        return versions.import_bpmn(data, base)
    raise InvalidInput(N_("Choose a .bpmn file or a .zip of the procedure folder."), {})


@bp.get("/<code>/test-run")
@role_required(*DESIGNERS)
def test_run_page(code: str, run: test_run.TestRun | None = None,
                  errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                  status: int = 200) -> ResponseReturnValue:
    """A test run: the diagram with the path taken, and the form of each ready step."""
    procedure, history = _procedure(code)
    run_id = request.args.get("run")
    if run is None and run_id:
        try:
            run = test_run.get(current_core(), run_id, now(), code, lang())
        except NotFound as exc:
            flash(translate(exc), "warning")
    has_draft = versions.current_package(current_core(), code)[1] == "draft"
    return render_template("design_versions/test_run.html", procedure=procedure,
                           history=history, run=run, has_draft=has_draft, errors=errors or {},
                           values=values or {}, samples=_samples(run)), status


def _samples(run: test_run.TestRun | None) -> dict[str, dict[str, Any]]:
    """Sample form data for each ready step (the demo's, where it knows the step)."""
    from engine.demo import step_data

    samples: dict[str, dict[str, Any]] = {}
    for step in run.ready if run else []:
        try:
            samples[step.id] = step_data(step.bpmn_id, now().date().isoformat())
        except KeyError:
            samples[step.id] = {}
    return samples


@bp.post("/<code>/test-run")
@role_required(*DESIGNERS)
def start_test_run(code: str) -> ResponseReturnValue:
    """Start a test run of the draft or of a deployed version."""
    _procedure(code)
    source = request.form.get("source", "draft")
    if source == "draft":
        package, source = versions.current_package(current_core(), code)
    else:
        package = _version_package(code, _number(source, 0))
    try:
        run = test_run.start(current_core(), code, package, source, {}, now(), lang())
    except ServiceError as exc:
        flash(translate(exc), "danger")
        return redirect(url_for(".test_run_page", code=code))
    return redirect(url_for(".test_run_page", code=code, run=run.id))


@bp.post("/<code>/test-run/<run_id>/complete")
@role_required(*DESIGNERS)
def complete_test_step(code: str, run_id: str) -> ResponseReturnValue:
    """Complete a ready step of a test run with the form's data."""
    core = current_core()
    try:
        run = test_run.get(core, run_id, now(), code, lang())
    except NotFound as exc:
        flash(translate(exc), "warning")
        return redirect(url_for(".test_run_page", code=code))
    task_id = request.form.get("task_id", "")
    step = next((s for s in run.ready if s.id == task_id), None)
    data = coerce_form(step.form or {}, request.form) if step else {}
    try:
        test_run.complete(core, run_id, task_id, data, now(), lang(), code)
    except InvalidInput as exc:
        flash(_("The form has errors: correct the fields marked in red."), "danger")
        return test_run_page(code, run=run, errors={task_id: exc.fields},  # type: ignore[dict-item]
                             values={task_id: dict(request.form)}, status=422)
    except ServiceError as exc:
        flash(translate(exc), "warning")
    return redirect(url_for(".test_run_page", code=code, run=run_id))


@bp.get("/<code>/test-run/<run_id>/diagram.bpmn")
@role_required(*DESIGNERS)
def test_run_diagram(code: str, run_id: str) -> ResponseReturnValue:
    """The BPMN a test run runs (for the diagram viewer)."""
    try:
        run = test_run.get(current_core(), run_id, now(), code, lang())
    except NotFound:
        abort(404)
    return Response(run.bpmn_xml, mimetype="application/xml")


@bp.get("/<code>/migrate")
@role_required(*DESIGNERS)
def migrate_page(code: str) -> ResponseReturnValue:
    """Which running dossiers can move to a version, and why the others cannot."""
    procedure, history = _procedure(code)
    target = _number(request.args.get("to"), history[0].version)
    try:
        preview = migration.preview(current_core(), code, target)
    except NotFound:
        abort(404)
    return render_template("design_versions/migrate.html", procedure=procedure,
                           history=history, preview=preview, reason_text=reason_text,
                           openable=_openable([c.code for c in preview.candidates]))


def _openable(codes: list[str]) -> set[str]:
    """The dossiers whose page the viewer may open (a designer alone may open none)."""
    officer = current_officer()
    if not set(STAFF) & officer.role_set:
        return set()
    found = set()
    for code in codes:
        try:
            dossiers.check_scope(current_core(), officer, code)
        except (NotFound, Forbidden):
            continue
        found.add(code)
    return found


def reason_text(reason: migration.Reason) -> str:
    """A reason a dossier cannot move, in the user's language (the changed attributes too)."""
    params = dict(reason.params)
    if isinstance(params.get("what"), str):
        params["what"] = ", ".join(_(word) for word in params["what"].split(", "))
    return _(reason.message, **params)


@bp.post("/<code>/migrate")
@role_required(*PUBLISHERS)
def migrate(code: str) -> ResponseReturnValue:
    """Move the chosen dossiers to the target version, each on its own."""
    _procedure(code)
    target = _number(request.form.get("to"), 0)
    chosen: dict[str, int | None] = {}
    for value in request.form.getlist("dossier"):
        dossier_code, _sep, revision = value.rpartition(":")
        chosen[dossier_code] = int(revision) if revision.isdigit() else None
    if not chosen:
        flash(_("Choose the dossiers to move."), "warning")
        return redirect(url_for(".migrate_page", code=code, to=target))
    try:
        outcomes = migration.migrate(current_core(), code, target, chosen,
                                     current_officer().username, now())
    except (NotFound, Conflict) as exc:
        flash(translate(exc), "danger")
        return redirect(url_for(".migrate_page", code=code, to=target))
    moved = [o.code for o in outcomes if o.moved]
    if moved:
        flash(_("Moved to version %(number)s: %(codes)s.", number=target,
                codes=", ".join(moved)), "success")
    stopped = [o.code for o in outcomes if o.moved and o.incident]
    if stopped:
        flash(_("Still stopped on an error: %(codes)s. Retry them on the Stopped procedures "
                "page: the failed step now runs on version %(number)s.", number=target,
                codes=", ".join(stopped)), "warning")
    for outcome in outcomes:
        if not outcome.moved:
            flash(_("%(code)s was not moved: %(reasons)s.", code=outcome.code,
                    reasons="; ".join(reason_text(r) for r in outcome.reasons)), "warning")
    return redirect(url_for(".migrate_page", code=code, to=target))
