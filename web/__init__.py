"""MotCua's Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel, gettext
from flask_wtf.csrf import CSRFProtect

from engine.bootstrap import Core, Settings, bootstrap
from engine.errors import ServiceError
from web import input_limits

babel = Babel()
csrf = CSRFProtect()
LANGUAGES = ("vi", "en")
LANG_COOKIE = "motcua_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def _instance_secret(instance: Path) -> str:
    # Kept in the instance folder so that sessions survive restarts and are shared by workers.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def create_app(test_config: Mapping[str, Any] | None = None, core: Core | None = None) -> Flask:
    """Build the web application; tests pass a config and, optionally, a ready core."""
    app = Flask(__name__, instance_relative_config=True)
    input_limits.init_app(app)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("MOTCUA_SECRET_KEY") or _instance_secret(instance),
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'motcua.sqlite3'}"),
        AGENCY_CODE=os.environ.get("MOTCUA_AGENCY_CODE", Settings.agency_code),
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind a TLS-terminating proxy: the session cookie only ever travels over HTTPS.
        SESSION_COOKIE_SECURE=os.environ.get("MOTCUA_SESSION_COOKIE_SECURE", "").lower()
        in {"1", "true", "yes", "on"},
        # Prometheus may scrape /metrics from elsewhere with this bearer token (web/metrics.py).
        METRICS_TOKEN=os.environ.get("MOTCUA_METRICS_TOKEN", ""),
        CLOCK=_wall_clock,
        CATALOGUE=str(Path(__file__).resolve().parent.parent / "bpmn"),
    )
    if test_config:
        app.config.from_mapping(test_config)
    instance.mkdir(parents=True, exist_ok=True)
    if core is None:
        core = bootstrap(Settings(
            database_url=app.config["DATABASE_URL"], agency_code=app.config["AGENCY_CODE"],
            upload_dir=os.environ.get("MOTCUA_UPLOAD_DIR", str(instance / "uploads")),
            public_url=os.environ.get("MOTCUA_PUBLIC_URL", Settings.public_url)))
    app.extensions["motcua"] = core

    babel.init_app(app, locale_selector=_locale)
    csrf.init_app(app)

    from web import (
        admin,
        api,
        apologies,
        auth,
        design,
        design_versions,
        headers,
        health,
        incidents,
        limits,
        metrics,
        policies,
        portal,
        reception,
        reports,
        request_log,
        supervise,
        tasks,
        users,
        views,
    )

    request_log.init_app(app)
    metrics.init_app(app)
    health.init_app(app)

    auth.init_app(app)
    limits.init_app(app)
    headers.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(reception.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(policies.bp)
    app.register_blueprint(supervise.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(apologies.bp)
    app.register_blueprint(design.bp)
    app.register_blueprint(design_versions.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(reports.api_bp)
    csrf.exempt(reports.api_bp)
    views.init_app(app)

    @app.get("/lang/<code>")
    def set_language(code: str) -> ResponseReturnValue:
        """Remember the interface language chosen by the user, across log-outs and restarts."""
        target = request.args.get("next", "")
        response = redirect(target if target.startswith("/") and not target.startswith("//")
                            else url_for("tasks.index"))
        if code in LANGUAGES:
            session["lang"] = code
            # A cookie of its own: the session cookie ends with the browser, the choice not.
            response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_SECONDS,
                                httponly=True, samesite="Lax",
                                secure=bool(app.config.get("SESSION_COOKIE_SECURE")))
        return response

    return app


def _locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE) or session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES, "vi") or "vi"
    return "vi"


def current_core() -> Core:
    """The application's core (database, engine, calendar)."""
    from flask import current_app

    core: Core = current_app.extensions["motcua"]
    return core


def now() -> datetime:
    """The current time as the application's clock tells it (tests move it)."""
    from flask import current_app

    if "now" not in g:
        clock: Callable[[], datetime] = current_app.config["CLOCK"]
        g.now = clock()
    value: datetime = g.now
    return value


def translate(error: ServiceError) -> str:
    """A service error's message in the user's language, with its parameters filled in."""
    return gettext(error.message, **{k: v for k, v in error.params.items()
                                     if isinstance(v, str | int | float)})


def lang() -> str:
    """The interface language of this request."""
    return _locale()
