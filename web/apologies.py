"""Apology letters: drafted at the desk or by a head, approved by the leader, printed."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import apologies
from web import current_core, lang, now, translate
from web.auth import OFFICER_ROLES, current_officer, role_required
from web.reception import check_scope

bp = Blueprint("apologies", __name__, url_prefix="/apologies")


def _local_date(value: str) -> datetime | None:
    """A date from the form, as the end of that day's morning in the agency's zone.

    A promised date is a deadline, due (as in DOMAIN.md) within a half-day: its morning. The
    opening minute would be the same working instant as the previous working day's close.
    """
    from zoneinfo import ZoneInfo

    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    hours = current_core().settings.hours
    return datetime.combine(day.date(), hours.morning_end, ZoneInfo(hours.timezone))


@bp.route("/new/<code>", methods=["GET", "POST"])
@role_required(*apologies.DRAFTERS)
def new(code: str) -> ResponseReturnValue:
    """Draft an apology letter, starting from the system's proposal."""
    check_scope(code)
    try:
        proposal = apologies.propose(current_core(), code, now())
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(translate(exc), "warning")
        return redirect(url_for("reception.show", code=code))
    values = {"reason": "", "new_date": proposal.new_appointment_at.astimezone(
        current_core().calendar_zone()).date().isoformat()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"reason": request.form.get("reason", ""),
                  "new_date": request.form.get("new_date", "")}
        try:
            apologies.draft(current_core(), current_officer(), code, values["reason"],
                            _local_date(values["new_date"]), now(), lang())
        except InvalidInput as exc:
            errors = exc.fields
        except (Conflict, Forbidden) as exc:
            flash(translate(exc), "warning")
            return redirect(url_for("reception.show", code=code))
        else:
            flash(_("The apology letter was sent to the leader for approval."), "success")
            return redirect(url_for("reception.show", code=code))
    return render_template("apologies/new.html", proposal=proposal, values=values,
                           errors=errors), 422 if errors else 200


@bp.get("/")
@role_required("leader", "head", "reception", "supervisor")
def index() -> ResponseReturnValue:
    """Letters waiting for the leader, then the decided ones."""
    return render_template("apologies/index.html",
                           waiting=apologies.letters(current_core(), state="draft"),
                           decided=[r for r in apologies.letters(current_core())
                                    if r.apology.state != "draft"][:50])


@bp.post("/<int:apology_id>/decide")
@role_required(*apologies.APPROVERS)
def decide(apology_id: int) -> ResponseReturnValue:
    """Approve or send back a letter."""
    approve = request.form.get("decision") == "approve"
    try:
        apologies.decide(current_core(), current_officer(), apology_id, approve,
                         request.form.get("note", ""), now())
    except (NotFound, Conflict, Forbidden) as exc:
        flash(translate(exc), "warning")
    else:
        flash(_("Letter approved: the applicant is told the new date.") if approve
              else _("Letter sent back."), "success")
    return redirect(url_for("apologies.index"))


@bp.get("/<int:apology_id>/letter")
@role_required(*OFFICER_ROLES, "supervisor")  # whoever sees the dossier page and its link
def letter(apology_id: int) -> ResponseReturnValue:
    """The printable letter (approved ones only)."""
    rows = [r for r in apologies.letters(current_core()) if r.apology.id == apology_id]
    if not rows or rows[0].apology.state != "approved":
        abort(404)
    check_scope(rows[0].dossier.code)
    return render_template("apologies/letter.html", row=rows[0],
                           agency=current_core().settings.agency_name)
