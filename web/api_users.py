"""JSON endpoints of user administration, and a client's log-out (on web.api's blueprint)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import N_, InvalidInput
from engine.services import user_tokens, users
from engine.services.user_rules import KNOWN_ROLES, role_list
from web import current_core, lang, now
from web.api import _iso, _json_body, _user, bp, token_required
from web.openapi import operation, ref, register


def _user_json(view: users.UserView) -> dict[str, Any]:
    u = view.user
    return {"id": u.id, "username": u.username, "full_name": u.full_name, "email": u.email,
            "department": u.department, "roles": role_list(u.roles), "active": u.active,
            "failed_logins": u.failed_logins, "locked_until": _iso(view.locked_until),
            "version": view.version}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


@bp.get("/users")
@token_required("admin")
def user_list() -> ResponseReturnValue:
    """Every user; ?q= searches username, name, e-mail and department."""
    return jsonify({"users": [_user_json(v) for v in users.list_users(
        current_core(), now(), request.args.get("q", ""))]})


@bp.post("/users")
@token_required("admin")
def user_create() -> ResponseReturnValue:
    """Create a user."""
    body = _json_body()
    roles = body.get("roles")
    created = users.create_user(
        current_core(), _user().username, username=_text(body, "username").strip(),
        password=_text(body, "password"), full_name=_text(body, "full_name").strip(),
        roles=[str(r) for r in roles] if isinstance(roles, list) else [],
        department=_text(body, "department").strip(), email=_text(body, "email").strip(),
        now=now(), lang=lang())
    return jsonify(_user_json(users.get_user(current_core(), created.id, now()))), 201


@bp.get("/users/<int:user_id>")
@token_required("admin")
def user_get(user_id: int) -> ResponseReturnValue:
    """One user."""
    return jsonify(_user_json(users.get_user(current_core(), user_id, now())))


@bp.patch("/users/<int:user_id>")
@token_required("admin")
def user_patch(user_id: int) -> ResponseReturnValue:
    """Change roles, department, active, full_name or email; "version" refuses a stale edit."""
    body = _json_body()
    version = body.pop("version", None)
    if version is not None and not isinstance(version, str):
        raise InvalidInput(N_("The user was not saved: correct the fields marked."),
                           {"version": "string"})
    return jsonify(_user_json(users.update_user(current_core(), _user().username, user_id,
                                                body, now(), version=version, lang=lang())))


@bp.post("/users/<int:user_id>/unlock")
@token_required("admin")
def user_unlock(user_id: int) -> ResponseReturnValue:
    """Clear a user's failed logins and lock-out."""
    return jsonify(_user_json(users.unlock(current_core(), _user().username, user_id, now())))


@bp.post("/users/<int:user_id>/password")
@token_required("admin")
def user_password(user_id: int) -> ResponseReturnValue:
    """Set a user's password ({"password": …}); their tokens are revoked."""
    revoked = users.reset_password(current_core(), _user().username, user_id,
                                   _text(_json_body(), "password"), now(), lang())
    return jsonify({"id": user_id, "tokens_revoked": revoked})


@bp.get("/users/<int:user_id>/tokens")
@token_required("admin")
def user_tokens_list(user_id: int) -> ResponseReturnValue:
    """A user's API tokens (never the tokens themselves)."""
    return jsonify({"tokens": [
        {"id": v.token.id, "created_at": _iso(v.token.created_at),
         "expires_at": _iso(v.token.expires_at), "revoked_at": _iso(v.token.revoked_at),
         "state": v.state}
        for v in user_tokens.list_tokens(current_core(), _user().username, user_id, now())]})


@bp.delete("/users/<int:user_id>/tokens/<int:token_id>")
@token_required("admin")
def user_token_revoke(user_id: int, token_id: int) -> ResponseReturnValue:
    """Revoke one of a user's tokens."""
    user_tokens.revoke_token(current_core(), _user().username, user_id, token_id, now())
    return "", 204


@bp.delete("/auth/token")
@token_required()
def log_out() -> ResponseReturnValue:
    """Revoke the token this request carries (log out)."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    user_tokens.log_out_token(current_core(), token, now())
    return "", 204


_ID = [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_TOKEN_ID = [*_ID, {"name": "token_id", "in": "path", "required": True,
                    "schema": {"type": "integer"}}]
_ROLES = {"type": "array", "items": {"enum": list(KNOWN_ROLES)}}
_TEXT = {"type": ["string", "null"]}
_PASSWORD = {"type": "string", "minLength": 10, "maxLength": 200,
             "description": "at least 10 characters, not only digits, not the username"}
_ACCOUNT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "username": {"type": "string"},
    "full_name": {"type": "string"}, "email": _TEXT, "department": _TEXT, "roles": _ROLES,
    "active": {"type": "boolean"}, "failed_logins": {"type": "integer"},
    "locked_until": {"type": ["string", "null"], "format": "date-time",
                     "description": "set while the account is locked after failed logins"},
    "version": {"type": "string", "description": "send it back with PATCH to refuse an edit "
                                                 "made meanwhile by someone else (409)"}}}
_NO_CONTENT = {"description": "done"}
_TOKENS = {"type": "object", "properties": {"tokens": {"type": "array", "items": {
    "type": "object", "properties": {
        "id": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "state": {"enum": ["active", "expired", "revoked"]}}}}}}


def _no_content(summary: str, *errors: int) -> dict[str, Any]:
    op = operation(summary, {}, *errors, status="204")
    op["responses"]["204"] = _NO_CONTENT
    return op


register({
    "/users": {
        "get": {**operation("Every user (?q= searches)", {"type": "object", "properties": {
            "users": {"type": "array", "items": ref("Account")}}}, 401, 403),
            "parameters": [{"name": "q", "in": "query", "required": False,
                            "schema": {"type": "string"}}]},
        "post": operation("Create a user", ref("Account"), 401, 403, 422, status="201",
                          body={"type": "object",
                                "required": ["username", "password", "full_name", "roles"],
                                "properties": {"username": {"type": "string",
                                                            "pattern": "^[a-z][a-z0-9._-]{2,63}$"},
                                               "password": _PASSWORD,
                                               "full_name": {"type": "string"},
                                               "roles": _ROLES, "department": _TEXT,
                                               "email": _TEXT}})},
    "/users/{user_id}": {
        "get": {**operation("One user", ref("Account"), 401, 403, 404), "parameters": _ID},
        "patch": {**operation(
            "Change a user's roles, department, activation (deactivating revokes the tokens), "
            "name or e-mail; an administrator cannot demote or deactivate themselves, nor the "
            "last active administrator", ref("Account"), 401, 403, 404, 409, 422,
            body={"type": "object", "properties": {
                "roles": _ROLES, "department": _TEXT, "active": {"type": "boolean"},
                "full_name": {"type": "string"}, "email": _TEXT,
                "version": {"type": "string"}}}), "parameters": _ID}},
    "/users/{user_id}/unlock": {"post": {**operation(
        "Clear a user's failed logins and lock-out", ref("Account"), 401, 403, 404, 409),
        "parameters": _ID}},
    "/users/{user_id}/password": {"post": {**operation(
        "Set a user's password; their tokens are revoked",
        {"type": "object", "properties": {"id": {"type": "integer"},
                                          "tokens_revoked": {"type": "integer"}}},
        401, 403, 404, 422, body={"type": "object", "required": ["password"],
                                  "properties": {"password": _PASSWORD}}), "parameters": _ID}},
    "/users/{user_id}/tokens": {"get": {**operation(
        "A user's API tokens", _TOKENS, 401, 403, 404), "parameters": _ID}},
    "/users/{user_id}/tokens/{token_id}": {"delete": {**_no_content(
        "Revoke one of a user's tokens", 401, 403, 404, 409), "parameters": _TOKEN_ID}},
    "/auth/token": {"delete": _no_content("Revoke the token of this request (log out)", 401)},
}, {"Account": _ACCOUNT})
