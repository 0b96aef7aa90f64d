"""Officers' task list and task pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import (
    accounts,
    attachments,
    catalogue,
    comments,
    dossiers,
    supervision,
    task_list,
    tasks,
)
from engine.services import notifications as notices
from engine.services.tracking import TrackingSheet, tracking_sheet
from web import current_core, lang, now, translate
from web.auth import OFFICER_ROLES, current_officer, role_required
from web.recorded import applicant_choices, last_answers, recorded_steps
from web.views import step_label
from workflows.forms import FORM_ERROR_KEY, coerce_form

bp = Blueprint("tasks", __name__)
URGENCY_LABELS = {
    "overdue": lazy_gettext("Overdue"),
    "due_soon": lazy_gettext("Due soon"),
    "on_track": lazy_gettext("On track"),
    "no_deadline": lazy_gettext("No deadline"),
    "": "",
}
PURPOSE_LABELS = {
    "intake": lazy_gettext("received with the dossier"),
    "supplement": lazy_gettext("supplement"),
    "task": lazy_gettext("added while processing"),
    "result": lazy_gettext("result"),
}


def _filters(args: Mapping[str, str], default_view: str) -> task_list.TaskFilters:
    """The list's filters from a query string; unknown values are ignored."""
    status, page = args.get("status", ""), args.get("page", "")
    view, sort = args.get("view", ""), args.get("sort", "")
    return task_list.TaskFilters(
        view=view if view in task_list.VIEWS else default_view,
        procedure=args.get("procedure") or None,
        urgency=args.get("urgency") if args.get("urgency") in task_list.URGENCIES else None,
        status=int(status) if status.isdigit() else None,
        sort=sort if sort in task_list.SORTS else "deadline",
        search=args.get("q", "").strip()[:100],
        page=int(page) if page.isdigit() and int(page) > 0 else 1)


@bp.get("/")
@role_required()
def index() -> ResponseReturnValue:
    """The officer's tasks or their group's, filtered, searched and sorted by deadline."""
    user = current_officer()
    if not set(OFFICER_ROLES) & user.role_set:
        if "supervisor" in user.role_set:
            return redirect(url_for("supervise.index"))
        if "admin" in user.role_set:
            return redirect(url_for("admin.calendar"))
    filters = _filters(request.args, default_view="group")
    page = task_list.task_page(current_core(), user, filters, now())
    template = "tasks/_list.html" if request.headers.get("HX-Request") else "tasks/index.html"
    return render_template(template, page=page, filters=filters, user=user,
                           procedures=catalogue.deployed_procedures(current_core()),
                           statuses=task_list.WAITING_STATUSES, urgencies=task_list.URGENCIES,
                           urgency_labels=URGENCY_LABELS)


def _back(default: str) -> str:
    """Where to go after a POST: the page it named, if it is on this site."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.get("/tasks/<task_id>")
@role_required(*OFFICER_ROLES)
def show(task_id: str) -> ResponseReturnValue:
    """A task with its dossier, history and form."""
    return render_task(task_id)


def render_task(task_id: str, values: dict[str, object] | None = None,
                errors: dict[str, str] | None = None, status: int = 200,
                **extra: object) -> ResponseReturnValue:
    """The task page; `extra` carries the comment and file fields' values and messages."""
    core = current_core()
    user = current_officer()
    try:
        detail = tasks.get_task(core, user, task_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    code = detail.dossier.code
    history = dossiers.get_dossier(core, code)
    takeover = bool(detail.task.claimed_by not in (None, user.id)
                    and {"head", "leader", "supervisor"} & user.role_set)
    if values is None and detail.task.state == "ready":
        # A step done again (sent back) starts from what it recorded the last time; the
        # applicant's own choices (how the result goes back) fill what it asks again.
        values = {**applicant_choices(detail.dossier, detail.form),
                  **last_answers(history, detail.task.bpmn_id)}
    return render_template(
        "tasks/show.html", detail=detail, history=history,
        recorded=recorded_steps(core, history, lang()),
        sheet=_sheet_in_language(tracking_sheet(core, code, now())),
        comments=comments.list_comments(core, code),
        files=attachments.list_attachments(core, detail.dossier.id),
        officers=supervision.officers_with_role(core, detail.task.role, detail.task.department)
        if takeover else [],
        claimer=accounts.get_user(core, detail.task.claimed_by)
        if detail.task.claimed_by else None,
        values=values or {}, errors=errors or {},
        urgency_code=task_list.urgency(detail.task.due_at, detail.task.warn_at, now()),
        urgency_labels=URGENCY_LABELS, purpose_labels=PURPOSE_LABELS,
        agency=core.settings.agency_name, form_error=(errors or {}).get(FORM_ERROR_KEY),
        user=user, **extra), status


def _sheet_in_language(sheet: TrackingSheet) -> TrackingSheet:
    """The tracking sheet with its steps named in the user's language."""
    version = sheet.dossier.procedure_version_id
    return replace(sheet, handoffs=[replace(h, step=step_label(version, None, h.step))
                                    for h in sheet.handoffs])


@bp.post("/tasks/<task_id>/claim")
@role_required(*OFFICER_ROLES)
def claim(task_id: str) -> ResponseReturnValue:
    """Claim a task."""
    try:
        tasks.claim_task(current_core(), current_officer(), task_id, now())
        flash(_("The task is now yours."), "success")
    except Conflict as exc:
        flash(translate(exc), "warning")
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return redirect(_back(url_for("tasks.show", task_id=task_id)))


@bp.post("/tasks/<task_id>/unclaim")
@role_required(*OFFICER_ROLES)
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give a claimed task back to the group."""
    try:
        tasks.unclaim_task(current_core(), current_officer(), task_id, now())
        flash(_("The task is back in the group's list."), "info")
    except Conflict as exc:
        flash(translate(exc), "warning")
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return redirect(_back(url_for("tasks.index")))


@bp.post("/tasks/<task_id>/complete")
@role_required(*OFFICER_ROLES)
def complete(task_id: str) -> ResponseReturnValue:
    """Complete a task with the submitted form."""
    core = current_core()
    try:
        detail = tasks.get_task(core, current_officer(), task_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    data = coerce_form(detail.form or {}, request.form)
    try:
        done = tasks.complete_task(core, current_officer(), task_id, data, now(), lang())
    except InvalidInput as exc:
        flash(_("The form has errors: correct the fields marked in red."), "danger")
        return render_task(task_id, values=dict(request.form), errors=exc.fields, status=422)
    except Conflict as exc:
        flash(translate(exc), "warning")
        if exc.code == "supplement_limit":
            return render_task(task_id, values=dict(request.form), status=409)
        return redirect(url_for("tasks.index"))
    flash(_("Task completed for dossier %(code)s.", code=done.dossier_code), "success")
    return redirect(url_for("tasks.index"))


@bp.get("/notifications")
@role_required()
def notifications() -> ResponseReturnValue:
    """The officer's notifications, newest first; opening the page marks them read."""
    user = current_officer()
    rows = notices.latest(current_core(), user)
    notices.mark_all_read(current_core(), user, now())
    return render_template("tasks/notifications.html", rows=rows)


# Comments and files of the task page live in a module of their own, on this blueprint.
from web import task_files  # noqa: E402,F401
