"""User administration (/admin/users) and every user's own password (/account/password)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import InvalidInput, NotFound, ServiceError
from engine.services import user_tokens, users
from engine.services.user_rules import KNOWN_ROLES
from web import current_core, lang, now, translate
from web.auth import current_officer, role_required
from web.limits import LOGIN, limiter

bp = Blueprint("users", __name__)


def _actor() -> str:
    return current_officer().username


def _departments() -> list[str]:
    return sorted({v.user.department for v in users.list_users(current_core(), now())
                   if v.user.department})


@bp.get("/admin/users")
@role_required("admin")
def index() -> ResponseReturnValue:
    """Every user, with a search by username, name, e-mail or department."""
    search = request.args.get("q", "").strip()
    return render_template("admin/users.html", search=search,
                           rows=users.list_users(current_core(), now(), search))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required("admin")
def create() -> ResponseReturnValue:
    """The new-user form, and creating the user."""
    values: Any = request.form
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = users.create_user(
                current_core(), _actor(), username=values.get("username", "").strip(),
                password=values.get("password", ""),
                full_name=values.get("full_name", "").strip(), roles=values.getlist("roles"),
                department=values.get("department", "").strip(),
                email=values.get("email", "").strip(), now=now(), lang=lang())
        except InvalidInput as exc:
            errors = exc.fields
            flash(translate(exc), "danger")
        else:
            flash(_("User %(username)s created.", username=user.username), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return render_template("admin/users_new.html", values=values, errors=errors,
                           roles=KNOWN_ROLES, departments=_departments()
                           ), 422 if errors else 200


def _edit_page(user_id: int, values: Any = None, errors: dict[str, str] | None = None,
               status: int = 200) -> ResponseReturnValue:
    try:
        view = users.get_user(current_core(), user_id, now())
    except NotFound:
        abort(404)
    tokens = user_tokens.list_tokens(current_core(), _actor(), user_id, now())
    user = view.user
    if values is None:
        values = {"full_name": user.full_name, "email": user.email or "",
                  "department": user.department or "", "roles": sorted(user.role_set)}
    else:
        values = {**values.to_dict(), "roles": values.getlist("roles")}
    return render_template("admin/users_edit.html", view=view, tokens=tokens, values=values,
                           errors=errors or {}, roles=KNOWN_ROLES,
                           departments=_departments(), myself=user.username == _actor()
                           ), status


@bp.get("/admin/users/<int:user_id>")
@role_required("admin")
def edit(user_id: int) -> ResponseReturnValue:
    """A user's profile, roles, department, state, password and tokens."""
    return _edit_page(user_id)


def _done(user_id: int, call: Callable[[], object], success: str) -> ResponseReturnValue:
    """Run a service call; flash its outcome and go back to the user's page."""
    try:
        call()
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(translate(exc), "warning")
    else:
        flash(success, "success")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>")
@role_required("admin")
def update(user_id: int) -> ResponseReturnValue:
    """Save the profile, roles and department (a stale form is refused, not applied)."""
    form = request.form
    changes = {"full_name": form.get("full_name", ""), "email": form.get("email", ""),
               "department": form.get("department", ""), "roles": form.getlist("roles")}
    try:
        users.update_user(current_core(), _actor(), user_id, changes, now(),
                          version=form.get("version") or None, lang=lang())
    except InvalidInput as exc:
        flash(translate(exc), "danger")
        return _edit_page(user_id, form, exc.fields, 422)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(translate(exc), "warning")
    else:
        flash(_("The user's details were saved."), "success")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/active")
@role_required("admin")
def set_active(user_id: int) -> ResponseReturnValue:
    """Deactivate (and revoke the tokens of) or reactivate a user."""
    active = request.form.get("active") == "1"
    return _done(user_id, lambda: users.update_user(
        current_core(), _actor(), user_id, {"active": active}, now(), lang=lang()),
        _("The account is active again.") if active else
        _("The account is deactivated: the user can no longer log in."))


@bp.post("/admin/users/<int:user_id>/unlock")
@role_required("admin")
def unlock(user_id: int) -> ResponseReturnValue:
    """Clear the failed logins and the lock-out."""
    return _done(user_id, lambda: users.unlock(current_core(), _actor(), user_id, now()),
                 _("The account is unlocked: the user can log in now."))


@bp.post("/admin/users/<int:user_id>/password")
@role_required("admin")
def reset_password(user_id: int) -> ResponseReturnValue:
    """Set a new password for the user (their API tokens are revoked)."""
    try:
        users.reset_password(current_core(), _actor(), user_id,
                             request.form.get("password", ""), now(), lang())
    except InvalidInput as exc:
        flash(translate(exc), "danger")
        return _edit_page(user_id, None, exc.fields, 422)
    except NotFound:
        abort(404)
    flash(_("The password was changed; give it to the user in person."), "success")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke")
@role_required("admin")
def revoke_token(user_id: int, token_id: int) -> ResponseReturnValue:
    """Revoke one API token of the user."""
    return _done(user_id, lambda: user_tokens.revoke_token(
        current_core(), _actor(), user_id, token_id, now()), _("The token was revoked."))


@bp.post("/admin/users/<int:user_id>/tokens/revoke")
@role_required("admin")
def revoke_all(user_id: int) -> ResponseReturnValue:
    """Revoke every API token of the user."""
    return _done(user_id, lambda: user_tokens.revoke_all_tokens(
        current_core(), _actor(), user_id, now()), _("Every token of the user was revoked."))


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(LOGIN, methods=["POST"])  # the current password must not be guessable here
@role_required()
def own_password() -> ResponseReturnValue:
    """Change one's own password, giving the current one."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        if form.get("password", "") != form.get("confirm", ""):
            errors["confirm"] = _("The two new passwords differ: type the same one twice.")
        else:
            try:
                users.change_own_password(current_core(), current_officer().id,
                                          form.get("old_password", ""),
                                          form.get("password", ""), now(), lang())
            except InvalidInput as exc:
                errors = exc.fields
            else:
                flash(_("Your password was changed."), "success")
                return redirect(url_for("users.own_password"))
        flash(_("The password was not changed: correct the fields marked."), "danger")
    return render_template("account/password.html", errors=errors), 422 if errors else 200
