"""Accounts: users, password checks and API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from engine.bootstrap import Core
from engine.errors import N_, Unauthenticated
from engine.models import ApiToken, User


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


def authenticate(core: Core, username: str, password: str) -> User:
    """The active user with this username and password, else Unauthenticated."""
    with core.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        raise Unauthenticated(N_("Wrong username or password. Check them and try again."))
    return user


def get_user(core: Core, user_id: int) -> User | None:
    """The active user with this id, if any."""
    with core.uow() as uow:
        user = uow.session.get(User, user_id)
    return user if user is not None and user.active else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(core: Core, user: User, now: datetime) -> str:
    """A new bearer token for `user`; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    with core.uow() as uow:
        uow.session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                                 expires_at=now + timedelta(days=core.settings.token_days)))
        uow.commit()
    return token


def user_for_token(core: Core, token: str, now: datetime) -> User:
    """The user a valid, unexpired, unrevoked token belongs to, else Unauthenticated."""
    with core.uow() as uow:
        row = uow.session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _digest(token))
        ).first()
    if row is None:
        raise Unauthenticated(N_("Unknown token: get a new one from POST /api/v1/auth/token."))
    api_token, user = row
    if api_token.revoked_at is not None or api_token.expires_at <= now or not user.active:
        raise Unauthenticated(N_("The token has expired or was revoked: get a new one from "
                                 "POST /api/v1/auth/token."))
    return user
