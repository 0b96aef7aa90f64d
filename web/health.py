"""The database's health: /healthz for load balancers, and a 503 page when the database is away.

A request that meets an unreachable database answers 503 with Retry-After, in the user's
language (a page, or JSON under /api/); its unit of work never committed, so nothing is
half-written. The engine pings pooled connections that rested and drops its pool when one
fails (engine/db.py), so the same worker serves normally again as soon as the database is
back.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from engine.errors import CHANGED_MEANWHILE
from web import current_core, lang

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# A health check answers within a load balancer's patience, even if the database hangs.
STATEMENT_TIMEOUT_MS = 2000
OUTAGES = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def is_transaction_conflict(error: BaseException) -> bool:
    """Whether PostgreSQL rolled the transaction back for colliding with another one (a
    deadlock or a serialization failure, SQLSTATE class 40): done again, it would succeed."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, sa_exc.DBAPIError) and str(sqlstate or "").startswith("40")


def is_outage(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached (not a bug in a query)."""
    if not isinstance(error, OUTAGES) or is_transaction_conflict(error):
        return False
    # SQLite reports a missing table as an OperationalError too: that is a bug, not an outage.
    return "no such " not in str(getattr(error, "orig", error))


def check_database() -> str | None:
    """None when the database answers SELECT 1, else the class name of the error."""
    try:
        with current_core().db.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            conn.execute(text("SELECT 1"))
            # COMMIT ends it as ROLLBACK would (SET LOCAL included), but keeps the
            # connection's prepared statements, which psycopg forgets at each ROLLBACK.
            conn.commit()
    except Exception as error:  # noqa: BLE001 - whatever failed, the database is unavailable
        return type(getattr(error, "orig", None) or error).__name__
    return None


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 with the error's class when it does not."""
    failure = check_database()
    if failure is None:
        return jsonify(status="ok", database="ok")
    return jsonify(status="unavailable", database=failure), 503, {
        "Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def unavailable_message() -> str:
    """What the user reads while the database is away, in their language."""
    return gettext("The system cannot reach its database for the moment. "
                   "Please try again in a few minutes.")


def _transaction_conflict(error: Exception) -> ResponseReturnValue:
    """A 409 the user can act on: nothing was written, doing it again works."""
    log.warning("transaction conflict on %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", None) or error).__name__)
    message = gettext(CHANGED_MEANWHILE)
    if request.path.startswith("/api/"):
        from web.api import error_body

        return error_body(409, "conflict", message)
    flash(message, "warning")
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("tasks.index"))


def _database_unavailable(error: Exception) -> ResponseReturnValue:
    if is_transaction_conflict(error):
        return _transaction_conflict(error)
    if not is_outage(error):
        raise error
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", None) or error).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        from web.api import error_body

        response = make_response(error_body(503, "database_unavailable",
                                            unavailable_message()))
    else:
        # A page of its own, rendered without the context processors: Flask-Login's would ask
        # the database who is logged in.
        page = current_app.jinja_env.get_template("errors/503.html")
        response = make_response(page.render(message=unavailable_message(), lang=lang), 503)
    response.headers.update(headers)
    return response


def init_app(app: Flask) -> None:
    """Serve /healthz (no login, no CSRF, no rate limit) and the 503 of a database outage."""
    from web.limits import limiter

    limiter.exempt(bp)
    app.register_blueprint(bp)
    for kind in OUTAGES:
        app.register_error_handler(kind, _database_unavailable)
