"""User administration: every change is checked, kept from locking the agency out, and audited."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from engine.bootstrap import Core
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.models import Event, User
from engine.services import accounts, user_tokens, users
from tests.conftest import MONDAY_9AM

LATER = MONDAY_9AM + timedelta(minutes=1)
GOOD = "correct horse 42"


def _events(core: Core) -> list[tuple[str | None, str, dict[str, Any]]]:
    with core.uow() as uow:
        return [(e.actor, e.kind, e.data) for e in uow.session.scalars(
            select(Event).where(Event.dossier_id.is_(None), Event.kind.not_like("login%"))
            .order_by(Event.id))]


def _id(core: Core, username: str) -> int:
    with core.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return user_id


def _create(core: Core, username: str = "lan.nt", **extra: Any) -> User:
    values: dict[str, Any] = {"username": username, "password": GOOD,
                              "full_name": "Nguyễn Thị Lan", "roles": ["reception"],
                              "department": "one_stop", "email": "lan@example.gov.vn", **extra}
    return users.create_user(core, "admin", now=MONDAY_9AM, **values)


def test_an_administrator_creates_a_user_who_logs_in_with_a_scrypt_hash(core: Core) -> None:
    created = _create(core)
    assert created.password_hash.startswith("scrypt:")
    assert accounts.authenticate(core, "lan.nt", GOOD, LATER).department == "one_stop"
    actor, kind, data = _events(core)[0]
    assert (actor, kind, data["user"], data["after"]["roles"]) == (
        "admin", "user_created", "lan.nt", ["reception"])
    assert GOOD not in str(data) and "scrypt" not in str(data)


@pytest.mark.parametrize(("field", "values"), [
    ("password", {"password": "short1"}),
    ("password", {"password": "1234567890123"}),
    ("password", {"username": "lan.nguyen", "password": "Lan.Nguyen"}),
    ("username", {"username": "Lan Nguyen"}),
    ("roles", {"roles": ["reception", "mayor"]}),
    ("email", {"email": "not an address"}),
    ("department", {"department": "phòng một cửa"}),
])
def test_a_bad_field_is_named_in_the_users_language(core: Core, field: str,
                                                    values: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as error:
        users.create_user(core, "admin", now=MONDAY_9AM, lang="en", **{
            "username": "lan.nt", "password": GOOD, "full_name": "Lan", "roles": ["reception"],
            **values})
    assert list(error.value.fields) == [field]
    assert _events(core) == []


def test_a_taken_username_and_a_non_administrator_are_refused(core: Core) -> None:
    with pytest.raises(InvalidInput) as error:
        _create(core, "head")
    assert "username" in error.value.fields
    with pytest.raises(Forbidden):
        users.create_user(core, "supervisor", username="x.y", password=GOOD, full_name="X",
                          roles=["clerk"], now=MONDAY_9AM)


def test_roles_department_and_profile_changes_write_one_event_each(core: Core) -> None:
    user_id = _id(core, "specialist")
    view = users.update_user(core, "admin", user_id, {
        "roles": ["specialist", "head"], "department": "judicial", "full_name": "Trần Minh",
        "email": ""}, MONDAY_9AM)
    assert (view.user.roles, view.user.department) == ("head,specialist", "judicial")
    kinds = {kind: data for _, kind, data in _events(core)}
    assert kinds["user_roles_changed"]["before"] == ["specialist"]
    assert kinds["user_roles_changed"]["after"] == ["head", "specialist"]
    assert kinds["user_department_changed"] == {"user": "specialist", "before": None,
                                                "after": "judicial"}
    assert kinds["user_profile_changed"]["after"] == {"full_name": "Trần Minh"}
    users.update_user(core, "admin", user_id, {"roles": ["head", "specialist"]}, LATER)
    assert len(_events(core)) == 3  # nothing changed, nothing logged


def test_a_stale_version_is_a_conflict_not_a_lost_update(core: Core) -> None:
    user_id = _id(core, "clerk")
    seen = users.get_user(core, user_id, MONDAY_9AM).version
    users.update_user(core, "admin", user_id, {"roles": ["clerk", "reception"]}, MONDAY_9AM,
                      version=seen)
    with pytest.raises(Conflict, match="meanwhile"):
        users.update_user(core, "admin", user_id, {"roles": ["clerk", "head"]}, LATER,
                          version=seen)
    assert users.get_user(core, user_id, LATER).user.roles == "clerk,reception"


def test_unknown_roles_and_fields_are_refused(core: Core) -> None:
    with pytest.raises(InvalidInput) as error:
        users.update_user(core, "admin", _id(core, "clerk"),
                          {"roles": ["clerk", "root"], "password": "x", "active": "no"},
                          MONDAY_9AM, lang="en")
    assert set(error.value.fields) == {"roles", "password", "active"}


def test_an_administrator_cannot_demote_or_deactivate_themselves(core: Core) -> None:
    admin_id = _id(core, "admin")
    with pytest.raises(Forbidden, match="own administrator role"):
        users.update_user(core, "admin", admin_id, {"roles": ["supervisor"]}, MONDAY_9AM)
    with pytest.raises(Forbidden, match="deactivate your own"):
        users.update_user(core, "admin", admin_id, {"active": False}, MONDAY_9AM)
    assert _events(core) == []


def test_the_last_active_administrator_stays_one(core: Core) -> None:
    admin_id = _id(core, "admin")
    with pytest.raises(Conflict, match="last active administrator"):
        users.update_user(core, None, admin_id, {"active": False}, MONDAY_9AM)
    users.update_user(core, "admin", _id(core, "designer"), {"roles": ["designer", "admin"]},
                      MONDAY_9AM)
    users.update_user(core, "designer", admin_id, {"roles": ["supervisor"]}, LATER)
    with pytest.raises(Forbidden):  # no longer an administrator
        users.update_user(core, "admin", _id(core, "designer"), {"roles": ["designer"]}, LATER)


def test_deactivation_revokes_tokens_and_refuses_logins_until_reactivated(core: Core) -> None:
    head = accounts.authenticate(core, "head", "pw", MONDAY_9AM)
    token = accounts.issue_token(core, head, MONDAY_9AM)
    users.update_user(core, "admin", head.id, {"active": False}, LATER)
    with pytest.raises(Unauthenticated):
        accounts.user_for_token(core, token, LATER)
    with pytest.raises(Unauthenticated):
        accounts.authenticate(core, "head", "pw", LATER)
    users.update_user(core, "admin", head.id, {"active": True}, LATER)
    assert accounts.authenticate(core, "head", "pw", LATER).active
    with pytest.raises(Unauthenticated):  # a reactivated user logs in again for a new token
        accounts.user_for_token(core, token, LATER)
    kinds = [(kind, data.get("tokens_revoked")) for _, kind, data in _events(core)]
    assert kinds == [("user_deactivated", 1), ("user_activated", None)]


def test_a_locked_account_is_unlocked_and_logs_in_at_once(core: Core) -> None:
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            accounts.authenticate(core, "leader", "wrong", MONDAY_9AM)
    leader_id = _id(core, "leader")
    assert users.get_user(core, leader_id, LATER).locked_until is not None
    assert [v.user.username for v in users.list_users(core, LATER, "LEAD")] == ["leader"]
    users.unlock(core, "admin", leader_id, LATER)
    assert accounts.authenticate(core, "leader", "pw", LATER).failed_logins == 0
    with pytest.raises(Conflict, match="not locked"):
        users.unlock(core, "admin", leader_id, LATER)
    _, kind, data = _events(core)[-1]
    assert (kind, data["after"]) == ("user_unlocked", {"failed_logins": 0, "locked_until": None})


def test_a_password_reset_revokes_tokens_and_follows_the_policy(core: Core) -> None:
    clerk = accounts.authenticate(core, "clerk", "pw", MONDAY_9AM)
    token = accounts.issue_token(core, clerk, MONDAY_9AM)
    with pytest.raises(InvalidInput):
        users.reset_password(core, "admin", clerk.id, "clerk", LATER)
    assert users.reset_password(core, "admin", clerk.id, GOOD, LATER) == 1
    with pytest.raises(Unauthenticated):
        accounts.user_for_token(core, token, LATER)
    assert accounts.authenticate(core, "clerk", GOOD, LATER).username == "clerk"
    _, kind, data = _events(core)[-1]
    assert (kind, data) == ("user_password_reset", {"user": "clerk", "tokens_revoked": 1})


def test_a_user_changes_their_own_password_with_the_current_one(core: Core) -> None:
    head_id = _id(core, "head")
    with pytest.raises(InvalidInput) as wrong:
        users.change_own_password(core, head_id, "nope", GOOD, MONDAY_9AM)
    assert list(wrong.value.fields) == ["old_password"]
    users.change_own_password(core, head_id, "pw", GOOD, MONDAY_9AM)
    assert accounts.authenticate(core, "head", GOOD, LATER).username == "head"
    assert _events(core)[-1][:2] == ("head", "password_changed")


def test_tokens_are_listed_and_revoked_one_by_one_or_all(core: Core) -> None:
    head = accounts.authenticate(core, "head", "pw", MONDAY_9AM)
    first, second, third = (accounts.issue_token(core, head, MONDAY_9AM) for _ in range(3))
    listed = user_tokens.list_tokens(core, "admin", head.id, LATER)
    assert [v.state for v in listed] == ["active"] * 3
    user_tokens.revoke_token(core, "admin", head.id, listed[-1].token.id, LATER)
    with pytest.raises(Conflict):
        user_tokens.revoke_token(core, "admin", head.id, listed[-1].token.id, LATER)
    with pytest.raises(NotFound):
        user_tokens.revoke_token(core, "admin", _id(core, "clerk"), listed[0].token.id, LATER)
    assert user_tokens.revoke_all_tokens(core, "admin", head.id, LATER) == 2
    for token in (first, second, third):
        with pytest.raises(Unauthenticated):
            accounts.user_for_token(core, token, LATER)
    assert [k for _, k, _ in _events(core)] == ["token_revoked", "tokens_revoked"]
    assert all("token_hash" not in str(data) for _, _, data in _events(core))


def test_a_client_logs_out_by_revoking_its_own_token(core: Core) -> None:
    head = accounts.authenticate(core, "head", "pw", MONDAY_9AM)
    token = accounts.issue_token(core, head, MONDAY_9AM)
    user_tokens.log_out_token(core, token, LATER)
    with pytest.raises(Unauthenticated):
        user_tokens.log_out_token(core, token, LATER)
    assert _events(core)[-1][:2] == ("head", "token_revoked")


def test_two_administrators_demoting_each_other_leave_one(core: Core) -> None:
    """On PostgreSQL the second demotion waits for the first, then finds its actor demoted."""
    if core.db.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the race cannot happen there")
    designer = _id(core, "designer")
    users.update_user(core, "admin", designer, {"roles": ["admin", "designer"]}, MONDAY_9AM)
    outcome: list[BaseException | None] = []

    def demote_admin() -> None:
        try:
            users.update_user(core, "designer", _id(core, "admin"), {"roles": ["supervisor"]},
                              LATER)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    with core.db.connect() as other, core.db.connect().execution_options(
            isolation_level="AUTOCOMMIT") as watcher:
        # The first administrator's transaction, half done: demoting the designer.
        other.execute(select(User.id).where(User.roles.like("%admin%")).with_for_update())
        other.execute(update(User).where(User.id == designer).values(roles="designer"))
        thread = threading.Thread(target=demote_admin)
        thread.start()
        deadline = time.monotonic() + 30
        while not watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%user_account%'")):
            assert time.monotonic() < deadline, "the second demotion never waited"
        other.commit()
    thread.join()
    assert isinstance(outcome[0], Forbidden)
    assert "admin" in users.get_user(core, _id(core, "admin"), LATER).user.role_set
