"""Logging in and out, and the access checks views use."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.errors import Unauthenticated
from engine.models import User
from engine.services import accounts
from web import current_core, now, translate
from web.limits import LOGIN, limiter

bp = Blueprint("auth", __name__)
# Roles that work on tasks; lanes of procedures map to these (procedure.toml).
OFFICER_ROLES = ("reception", "specialist", "head", "leader", "clerk")
login_manager = LoginManager()
F = TypeVar("F", bound=Callable[..., Any])


class Officer(UserMixin):
    """The logged-in user, as Flask-Login sees it."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the password's fingerprint.

        A new password (changed by the user or reset by an administrator) ends every session
        opened with the old one.
        """
        return f"{self.user.id}:{password_fingerprint(self.user)}"

    @property
    def roles(self) -> frozenset[str]:
        """The user's roles."""
        return self.user.role_set


def init_app(app: Flask) -> None:
    """Attach Flask-Login to the app."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "warning"


def password_fingerprint(user: User) -> str:
    """A short digest of the user's password hash (not enough to guess anything from)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(session_id: str) -> Officer | None:
    user_id, _sep, fingerprint = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = accounts.get_user(current_core(), int(user_id))
    if user is None or not hmac.compare_digest(fingerprint, password_fingerprint(user)):
        return None
    return Officer(user)


def current_officer() -> User:
    """The engine's User behind the logged-in session."""
    return cast(Officer, current_user).user


def role_required(*roles: str) -> Callable[[F], F]:
    """Let a view through only for logged-in users with one of `roles`."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not (set(roles) & current_officer().role_set):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the login form and log the user in."""
    error = None
    if request.method == "POST":
        try:
            user = accounts.authenticate(current_core(), request.form.get("username", "").strip(),
                                         request.form.get("password", ""), now())
        except Unauthenticated as exc:
            error = translate(exc)
        else:
            login_user(Officer(user))
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//")
                            else url_for("tasks.index"))
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log the user out."""
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
