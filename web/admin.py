"""Administration: the working-day calendar (extra days off, working Saturdays)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import holidays
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotFound
from engine.services import working_days
from web import current_core, lang, now, translate
from web.auth import current_officer, role_required
from workflows.calendar import FIRST_YEAR, LAST_YEAR

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/calendar")
@role_required("admin")
def calendar() -> ResponseReturnValue:
    """The overrides, and the year's public holidays for reference."""
    zone = ZoneInfo(current_core().settings.hours.timezone)
    year = request.args.get("year", type=int) or 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        year = now().astimezone(zone).year
    public = sorted(holidays.country_holidays("VN", years=[year],
                                              language="en_US" if lang() == "en" else "vi").items())
    return render_template("admin/calendar.html", overrides=working_days.list_overrides(
        current_core()), public=public, year=year, values={}, errors={})


@bp.post("/calendar")
@role_required("admin")
def add_override() -> ResponseReturnValue:
    """Add an extra day off or a working day, and move the deadlines it affects."""
    errors: dict[str, str] = {}
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        errors["day"] = _("Please choose a date.")
    kind = request.form.get("kind", "")
    if kind not in {"day_off", "working_day"}:
        errors["kind"] = _("Please choose whether the day is worked or off.")
    if errors:
        return _refused(errors)
    try:
        moved = working_days.set_override(current_core(), day, kind == "working_day",
                                          request.form.get("note", ""),
                                          current_officer().username, now())
    except InvalidInput as exc:
        return _refused({"day": translate(exc)})
    except Conflict as exc:
        flash(translate(exc), "warning")
    else:
        flash(_("Calendar changed: %(dossiers)s appointment date(s) and %(tasks)s step "
                "deadline(s) moved.", dossiers=moved.dossiers, tasks=moved.tasks), "success")
    return redirect(url_for("admin.calendar", year=day.year))


def _refused(errors: dict[str, str]) -> ResponseReturnValue:
    flash(_("The calendar was not changed: correct the fields marked in red."), "danger")
    return render_template("admin/calendar.html",
                           overrides=working_days.list_overrides(current_core()),
                           public=[], year=None, values=request.form, errors=errors), 422


@bp.post("/calendar/<day>/delete")
@role_required("admin")
def remove_override(day: str) -> ResponseReturnValue:
    """Return a day to the public calendar."""
    try:
        moved = working_days.remove_override(current_core(), date.fromisoformat(day),
                                             current_officer().username, now())
    except (ValueError, NotFound):
        flash(_("There is no override on that day."), "warning")
    else:
        flash(_("Calendar changed: %(dossiers)s appointment date(s) and %(tasks)s step "
                "deadline(s) moved.", dossiers=moved.dossiers, tasks=moved.tasks), "success")
    return redirect(url_for("admin.calendar"))
