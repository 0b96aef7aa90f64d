"""A user's API bearer tokens as an administrator sees them, and their revocation.

Only a token's digest is stored, so that neither the list nor the audit shows a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import N_, Conflict, NotFound, Unauthenticated
from engine.models import ApiToken, User
from engine.services.accounts import token_digest
from engine.services.user_changes import audit, require_admin, revoke_tokens, user_row


@dataclass(frozen=True)
class TokenView:
    """A token's dates and its state at `now`: active, expired or revoked."""

    token: ApiToken
    state: str


def token_state(token: ApiToken, now: datetime) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def list_tokens(core: Core, actor: str | None, user_id: int, now: datetime) -> list[TokenView]:
    """A user's tokens, newest first."""
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        user_row(session, user_id, lock=False)
        tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                 .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    return [TokenView(t, token_state(t, now)) for t in tokens]


def revoke_token(core: Core, actor: str | None, user_id: int, token_id: int,
                 now: datetime) -> None:
    """Revoke one of a user's tokens: its client must log in again."""
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        user = user_row(session, user_id)
        token = session.get(ApiToken, token_id, with_for_update=True)
        if token is None or token.user_id != user.id:
            raise NotFound(N_("This token does not exist. Reload the user's page."))
        if token.revoked_at is not None:
            raise Conflict(N_("This token was already revoked."))
        token.revoked_at = now
        audit(session, actor, "token_revoked", now, user, token_id=token.id,
              created_at=token.created_at.isoformat())
        uow.commit()


def revoke_all_tokens(core: Core, actor: str | None, user_id: int, now: datetime) -> int:
    """Revoke every live token of a user; how many there were (no event when none)."""
    with core.uow() as uow:
        session = uow.session
        require_admin(session, actor)
        user = user_row(session, user_id)
        revoked = revoke_tokens(session, user.id, now)
        if revoked:
            audit(session, actor, "tokens_revoked", now, user, token_ids=revoked)
        uow.commit()
        return len(revoked)


def log_out_token(core: Core, token: str, now: datetime) -> None:
    """Revoke the token a client holds (its own log-out)."""
    with core.uow() as uow:
        session = uow.session
        row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                              .where(ApiToken.token_hash == token_digest(token))
                              .with_for_update(of=ApiToken)).first()
        if row is None or row[0].revoked_at is not None:
            raise Unauthenticated(N_("The token has expired or was revoked: get a new one from "
                                     "POST /api/v1/auth/token."))
        api_token, user = row
        api_token.revoked_at = now
        audit(session, user.username, "token_revoked", now, user, token_id=api_token.id,
              reason="logout")
        uow.commit()
