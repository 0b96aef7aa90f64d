"""Logins: five failures in a row lock the account for a while; every attempt is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import Unauthenticated
from engine.models import Event
from engine.services import accounts
from tests.conftest import MONDAY_9AM


def _audit(core: Core) -> list[tuple[str | None, str]]:
    with core.uow() as uow:
        return [(e.actor, e.kind) for e in uow.session.scalars(
            select(Event).where(Event.dossier_id.is_(None),
                                Event.kind.like("%login%") | (Event.kind == "account_locked"))
            .order_by(Event.id))]


def test_five_failures_lock_the_account_and_the_right_password_waits(core: Core) -> None:
    for minute in range(5):
        with pytest.raises(Unauthenticated, match="Wrong username or password"):
            accounts.authenticate(core, "head", "wrong", MONDAY_9AM + timedelta(minutes=minute))
    with pytest.raises(Unauthenticated, match="locked") as locked:
        accounts.authenticate(core, "head", "pw", MONDAY_9AM + timedelta(minutes=6))
    assert locked.value.params["time"] == "09:19 23/11/2026"  # 15 minutes after the 5th
    user = accounts.authenticate(core, "head", "pw", MONDAY_9AM + timedelta(minutes=20))
    assert (user.username, user.failed_logins, user.locked_until) == ("head", 0, None)
    assert [kind for _, kind in _audit(core)] == [
        "login_failed"] * 4 + ["account_locked", "login_failed", "login_refused_locked", "login"]


def test_a_success_resets_the_count_and_unknown_users_are_audited_too(core: Core) -> None:
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            accounts.authenticate(core, "head", "wrong", MONDAY_9AM)
    accounts.authenticate(core, "head", "pw", MONDAY_9AM)
    with pytest.raises(Unauthenticated):
        accounts.authenticate(core, "head", "wrong", MONDAY_9AM)
    accounts.authenticate(core, "head", "pw", MONDAY_9AM)  # not locked: the count restarted
    with pytest.raises(Unauthenticated, match="Wrong username or password"):
        accounts.authenticate(core, "nobody", "pw", MONDAY_9AM, channel="api")
    assert _audit(core)[-1] == ("nobody", "login_failed")


def test_a_username_typed_with_capitals_or_spaces_finds_its_account(core: Core) -> None:
    # Usernames are lower-case; a phone's keyboard capitalises the first letter.
    for typed in ("Head", " head ", "HEAD"):
        user = accounts.authenticate(core, typed, "pw", MONDAY_9AM)
        assert user.username == "head"
    with pytest.raises(Unauthenticated, match="Wrong username or password"):
        accounts.authenticate(core, "Head", "wrong", MONDAY_9AM)
    # The audit log names the account, whatever was typed.
    assert _audit(core)[-4:] == [("head", "login")] * 3 + [("head", "login_failed")]
