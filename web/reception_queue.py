"""The reception desk's printed forms, a dossier's files, and the online queue's actions."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotFound
from engine.services import papers, submissions
from engine.services.attachments import open_attachment
from web import current_core, lang, now, translate
from web.auth import current_officer, role_required
from web.reception import DESK, STAFF, bp, check_scope
from web.views import localtime


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF shown in the browser (inline), under a file name for saving it."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/<code>/slip.pdf")
@role_required(*STAFF)
def slip(code: str) -> ResponseReturnValue:
    """The receipt and appointment slip (form 01) as a PDF."""
    check_scope(code)
    try:
        return pdf_response(papers.receipt_slip(current_core(), code), f"giay-tiep-nhan-{code}.pdf")
    except NotFound:
        abort(404)


@bp.get("/<code>/notices/<int:notice_id>.pdf")
@role_required(*STAFF)
def notice(code: str, notice_id: int) -> ResponseReturnValue:
    """A supplement request (form 02) or refusal (form 03) of the dossier as a PDF."""
    check_scope(code)
    try:
        return pdf_response(papers.notice_pdf(current_core(), code, notice_id),
                    f"phieu-{notice_id}-{code}.pdf")
    except NotFound:
        abort(404)


@bp.get("/<code>/files/<int:attachment_id>")
@role_required(*STAFF)
def attachment(code: str, attachment_id: int) -> ResponseReturnValue:
    """One of the dossier's files, for staff."""
    check_scope(code)
    try:
        row, path = open_attachment(current_core(), code, attachment_id)
    except NotFound:
        abort(404)
    disposition = "inline" if row.content_type == "application/pdf" else "attachment"
    response = Response(path.read_bytes(), mimetype=row.content_type)  # at most the upload limit
    response.headers["Content-Disposition"] = (f"{disposition}; "
                                               f"filename*=UTF-8''{quote(row.filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _act(code: str, action: str) -> ResponseReturnValue:
    actor = current_officer().username
    try:
        if action == "accept":
            ticked = [int(key.removeprefix("document_")) for key, value in request.form.items()
                      if key.startswith("document_") and key[9:].isdigit() and value == "1"]
            dossier = submissions.accept_submission(current_core(), code, actor=actor,
                                                    now=now(), ticked=ticked, lang=lang())
            flash(_("Dossier %(code)s received. Appointment date: %(date)s.", code=code,
                    date=localtime(dossier.appointment_at)),
                  "success")
        elif action == "supplement":
            submissions.request_supplement_online(
                current_core(), code, items=[request.form.get("items", "")], actor=actor,
                now=now(), lang=lang())
            flash(_("The supplement request was sent to the applicant."), "warning")
        else:
            submissions.refuse_submission(current_core(), code,
                                          reason=request.form.get("reason", ""), actor=actor,
                                          now=now(), lang=lang())
            flash(_("The refusal was sent to the applicant."), "warning")
    except InvalidInput as exc:
        flash(" ".join(exc.fields.values()) or translate(exc), "danger")
    except (Conflict, NotFound) as exc:
        flash(translate(exc), "danger")
    return redirect(url_for("reception.show", code=code))


@bp.post("/<code>/accept")
@role_required(*DESK)
def accept(code: str) -> ResponseReturnValue:
    """Receive an online submission: its appointment date counts from now."""
    return _act(code, "accept")


@bp.post("/<code>/supplement-request")
@role_required(*DESK)
def supplement_request(code: str) -> ResponseReturnValue:
    """Send an online submission back: what is missing, stated once."""
    return _act(code, "supplement")


@bp.post("/<code>/refusal")
@role_required(*DESK)
def refusal(code: str) -> ResponseReturnValue:
    """Refuse an online submission, with the reason."""
    return _act(code, "refuse")
