"""The task page's comments and files, and the officers' download of a dossier's files."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import comments, task_files, tasks
from engine.services.attachments import open_attachment
from web import current_core, lang, now, translate
from web.auth import OFFICER_ROLES, current_officer, role_required
from web.reception import check_scope
from web.tasks import bp, render_task


@bp.post("/tasks/<task_id>/comments")
@role_required(*OFFICER_ROLES)
def comment(task_id: str) -> ResponseReturnValue:
    """Add an internal comment to the task's dossier."""
    core = current_core()
    body = request.form.get("body", "")
    try:
        detail = tasks.get_task(core, current_officer(), task_id)
        comments.add_comment(core, current_officer(), detail.dossier.code, body, now(),
                             task_id=task_id, lang=lang())
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except InvalidInput as exc:
        return render_task(task_id, status=422, comment_body=body,
                           comment_error=exc.fields.get("body"))
    flash(_("Comment added."), "success")
    return redirect(url_for("tasks.show", task_id=task_id, _anchor="comments"))


@bp.post("/tasks/<task_id>/files")
@role_required(*OFFICER_ROLES)
def upload(task_id: str) -> ResponseReturnValue:
    """Attach a file to the task's dossier, after checking its type and size."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("", {"file": _("Choose a file to attach.")})
        task_files.attach_to_task(current_core(), current_officer(), task_id, upload.stream,
                                  upload.filename, now(), lang=lang())
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except Conflict as exc:
        flash(translate(exc), "warning")
        return redirect(url_for("tasks.show", task_id=task_id))
    except InvalidInput as exc:
        return render_task(task_id, status=422, file_error=exc.fields.get("file"))
    flash(_("File attached."), "success")
    return redirect(url_for("tasks.show", task_id=task_id, _anchor="files"))


@bp.get("/tasks/files/<code>/<int:attachment_id>")
@role_required(*OFFICER_ROLES, "supervisor")
def download(code: str, attachment_id: int) -> ResponseReturnValue:
    """A file of a dossier, as a download and never rendered by the browser."""
    check_scope(code)
    try:
        row, path = open_attachment(current_core(), code, attachment_id)
    except NotFound:
        abort(404)
    # send_file names the file both ways: filename= in ASCII and filename*= (RFC 5987).
    response = send_file(path, mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
