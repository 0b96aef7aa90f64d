"""One log line per request on the "motcua.requests" logger (gunicorn's access log stays off).

The line has the method, the path without its query string (tokens and ID numbers travel
there), the status, the duration in milliseconds, the logged-in user's id and the client's
address. It never reads the database: the user id comes from the signed session cookie.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request, session

log = logging.getLogger("motcua.requests")


def _start() -> None:
    g.request_log_started = time.perf_counter()


def elapsed_seconds() -> float:
    """Seconds since this request's first before-request function ran (0 if it did not)."""
    started = g.get("request_log_started")
    return time.perf_counter() - started if started is not None else 0.0


def _user_id() -> str:
    # Flask-Login keeps "<id>:<password fingerprint>" in the session (web.auth); reading it
    # never loads the user, and only the id is logged.
    if not request.cookies:
        return "-"
    return str(session.get("_user_id") or "-").partition(":")[0]


def _log(response: Response) -> Response:
    log.info("%s %s %d %.1fms user=%s addr=%s", request.method, request.path,
             response.status_code, elapsed_seconds() * 1000, _user_id(),
             request.remote_addr or "-")
    return response


def init_app(app: Flask) -> None:
    """Log every request of `app` once it has its response."""
    # First of all before-request functions: the CSRF check and the rate limits take time too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_log)
