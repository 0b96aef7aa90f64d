"""User administration: accounts, roles, departments, activation, lock-outs and passwords.

Every change is made by an active administrator (or, with actor None, by an operator at the
command line), locks the rows it reads and writes one audit event (dossier_id None, the
administrator as actor, before and after in its data, never a password or a token) in the
same transaction. Forms carry the `version` they showed: a change made meanwhile by someone
else is a Conflict, never a silent overwrite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput
from engine.models import User
from engine.search import fold
from engine.services import user_rules as rules
from engine.services.user_changes import (
    apply_changes,
    audit,
    checked_changes,
    require_admin,
    revoke_tokens,
    user_row,
)

NOT_SAVED = N_("The user was not saved: correct the fields marked.")
CHANGED_MEANWHILE = N_("Someone else changed this user meanwhile. Reload the page and try again.")


@dataclass(frozen=True)
class UserView:
    """A user as the administrator sees it: lock state at `now` and the version to edit."""

    user: User
    locked_until: datetime | None
    version: str


def version_of(user: User) -> str:
    """A stamp of the editable fields: a form sends it back to detect changes meanwhile."""
    text = "\x1f".join([user.full_name, user.email or "", ",".join(rules.role_list(user.roles)),
                        user.department or "", str(user.active)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _view(user: User, now: datetime) -> UserView:
    locked = user.locked_until if user.locked_until and user.locked_until > now else None
    return UserView(user, locked, version_of(user))


def list_users(core: Core, now: datetime, search: str = "") -> list[UserView]:
    """Every user, by username; `search` matches username, name, e-mail or department."""
    needle = fold(search)
    with core.uow() as uow:
        users = uow.session.scalars(select(User).order_by(User.username)).all()
    return [_view(u, now) for u in users if not needle or needle in fold(
        " ".join([u.username, u.full_name, u.email or "", u.department or ""]))]


def get_user(core: Core, user_id: int, now: datetime) -> UserView:
    """One user, else NotFound."""
    with core.uow() as uow:
        return _view(user_row(uow.session, user_id, lock=False), now)


def create_user(core: Core, actor: str | None, *, username: str, password: str,
                full_name: str, roles: list[str], now: datetime, department: str | None = None,
                email: str | None = None, lang: str = "vi") -> User:
    """Create an active user; the password is hashed (werkzeug's default, scrypt)."""
    department, email = department or None, email or None
    errors = {field: message for field, message in {
        "username": rules.username_error(username, lang),
        "password": rules.password_error(password, username, lang),
        "full_name": rules.full_name_error(full_name, lang),
        "roles": rules.roles_error(roles, lang),
        "email": rules.email_error(email, lang),
        "department": rules.department_error(department, lang)}.items() if message}
    taken = {"username": "Tên đăng nhập này đã có người dùng." if lang != "en"
             else "This username is taken."}
    if errors:
        raise InvalidInput(NOT_SAVED, errors)
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise InvalidInput(NOT_SAVED, taken)
        user = User(username=username, password_hash=generate_password_hash(password),
                    full_name=full_name, roles=",".join(sorted(set(roles))),
                    department=department, email=email, active=True, failed_logins=0)
        session.add(user)
        try:
            session.flush()
        except IntegrityError as exc:  # created by someone else since the check
            raise InvalidInput(NOT_SAVED, taken) from exc
        audit(session, actor, "user_created", now, user, after={
            "full_name": full_name, "email": email, "roles": rules.role_list(user.roles),
            "department": department, "active": True})
        uow.commit()
        return user


def update_user(core: Core, actor: str | None, user_id: int, changes: Mapping[str, Any],
                now: datetime, *, version: str | None = None, lang: str = "vi") -> UserView:
    """Change a user's profile, roles, department or activation: one event per aspect changed.

    Deactivating revokes the user's tokens. An administrator cannot remove their own admin
    role nor deactivate themselves, and the last active administrator stays one.
    """
    wanted = checked_changes(changes, lang)
    with core.uow() as uow:
        session = uow.session
        if "roles" in wanted or "active" in wanted:
            # Every active administrator, in id order: two administrators demoting each other
            # at the same time wait for one another instead of both succeeding.
            session.scalars(select(User.id).where(User.active.is_(True),
                                                  User.roles.like(f"%{rules.ADMIN}%"))
                            .order_by(User.id).with_for_update()).all()
        require_admin(session, actor)
        user = user_row(session, user_id)
        if version is not None and version != version_of(user):
            raise Conflict(CHANGED_MEANWHILE)
        apply_changes(session, actor, user, wanted, now)
        uow.commit()
        return _view(user, now)


def unlock(core: Core, actor: str | None, user_id: int, now: datetime) -> UserView:
    """Clear a user's failed logins and lock-out so that they can log in at once."""
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        user = user_row(session, user_id)
        if user.failed_logins == 0 and (user.locked_until is None or user.locked_until <= now):
            raise Conflict(N_("This account is not locked: the user can log in."))
        before = {"failed_logins": user.failed_logins,
                  "locked_until": user.locked_until.isoformat() if user.locked_until else None}
        user.failed_logins, user.locked_until = 0, None
        audit(session, actor, "user_unlocked", now, user, before=before,
              after={"failed_logins": 0, "locked_until": None})
        uow.commit()
        return _view(user, now)


def reset_password(core: Core, actor: str | None, user_id: int, password: str, now: datetime,
                   lang: str = "vi") -> int:
    """Set a new password chosen by an administrator; the user's tokens are revoked (count)."""
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        user = user_row(session, user_id)
        problem = rules.password_error(password, user.username, lang)
        if problem:
            raise InvalidInput(N_("The password was not changed: correct the fields marked."),
                               {"password": problem})
        user.password_hash = generate_password_hash(password)
        revoked = revoke_tokens(session, user.id, now)
        audit(session, actor, "user_password_reset", now, user, tokens_revoked=len(revoked))
        uow.commit()
        return len(revoked)


def change_own_password(core: Core, user_id: int, old: str, new: str, now: datetime,
                        lang: str = "vi") -> int:
    """A user changes their password, giving the current one; their tokens are revoked."""
    with core.uow() as uow:
        session = uow.session
        user = user_row(session, user_id)
        errors: dict[str, str] = {}
        if not check_password_hash(user.password_hash, old):
            errors["old_password"] = ("The current password is wrong." if lang == "en"
                                      else "Mật khẩu hiện tại không đúng.")
        elif old == new:
            errors["password"] = ("Choose a password different from the current one."
                                  if lang == "en" else "Hãy chọn mật khẩu khác mật khẩu cũ.")
        elif problem := rules.password_error(new, user.username, lang):
            errors["password"] = problem
        if errors:
            raise InvalidInput(N_("The password was not changed: correct the fields marked."),
                               errors)
        user.password_hash = generate_password_hash(new)
        revoked = revoke_tokens(session, user.id, now)
        audit(session, user.username, "password_changed", now, user,
              tokens_revoked=len(revoked))
        uow.commit()
        return len(revoked)
