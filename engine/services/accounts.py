"""Accounts: users, password checks and API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.bootstrap import Core
from engine.errors import N_, Unauthenticated
from engine.models import ApiToken, Event, User


def create_user(core: Core, *, username: str, password: str, full_name: str,
                roles: list[str], department: str | None = None, email: str | None = None
                ) -> User:
    """Create a user with a hashed password."""
    with core.uow() as uow:
        user = User(username=username, password_hash=generate_password_hash(password),
                    full_name=full_name, roles=",".join(sorted(roles)), department=department,
                    email=email, active=True)
        uow.session.add(user)
        uow.commit()
        return user


# After this many failed logins in a row an account waits; every attempt is in the audit log.
MAX_FAILED_LOGINS = 5
LOCK_TIME = timedelta(minutes=15)
# Checked against when the username is unknown, so that both cases take as long.
_DUMMY_HASH = generate_password_hash("not a password")


def authenticate(core: Core, username: str, password: str, now: datetime,
                 channel: str = "web") -> User:
    """The active user with this username and password, else Unauthenticated.

    Usernames are lower-case (users.create_user's rule): "NguyenVanA " typed on a phone
    finds nguyenvana. Repeated failures lock the account for a while; each attempt is logged
    as an event.
    """
    typed = username.strip().lower()
    with core.uow() as uow:
        session = uow.session
        found = {u.username: u for u in session.scalars(
            select(User).where(User.username.in_({username, typed})))}
        user = found.get(username) or found.get(typed)
        username = user.username if user is not None else username
        if user is not None and user.locked_until is not None and user.locked_until > now:
            _log(session, "login_refused_locked", username, now, channel)
            uow.commit()
            raise Unauthenticated(N_("This account is locked after too many failed logins. "
                                     "Try again after %(time)s, or ask an administrator."),
                                  time=user.locked_until.astimezone(core.calendar_zone())
                                  .strftime("%H:%M %d/%m/%Y"))
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not user.active or not valid:
            if user is not None:
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILED_LOGINS:
                    user.locked_until, user.failed_logins = now + LOCK_TIME, 0
                    _log(session, "account_locked", username, now, channel)
            _log(session, "login_failed", username, now, channel)
            uow.commit()
            raise Unauthenticated(N_("Wrong username or password. Check them and try again."))
        user.failed_logins, user.locked_until = 0, None
        _log(session, "login", username, now, channel)
        uow.commit()
        session.expunge(user)
    return user


def _log(session: Session, kind: str, username: str, now: datetime, channel: str) -> None:
    session.add(Event(dossier_id=None, at=now, actor=username[:64], kind=kind,
                      data={"channel": channel}))


def get_user(core: Core, user_id: int) -> User | None:
    """The active user with this id, if any."""
    with core.reads() as uow:
        user = uow.session.get(User, user_id)
    return user if user is not None and user.active else None


def token_digest(token: str) -> str:
    """What is stored of a bearer token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(core: Core, user: User, now: datetime) -> str:
    """A new bearer token for `user`; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    with core.uow() as uow:
        uow.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), created_at=now,
                                 expires_at=now + timedelta(days=core.settings.token_days)))
        uow.commit()
    return token


# The user columns a request needs, read with the token in one Core statement: this runs
# before every API request, where building ORM objects from a session cost more than the query.
_TOKENS = cast(Table, ApiToken.__table__)
_USERS = cast(Table, User.__table__)
_TOKEN_USER = (
    select(_TOKENS.c.revoked_at, _TOKENS.c.expires_at,
           *(_USERS.c[name] for name in ("id", "username", "full_name", "email", "department",
                                         "roles", "active")))
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


def user_for_token(core: Core, token: str, now: datetime) -> User:
    """The user a valid, unexpired, unrevoked token belongs to, else Unauthenticated."""
    with core.reader.connect() as conn:
        row = conn.execute(_TOKEN_USER, {"token_hash": token_digest(token)}).first()
    if row is None:
        raise Unauthenticated(N_("Unknown token: get a new one from POST /api/v1/auth/token."))
    if row.revoked_at is not None or row.expires_at <= now or not row.active:
        raise Unauthenticated(N_("The token has expired or was revoked: get a new one from "
                                 "POST /api/v1/auth/token."))
    # Detached, like the user a session used to return: the password hash is never read here.
    return User(id=row.id, username=row.username, full_name=row.full_name, email=row.email,
                department=row.department, roles=row.roles, active=row.active)
