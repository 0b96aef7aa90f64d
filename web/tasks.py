"""Officers' task list and task pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import dossiers, tasks
from engine.services import notifications as notices
from web import current_core, lang, now, translate
from web.auth import OFFICER_ROLES, current_officer, role_required
from workflows.forms import FORM_ERROR_KEY, coerce_form

bp = Blueprint("tasks", __name__)


@bp.get("/")
@role_required()
def index() -> ResponseReturnValue:
    """The tasks the officer may work on, most urgent first."""
    user = current_officer()
    if not set(OFFICER_ROLES) & user.role_set:
        if "supervisor" in user.role_set:
            return redirect(url_for("supervise.index"))
        if "admin" in user.role_set:
            return redirect(url_for("admin.calendar"))
    rows = tasks.list_tasks(current_core(), user)
    return render_template("tasks/index.html", rows=rows, user=user)


@bp.get("/tasks/<task_id>")
@role_required(*OFFICER_ROLES)
def show(task_id: str) -> ResponseReturnValue:
    """A task with its dossier, history and form."""
    return _render_task(task_id)


def _render_task(task_id: str, values: dict[str, object] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    core = current_core()
    try:
        detail = tasks.get_task(core, current_officer(), task_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    history = dossiers.get_dossier(core, detail.dossier.code)
    return render_template("tasks/show.html", detail=detail, history=history,
                           values=values or {}, errors=errors or {},
                           form_error=(errors or {}).get(FORM_ERROR_KEY),
                           user=current_officer()), status


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
    return redirect(url_for("tasks.show", task_id=task_id))


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
    return redirect(url_for("tasks.index"))


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
        return _render_task(task_id, values=dict(request.form), errors=exc.fields, status=422)
    except Conflict as exc:
        flash(translate(exc), "warning")
        if exc.code == "supplement_limit":
            return _render_task(task_id, values=dict(request.form), status=409)
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
