"""A database made by an earlier release upgrades to this one with its dossiers intact, and its
workflows go on: tasks complete, the scheduler escalates, the report counts the same.

Each file in tests/fixtures/release_db/ is one release's database (see make.py there): its
rows are loaded into a database migrated to that release's revision, then upgraded to head.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from engine import migrate
from engine.bootstrap import Core, bootstrap
from engine.demo import step_data
from engine.models import Dossier, Escalation, Task, User
from engine.search import search_key
from engine.services import accounts, attachments, dossiers, task_list, tasks
from engine.services.escalations import run_due
from engine.services.task_list import TaskFilters
from tests.engine.test_migrations import back_to_head
from tests.fixtures.release_db import make, rows

RELEASES = sorted(Path(make.__file__).parent.glob("*.json"))
# Values an upgrade may rewrite on purpose, by table and column; nothing yet. A migration
# that transforms stored data names the columns here and checks the new values itself.
REWRITTEN: dict[str, set[str]] = {}


@functools.cache
def release(path: Path) -> dict[str, Any]:
    """A release database's file, read once per session."""
    return rows.read(path)


@pytest.fixture(params=RELEASES, ids=lambda path: f"release-{path.stem}")
def stored(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The rows, files and figures of one earlier release's database."""
    return release(request.param)


@pytest.fixture
def upgraded(any_db: Engine, stored: dict[str, Any], tmp_path: Path) -> Iterator[Core]:
    """The release's database, loaded at its revision and upgraded to head."""
    uploads = tmp_path / "uploads"
    for key, content in stored["files"].items():
        (uploads / key).parent.mkdir(parents=True, exist_ok=True)
        (uploads / key).write_bytes(base64.b64decode(content))
    migrate.downgrade(any_db, stored["header"]["revision"])
    try:
        rows.load(any_db, stored["tables"])
        migrate.upgrade(any_db)
        yield bootstrap(make.settings(str(any_db.url), str(uploads),
                                      stored["header"]["agency_code"]), db=any_db)
    finally:
        back_to_head(any_db)  # the PostgreSQL schema is shared with later tests


def released_now(stored: dict[str, Any]) -> datetime:
    """The moment the release database was made."""
    return datetime.fromisoformat(stored["header"]["now"])


def test_every_stored_row_and_dossier_is_intact_after_the_upgrade_and_a_round_trip(
        upgraded: Core, stored: dict[str, Any]) -> None:
    assert_rows_kept(upgraded.db, stored["tables"])
    migrate.downgrade(upgraded.db, stored["header"]["revision"])
    assert_rows_kept(upgraded.db, stored["tables"])
    migrate.upgrade(upgraded.db)
    assert_dossiers_and_report_read_the_same(upgraded, stored)


def assert_rows_kept(engine: Engine, tables: dict[str, Any]) -> None:
    """Every stored row is in the database with the same values (in the columns it still has)."""
    now = {table.name: table for table in rows.reflected(engine)}
    with engine.connect() as conn:
        for name, table in tables.items():
            assert name in now, f"the table {name} was dropped"
            target = now[name]
            kept = [c for c in table["columns"]
                    if c in target.columns and c not in REWRITTEN.get(name, set())]
            expected = [{c: v for c, v in rows.decoded(target, table["columns"], row).items()
                         if c in kept} for row in table["rows"]]
            found = [dict(row._mapping) for row in conn.execute(
                select(*(target.columns[c] for c in kept))
                .order_by(*(target.primary_key.columns or target.columns)))]
            assert found == expected, f"{name}: stored rows changed"


def assert_dossiers_and_report_read_the_same(upgraded: Core, stored: dict[str, Any]) -> None:
    """This release's code reads each dossier, its files, the report and a login as stored."""
    table = stored["tables"]["dossier"]
    for row in table["rows"]:
        was = dict(zip(table["columns"], row, strict=True))
        detail = dossiers.get_dossier(upgraded, was["code"])
        dossier = detail.dossier
        assert (dossier.status, dossier.received_at.replace(tzinfo=None).isoformat(),
                dossier.appointment_at.replace(tzinfo=None).isoformat()) == \
            (was["status"], was["received_at"], was["appointment_at"])
        for attachment in detail.attachments:
            assert attachments.open_attachment(upgraded, dossier.code, attachment.id)[1].is_file()
    statuses = {row[table["columns"].index("status")] for row in table["rows"]}
    # Submitted online, refused, processing, supplement requested, resolved, returned.
    assert statuses >= {1, 3, 4, 5, 9, 10}
    period = tuple(stored["header"]["report_period"])
    assert make.report_counts(upgraded, period) == stored["header"]["report"]
    user = accounts.authenticate(upgraded, "reception", "demo", released_now(stored))
    assert user.role_set == {"reception"}


def test_the_workflows_go_on_after_the_upgrade(upgraded: Core, stored: dict[str, Any]) -> None:
    now = released_now(stored) + timedelta(hours=1)
    users = {role: user for user in _users(upgraded) for role in user.role_set}
    review, returning = _ready(upgraded, "review"), _ready(upgraded, "return_result")
    supplement = _ready(upgraded, "receive_supplement")
    day = now.date().isoformat()

    done = tasks.complete_task(upgraded, users["head"], review.id, step_data("review", day), now)
    assert done.status == 4
    assert _ready(upgraded, "sign", review.dossier_id).role == "leader"
    done = tasks.complete_task(upgraded, users["reception"], returning.id,
                               step_data("return_result", day), now)
    assert done.status == 10
    paused = _appointment(upgraded, supplement.dossier_id)
    done = tasks.complete_task(upgraded, users["reception"], supplement.id,
                               step_data("receive_supplement", day), now)
    assert done.status == 4
    assert _appointment(upgraded, supplement.dossier_id) > paused  # the paused time is added

    before = _escalations(upgraded)
    result = run_due(upgraded, now + timedelta(days=3), "after-upgrade")
    assert result.claimed > 0 and result.escalated > 0
    assert _escalations(upgraded) > before


def test_the_steps_carry_their_dossiers_receipt_after_the_upgrade(upgraded: Core) -> None:
    with upgraded.uow() as uow:
        pairs = uow.session.execute(select(Task.received_at, Dossier.received_at)
                                    .join(Dossier, Dossier.id == Task.dossier_id)).all()
    assert pairs and all(task == dossier for task, dossier in pairs)  # filled by 0015


def test_the_waiting_steps_can_be_searched_after_the_upgrade(upgraded: Core) -> None:
    with upgraded.uow() as uow:
        found = uow.session.execute(
            select(Task.state, Task.search_key, Task.role, Dossier.code, Dossier.applicant_name)
            .join(Dossier, Dossier.id == Task.dossier_id)).all()
        for state, key, _, code, name in found:  # filled by 0016 for the steps waiting
            assert key == (search_key(code, name) if state == "ready" else None)
        role, code = next((role, code) for state, _, role, code, _ in found if state == "ready")
        officer = uow.session.scalars(select(User).where(User.roles == role)).first()
    assert officer is not None
    page = task_list.task_page(upgraded, officer, TaskFilters(view="group", search=code[-6:]),
                               None)
    assert code in [row.dossier.code for row in page.rows]


def test_the_waiting_steps_carry_their_dossiers_status_after_the_upgrade(upgraded: Core
                                                                          ) -> None:
    with upgraded.uow() as uow:
        found = uow.session.execute(select(Task.state, Task.dossier_status, Dossier.status)
                                    .join(Dossier, Dossier.id == Task.dossier_id)).all()
    assert any(state == "ready" for state, _, _ in found)
    for state, copied, status in found:  # filled by 0017 for the steps waiting
        assert copied == (status if state == "ready" else None)


def _users(core: Core) -> list[User]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(User)))


def _ready(core: Core, bpmn_id: str, dossier_id: int | None = None) -> Task:
    with core.uow() as uow:
        query = select(Task).where(Task.state == "ready", Task.bpmn_id == bpmn_id)
        if dossier_id is not None:
            query = query.where(Task.dossier_id == dossier_id)
        return uow.session.scalars(query.order_by(Task.created_at)).first() or \
            pytest.fail(f"no ready {bpmn_id} task")


def _appointment(core: Core, dossier_id: int) -> datetime:
    with core.uow() as uow:
        return uow.session.get_one(Dossier, dossier_id).appointment_at


def _escalations(core: Core) -> int:
    with core.uow() as uow:
        return len(uow.session.scalars(select(Escalation.id)).all())
