"""What changing an account does: the checks, the rules about administrators, the audit events.

Shared by the use cases of engine.services.users and engine.services.user_tokens; all of
it runs inside their transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import ApiToken, Event, User
from engine.services import user_rules as rules

EDITABLE = ("full_name", "email", "roles", "department", "active")


def user_row(session: Session, user_id: int, lock: bool = True) -> User:
    """The user with this id, locked for the transaction's update; else NotFound."""
    query = select(User).where(User.id == user_id)
    user = session.scalars(query.with_for_update() if lock else query).first()
    if user is None:
        raise NotFound(N_("This user does not exist. Go back to the list of users."))
    return user


def require_admin(session: Session, actor: str | None) -> None:
    """Forbidden unless `actor` is (still, in the database) an active administrator."""
    if actor is None:  # the command line: whoever runs it runs the server
        return
    user = session.scalars(select(User).where(User.username == actor)).first()
    if user is None or not user.active or rules.ADMIN not in user.role_set:
        raise Forbidden(N_("Only an active administrator manages users."))


def audit(session: Session, actor: str | None, kind: str, now: datetime, user: User,
          **data: Any) -> None:
    """One audit event about a user account (no dossier; actor None: the command line)."""
    session.add(Event(dossier_id=None, at=now, actor=actor[:64] if actor else None, kind=kind,
                      data={"user": user.username, **data,
                            **({} if actor else {"channel": "cli"})}))


def revoke_tokens(session: Session, user_id: int, now: datetime) -> list[int]:
    """Revoke every live token of a user; the ids revoked."""
    ids = list(session.scalars(select(ApiToken.id).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))
    if ids:
        session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=now))
    return ids


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def checked_changes(changes: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The changes asked for, cleaned; InvalidInput naming each wrong field."""
    errors: dict[str, str] = {}
    wanted: dict[str, Any] = {}
    en = lang == "en"
    for key in set(changes) - set(EDITABLE):
        errors[key] = ("This field cannot be changed here." if en
                       else "Không thể sửa trường này ở đây.")
    if "full_name" in changes:
        wanted["full_name"] = _text(changes["full_name"]) or ""
        if problem := rules.full_name_error(wanted["full_name"], lang):
            errors["full_name"] = problem
    for key, check in (("email", rules.email_error), ("department", rules.department_error)):
        if key in changes:
            value = changes[key]
            wanted[key] = _text(value) or None
            if (value is not None and not isinstance(value, str)) or (
                    problem := check(wanted[key], lang)):
                errors[key] = problem or ("Text expected." if en else "Cần một chuỗi ký tự.")
    if "roles" in changes:
        roles = changes["roles"]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            errors["roles"] = ("A list of roles expected." if en
                               else "Cần một danh sách vai trò.")
        else:
            wanted["roles"] = sorted(set(roles))
            if problem := rules.roles_error(wanted["roles"], lang):
                errors["roles"] = problem
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            errors["active"] = "true or false" if en else "true hoặc false"
        wanted["active"] = changes["active"]
    if errors:
        raise InvalidInput(N_("The user was not saved: correct the fields marked."), errors)
    return wanted


def _other_active_admins(session: Session, user: User) -> int:
    return sum(1 for other in session.scalars(select(User).where(
        User.active.is_(True), User.id != user.id, User.roles.like(f"%{rules.ADMIN}%")))
        if rules.ADMIN in other.role_set)


def _check_admin_kept(session: Session, actor: str | None, user: User,
                      roles: list[str], active: bool) -> None:
    was_admin = user.active and rules.ADMIN in user.role_set
    if not was_admin or (active and rules.ADMIN in roles):
        return
    if actor == user.username:
        raise Forbidden(N_("You cannot deactivate your own account: ask another administrator.")
                        if not active else
                        N_("You cannot remove your own administrator role: ask another "
                           "administrator."))
    if _other_active_admins(session, user) == 0:
        raise Conflict(N_("This is the last active administrator: make another user an "
                          "administrator first."))


def apply_changes(session: Session, actor: str | None, user: User, wanted: dict[str, Any],
                  now: datetime) -> None:
    """Apply checked changes to a locked user, one audit event per aspect that changed."""
    old_roles = rules.role_list(user.roles)
    roles = wanted.get("roles", old_roles)
    active = wanted.get("active", user.active)
    _check_admin_kept(session, actor, user, roles, active)
    profile = {key: (getattr(user, key), wanted[key]) for key in ("full_name", "email")
               if key in wanted and getattr(user, key) != wanted[key]}
    if profile:
        for key, (_, after) in profile.items():
            setattr(user, key, after)
        audit(session, actor, "user_profile_changed", now, user,
              before={k: v[0] for k, v in profile.items()},
              after={k: v[1] for k, v in profile.items()})
    if roles != old_roles:
        user.roles = ",".join(roles)
        audit(session, actor, "user_roles_changed", now, user, before=old_roles, after=roles)
    if "department" in wanted and wanted["department"] != user.department:
        audit(session, actor, "user_department_changed", now, user, before=user.department,
              after=wanted["department"])
        user.department = wanted["department"]
    if active != user.active:
        user.active = active
        if active:
            audit(session, actor, "user_activated", now, user)
        else:
            revoked = revoke_tokens(session, user.id, now)
            audit(session, actor, "user_deactivated", now, user, tokens_revoked=len(revoked))
