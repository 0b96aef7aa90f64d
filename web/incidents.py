"""Incidents: dossiers whose process stopped on a script or condition error, and the retry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine.errors import Conflict, NotFound
from engine.services import incidents
from web import current_core, now, translate
from web.auth import current_officer, role_required
from web.views import EVENT_LABELS

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
EVENT_LABELS.setdefault("incident", lazy_gettext("The procedure stopped on an error"))
EVENT_LABELS.setdefault("incident_resolved",
                        lazy_gettext("Procedure retried after an error: running again"))


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    """`incident_of(code)` for the dossier page's banner."""
    return {"incident_of": lambda code: incidents.incident_of(current_core(), code)}


@bp.get("/")
@role_required(*incidents.RETRY_ROLES)
def index() -> ResponseReturnValue:
    """The dossiers whose process is stopped on an error, the oldest first."""
    return render_template("incidents/index.html",
                           rows=incidents.list_incidents(current_core()))


@bp.post("/<code>/retry")
@role_required(*incidents.RETRY_ROLES)
def retry(code: str) -> ResponseReturnValue:
    """Run the failed step of a dossier again."""
    try:
        outcome = incidents.retry_incident(current_core(), current_officer(), code, now())
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(translate(exc), "warning")
        return redirect(url_for("incidents.index"))
    if outcome.cleared:
        flash(_("Dossier %(code)s: the procedure runs again.", code=code), "success")
    else:
        flash(_("Dossier %(code)s: the step failed again: %(error)s", code=code,
                error=outcome.error), "danger")
        if outcome.newer_version:
            flash(_("Dossier %(code)s still runs on its old version, which a retry runs "
                    "again: move it to version %(number)s (Move running dossiers), then retry.",
                    code=code, number=outcome.newer_version), "warning")
    return redirect(url_for("incidents.index"))
