"""Administration of escalation policies: when each procedure's steps warn and escalate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidInput, NotFound
from engine.services import escalation_settings
from web import current_core, now
from web.auth import current_officer, role_required
from workflows.escalation import DEFAULT_LEVELS, MAX_WORKING_DAYS

bp = Blueprint("policies", __name__, url_prefix="/admin/escalation")


@bp.get("/")
@role_required("admin")
def index() -> ResponseReturnValue:
    """The procedures, and whether each follows procedure.toml or an administrator's policy."""
    return render_template("policies/index.html",
                           rows=escalation_settings.list_policies(current_core()))


def _render(code: str, values: MultiDict[str, str] | None, errors: dict[str, str],
            status: int = 200) -> ResponseReturnValue:
    try:
        setting = escalation_settings.get_policy(current_core(), code)
    except NotFound:
        abort(404)
    rows = [("default", _("Every step (default)"))] + [
        (f"step-{bpmn_id}", name) for bpmn_id, name in setting.steps] + [
        ("appointment", _("Appointment date"))]
    return render_template("policies/edit.html", setting=setting, rows=rows,
                           values=values if values is not None else _values(
                               setting.table, [bpmn_id for bpmn_id, _name in setting.steps]),
                           errors=errors, levels=DEFAULT_LEVELS), status


def _values(table: dict[str, Any], steps: list[str]) -> MultiDict[str, str]:
    """The form's fields for a policy table; steps without their own start from the default."""
    values: MultiDict[str, str] = MultiDict()

    def put(row: str, policy: dict[str, Any]) -> None:
        before = policy.get("warn_before_working_days")
        values[f"{row}-warn_mode"] = "before" if before is not None else "fraction"
        values[f"{row}-warn_value"] = (f"{before:g}" if before is not None else
                                       f"{float(policy['warn_at_fraction']) * 100:g}")
        values[f"{row}-repeat"] = f"{float(policy['repeat_after_working_days']):g}"
        values.setlist(f"{row}-levels", list(policy["levels"]))

    default = {k: v for k, v in table.items() if k not in {"steps", "appointment"}}
    put("default", default)
    own = table.get("steps", {})
    for bpmn_id in steps:
        put(f"step-{bpmn_id}", own.get(bpmn_id, default))
        if bpmn_id in own:
            values[f"step-{bpmn_id}-own"] = "1"
    put("appointment", table["appointment"])
    if table["appointment"] != default:
        values["appointment-own"] = "1"
    return values


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _half_days(value: float) -> bool:
    """What workflows/escalation.py accepts: half working days, at most a working year."""
    return 0 < value <= MAX_WORKING_DAYS and (value * 2).is_integer()


def _policy(form: MultiDict[str, str], row: str, errors: dict[str, str]) -> dict[str, Any]:
    """One row of the form as an [escalation] table, with a message per wrong field."""
    policy: dict[str, Any] = {}
    value = _number(form.get(f"{row}-warn_value", ""))
    if form.get(f"{row}-warn_mode") == "before":
        if value is None or not _half_days(value):
            errors[f"{row}-warn_value"] = _("Give the lead time in working days, in steps "
                                            "of 0.5, at most %(limit)s (for example 0.5 or 1).",
                                            limit=MAX_WORKING_DAYS)
        else:
            policy["warn_before_working_days"] = value
    elif value is None or not 0 < value < 100:
        errors[f"{row}-warn_value"] = _("Give a percentage between 1 and 99 (for example 75).")
    else:
        policy["warn_at_fraction"] = value / 100
    repeat = _number(form.get(f"{row}-repeat", ""))
    if repeat is None or not _half_days(repeat):
        errors[f"{row}-repeat"] = _("Give the delay in working days, in steps of 0.5, at most "
                                    "%(limit)s (for example 1).", limit=MAX_WORKING_DAYS)
    else:
        policy["repeat_after_working_days"] = repeat
    levels = [level for level in DEFAULT_LEVELS if level in form.getlist(f"{row}-levels")]
    if not levels:
        errors[f"{row}-levels"] = _("Choose at least one level to tell.")
    policy["levels"] = levels
    return policy


@bp.route("/<code>", methods=["GET", "POST"])
@role_required("admin")
def edit(code: str) -> ResponseReturnValue:
    """Edit a procedure's policy; saving reschedules its open dossiers' warnings at once."""
    if request.method == "GET":
        return _render(code, None, {})
    form = request.form
    actor = current_officer().username
    try:
        if form.get("action") == "reset":
            moved = escalation_settings.set_policy(current_core(), code, None, actor, now())
            flash(_("The policy of procedure.toml applies again; %(count)s open dossier(s) "
                    "rescheduled.", count=moved), "success")
            return redirect(url_for("policies.edit", code=code))
        errors: dict[str, str] = {}
        table = _policy(form, "default", errors)
        table["steps"] = {key[len("step-"):-len("-own")]: _policy(form, key[:-len("-own")],
                                                                  errors)
                          for key in form if key.startswith("step-") and key.endswith("-own")}
        if form.get("appointment-own"):
            table["appointment"] = _policy(form, "appointment", errors)
        if errors:
            flash(_("The policy was not saved: correct the fields marked in red."), "danger")
            return _render(code, form, errors, 422)
        moved = escalation_settings.set_policy(current_core(), code, table, actor, now())
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        flash(_("The policy was not saved: correct the fields marked in red."), "danger")
        return _render(code, form, {"default-levels": exc.fields.get("policy", "")}, 422)
    flash(_("Policy saved; %(count)s open dossier(s) rescheduled.", count=moved), "success")
    return redirect(url_for("policies.edit", code=code))
