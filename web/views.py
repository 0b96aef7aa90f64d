"""Template helpers and error pages shared by every blueprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, lazy_gettext
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from web import lang, now
from web.auth import OFFICER_ROLES
from workflows.forms import label
from workflows.intake import CHANNEL_TITLES, Channel
from workflows.statuses import DossierStatus

STATUS_LABELS = {
    DossierStatus.SUBMITTED_ONLINE: lazy_gettext("Submitted online"),
    DossierStatus.RECEIVED: lazy_gettext("Received"),
    DossierStatus.REFUSED: lazy_gettext("Refused"),
    DossierStatus.PROCESSING: lazy_gettext("Processing"),
    DossierStatus.SUPPLEMENT_REQUESTED: lazy_gettext("Supplement requested"),
    DossierStatus.AWAITING_FEES: lazy_gettext("Awaiting fees"),
    DossierStatus.WITHDRAWAL_REQUESTED: lazy_gettext("Withdrawal requested"),
    DossierStatus.STOPPED: lazy_gettext("Stopped"),
    DossierStatus.RESOLVED: lazy_gettext("Resolved"),
    DossierStatus.RESULT_RETURNED: lazy_gettext("Result returned"),
}
OUTCOME_LABELS = {
    "early": lazy_gettext("Early"),
    "on_time": lazy_gettext("On time"),
    "late": lazy_gettext("Late"),
    "within_deadline": lazy_gettext("Within deadline"),
    "overdue": lazy_gettext("Overdue"),
}
PAUSE_LABELS = {
    "supplement": lazy_gettext("Waiting for a supplement"),
    "fees": lazy_gettext("Waiting for fees"),
}
EVENT_LABELS = {
    "received": lazy_gettext("Dossier received"),
    "claimed": lazy_gettext("Task claimed"),
    "unclaimed": lazy_gettext("Task given back"),
    "completed": lazy_gettext("Task completed"),
    "escalated": lazy_gettext("Deadline passed: escalated"),
    "warned": lazy_gettext("Deadline near: warned"),
    "acknowledged": lazy_gettext("Alert acknowledged by a supervisor"),
    "reassigned": lazy_gettext("Step reassigned by a supervisor"),
    "status_changed": lazy_gettext("Status changed"),
    "paused": lazy_gettext("Clock stopped"),
    "resumed": lazy_gettext("Clock restarted; appointment date moved"),
    "timer_fired": lazy_gettext("Timer fired"),
    "calendar_changed": lazy_gettext("Calendar changed"),
    "apology_drafted": lazy_gettext("Apology letter drafted"),
    "apology_approved": lazy_gettext("Apology letter approved: new date given"),
    "apology_rejected": lazy_gettext("Apology letter sent back"),
}
ROLE_LABELS = {
    "reception": lazy_gettext("Reception"),
    "specialist": lazy_gettext("Specialist"),
    "head": lazy_gettext("Department head"),
    "leader": lazy_gettext("Leader"),
    "clerk": lazy_gettext("Clerk"),
    "supervisor": lazy_gettext("Supervisor"),
    "designer": lazy_gettext("Process designer"),
    "admin": lazy_gettext("Administrator"),
}


def localtime(value: datetime | None) -> str:
    """A timestamp as dd/mm/yyyy HH:MM in the agency's time zone."""
    return format_datetime(value, "dd/MM/yyyy HH:mm") if value else ""


def urgency(due_at: datetime | None) -> str:
    """A Bootstrap colour for a deadline: overdue, due within a day, or fine."""
    if due_at is None:
        return ""
    remaining = (due_at - now()).total_seconds()
    if remaining < 0:
        return "danger"
    return "warning" if remaining < 24 * 3600 else ""


def procedure_name(procedure: Any) -> str:
    """A procedure's name in the user's language."""
    return str(procedure.name_en if lang() == "en" and procedure.name_en else procedure.name)


def _unread() -> int:
    if not current_user.is_authenticated:
        return 0
    from engine.services.notifications import unread_count
    from web import current_core

    return unread_count(current_core(), current_user.user)


def has_role(*roles: str) -> bool:
    """Whether the logged-in user has one of `roles`."""
    return bool(current_user.is_authenticated and set(roles) & current_user.roles)


def _template_globals() -> dict[str, Any]:
    return {
        "has_role": has_role,
        "is_officer": lambda: has_role(*OFFICER_ROLES),
        "unread_notifications": _unread,
        "status_label": lambda code: STATUS_LABELS.get(DossierStatus(code), str(code)),
        "outcome_label": lambda code: OUTCOME_LABELS.get(code or "", ""),
        "pause_label": lambda code: PAUSE_LABELS.get(code, code),
        "event_label": lambda kind: EVENT_LABELS.get(kind, kind),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
        "channel_label": lambda code: CHANNEL_TITLES[Channel(code)][1 if lang() == "en" else 0],
        "procedure_name": procedure_name,
        "schema_label": lambda node: label(node, lang()),
        "urgency": urgency,
        "now": now,
        "lang": lang,
    }


def _error_page(error: HTTPException) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        from web.api import error_body

        return error_body(error.code or 500, error.name.lower().replace(" ", "_"),
                          error.description or error.name)
    return render_template("error.html", error=error), error.code or 500


def init_app(app: Flask) -> None:
    """Register the template helpers and error pages."""
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["isotime"] = datetime.fromisoformat
    app.context_processor(_template_globals)
    for code in (400, 401, 403, 404, 405, 409, 413, 500):
        app.register_error_handler(code, _error_page)
