"""The supervisor's view of escalations."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from engine.services import escalations
from web import current_core
from web.auth import role_required

bp = Blueprint("supervise", __name__, url_prefix="/supervise")


@bp.get("/")
@role_required("supervisor", "head", "leader")
def index() -> ResponseReturnValue:
    """Steps past their deadline, newest first."""
    show_all = request.args.get("all") == "1"
    rows = escalations.list_escalations(current_core(), open_only=not show_all)
    return render_template("supervise/index.html", rows=rows, show_all=show_all)
