"""The supervisor's dashboard: alerts by stage, procedure, role and officer; acting on them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from engine.errors import Conflict, Forbidden, NotFound
from engine.services import catalogue, supervision
from web import current_core, now, translate
from web.auth import current_officer, role_required
from web.views import ROLE_LABELS, procedure_name, step_label, version_of

bp = Blueprint("supervise", __name__, url_prefix="/supervise")
SUPERVISORS = ("supervisor", "head", "leader")


def _filters() -> supervision.Filters:
    args = request.args
    return supervision.Filters(stage=args.get("stage") or None,
                               procedure=args.get("procedure") or None,
                               role=args.get("role") or None,
                               officer=args.get("officer") if "officer" in args else None)


def _stage_labels() -> dict[str, str]:
    return {"near_due": _("Near due"), "overdue": _("Overdue"), "escalated": _("Escalated")}


def _page() -> int:
    page = request.args.get("page", "")
    return int(page) if page.isdigit() and int(page) > 0 else 1


@bp.get("/")
@role_required(*SUPERVISORS)
def index() -> ResponseReturnValue:
    """Counts of near-due, overdue and escalated deadlines, and one page of the alerts."""
    core = current_core()
    filters = _filters()
    board = supervision.dashboard(core, current_officer(), now(), filters, _page())
    page = board.page
    if not page.alerts and page.page > 1:
        # Past the last page (an old link, alerts settled meanwhile): go to the last one.
        last = max(1, -(-page.total // page.per_page))
        args: dict[str, Any] = {**request.args.to_dict(), "page": last}
        return redirect(url_for("supervise.index", **args))
    steps = {(a.task.role, a.task.department) for a in page.alerts if a.task is not None}
    # Each step's <option>s rendered once, not in every row of the page that shares its step.
    options = {step: Markup("").join(Markup('<option value="{}">{}</option>').format(
        officer.id, officer.full_name) for officer in officers)
        for step, officers in supervision.officers_for_steps(core, steps).items()}
    return render_template(
        "supervise/index.html", page=page, alerts=page.alerts,
        counts=board.counts, filters=filters,
        stages=supervision.STAGES,
        officer_options=options, stage_labels=_stage_labels(),
        workload=board.workload,
        labels={"procedure": {p.code: procedure_name(p)
                              for p in catalogue.deployed_procedures(core)},
                "role": {role: str(label) for role, label in ROLE_LABELS.items()},
                "officer": {}})


@bp.post("/escalations/<int:escalation_id>/acknowledge")
@role_required(*SUPERVISORS)
def acknowledge(escalation_id: int) -> ResponseReturnValue:
    """Acknowledge an alert with a note."""
    try:
        supervision.acknowledge(current_core(), current_officer(), escalation_id,
                                request.form.get("note", ""), now())
        flash(_("Alert acknowledged."), "success")
    except (NotFound, Conflict, Forbidden) as exc:
        flash(translate(exc), "warning")
    return redirect(request.referrer or url_for("supervise.index"))


@bp.post("/tasks/<task_id>/reassign")
@role_required(*SUPERVISORS)
def reassign(task_id: str) -> ResponseReturnValue:
    """Give a waiting task to another officer with its role."""
    try:
        task = supervision.reassign(current_core(), current_officer(), task_id,
                                    request.form.get("officer", type=int) or 0, now())
        flash(_("Step “%(step)s” reassigned.", step=step_label(
            version_of(task.dossier_id), task.bpmn_id, task.name)), "success")
    except (Conflict, Forbidden) as exc:
        flash(translate(exc), "warning")
    return redirect(request.referrer or url_for("supervise.index"))
