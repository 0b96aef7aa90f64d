"""A unit of work that changed nothing keeps the connection's prepared statements.

psycopg forgets every prepared statement of a connection at each ROLLBACK (and sends
DEALLOCATE ALL); PostgreSQL then parses and plans each statement again. A unit of work that
wrote nothing (a lost race, a form with errors) ends with COMMIT instead, which PostgreSQL
treats as it would ROLLBACK; one that wrote anything is still rolled back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.bootstrap import Core, bootstrap
from engine.db import ends_unchanged, make_engine, make_session_factory
from engine.demo import step_data
from engine.errors import Conflict
from engine.models import Dossier, Task, User
from engine.services import tasks
from tests.conftest import MONDAY_9AM, at, password_hash
from tests.engine.walk import ready_tasks, receive, user


@pytest.fixture
def one_connection(pg_core: Core, pg_engine: Engine) -> Iterator[Core]:
    """The test database's core on an engine of one connection (a web worker's, as it
    serves one request at a time), so that the tests see its prepared statements."""
    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    engine = make_engine(pg_engine.url.render_as_string(hide_password=False), pool_size=1,
                         max_overflow=0, connect_args={"options": f"-c search_path={schema}"})
    yield bootstrap(pg_core.settings, db=engine)
    engine.dispose()


def prepared(core: Core) -> list[str]:
    """The statements PostgreSQL holds prepared for the core's one connection."""
    with core.db.connect() as conn:
        statements = list(conn.execute(text("SELECT statement FROM pg_prepared_statements"))
                          .scalars())
        conn.commit()
    return statements


def test_lost_races_keep_the_statements_prepared(one_connection: Core) -> None:
    core = one_connection
    dossier = receive(core, MONDAY_9AM)
    [step] = ready_tasks(core, dossier.code)
    specialist = user(core, "specialist")
    data = step_data(step.bpmn_id, "2026-11-23")
    tasks.complete_task(core, specialist, step.id, data, at(23, 10))
    # psycopg prepares a statement at its fifth run; every run here is a lost race.
    for _ in range(6):
        with pytest.raises(Conflict):
            tasks.complete_task(core, specialist, step.id, data, at(23, 11))
    assert any("FOR NO KEY UPDATE" in statement for statement in prepared(core))


def test_a_lost_claim_changes_nothing_and_keeps_the_statements_prepared(
        one_connection: Core) -> None:
    core = one_connection
    dossier = receive(core, MONDAY_9AM)
    [step] = ready_tasks(core, dossier.code)
    first = user(core, "specialist")
    tasks.claim_task(core, first, step.id, at(23, 10))
    with core.uow() as uow:
        uow.session.add(User(username="specialist2", password_hash=password_hash(),
                             full_name="Specialist 2", roles="specialist", active=True))
        uow.commit()
    other = user(core, "specialist2")
    for _ in range(6):
        with pytest.raises(Conflict):
            tasks.claim_task(core, other, step.id, at(23, 11))
    with core.reads() as uow:
        assert uow.session.get_one(Task, step.id).claimed_by == first.id
    assert any(statement.startswith("UPDATE task SET claimed_by") for statement in
               prepared(core))


def test_a_unit_of_work_that_wrote_then_failed_is_rolled_back(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with pytest.raises(RuntimeError), core.uow() as uow:
        uow.session.execute(update(Dossier).where(Dossier.id == dossier.id)
                            .values(applicant_name="Changed"))
        raise RuntimeError("after the write")
    with pytest.raises(RuntimeError), core.uow() as uow:
        uow.session.get_one(Dossier, dossier.id).applicant_name = "Changed, not flushed"
        raise RuntimeError("with a change pending")
    with pytest.raises(RuntimeError), core.uow() as uow:
        uow.session.get_one(Dossier, dossier.id).applicant_name = "Changed and flushed"
        uow.session.flush()
        raise RuntimeError("after the flush")
    with core.reads() as uow:
        assert uow.session.get_one(Dossier, dossier.id).applicant_name == "Nguyễn Văn An"


def test_a_failed_statement_still_rolls_back(pg_core: Core) -> None:
    with pytest.raises(DBAPIError, match="division by zero"), pg_core.uow() as uow:
        uow.session.execute(text("SELECT 1 / 0"))
    with pg_core.uow() as uow:  # the connection is usable again
        assert uow.session.execute(select(Dossier.id)).first() is None


def test_a_failed_flush_still_rolls_back(pg_core: Core) -> None:
    with pytest.raises(IntegrityError), pg_core.uow() as uow:
        uow.session.add(User(username="specialist", password_hash="x", full_name="Twin",
                             roles="specialist", active=True))
        uow.session.flush()
    with pg_core.uow() as uow:
        assert len(uow.session.scalars(select(User).where(User.username == "specialist"))
                   .all()) == 1


def test_a_unit_of_work_that_only_read_changes_nothing(pg_core: Core) -> None:
    dossier = receive(pg_core, MONDAY_9AM)
    with pytest.raises(RuntimeError), pg_core.uow() as uow:
        row = uow.session.execute(select(Dossier).where(Dossier.id == dossier.id)
                                  .with_for_update()).scalar_one()
        assert row.status == dossier.status
        raise RuntimeError("after reading")
    # Its lock ended with it: another transaction changes the row at once.
    with pg_core.db.connect() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '1s'"))
        conn.execute(update(Dossier).where(Dossier.id == dossier.id)
                     .values(applicant_name="Changed"))
        conn.commit()


def test_the_check_never_checks_out_a_connection(pg_core: Core, pg_engine: Engine) -> None:
    # A unit of work whose first statement found no free connection (a full pool) must not
    # wait for one a second time on its way out, nor hide the pool's error.
    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    engine = make_engine(pg_engine.url.render_as_string(hide_password=False), pool_size=1,
                         max_overflow=0, pool_timeout=0.2,
                         connect_args={"options": f"-c search_path={schema}"})
    core = bootstrap(pg_core.settings, db=engine)
    try:
        with engine.connect() as held:  # the pool's only connection
            held.execute(text("SELECT 1"))
            session = core.session_factory()
            with pytest.raises(sa_exc.TimeoutError):
                session.execute(select(Dossier.id))
            assert ends_unchanged(session) is False  # would time out again if it checked out
            session.close()
            with pytest.raises(sa_exc.TimeoutError), core.uow() as uow:
                uow.session.execute(select(Dossier.id))
    finally:
        engine.dispose()


def test_on_sqlite_the_check_touches_nothing(tmp_path: Path, sqlite_template: Path) -> None:
    # SQLite's writers wait for the write lock at BEGIN IMMEDIATE: a unit of work that could
    # not take it must not try again on its way out.
    shutil.copy(sqlite_template, tmp_path / "locked.sqlite3")
    url = f"sqlite:///{tmp_path / 'locked.sqlite3'}"
    locker = make_engine(url)
    engine = make_engine(url, connect_args={"timeout": 0.1, "check_same_thread": False})
    session = make_session_factory(engine)()
    try:
        with locker.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is held
            with pytest.raises(sa_exc.OperationalError, match="locked"):
                session.execute(select(Dossier.id))
            assert ends_unchanged(session) is False
            conn.rollback()
    finally:
        session.close()
        engine.dispose()
        locker.dispose()


def test_a_failed_flush_in_a_savepoint_keeps_its_error(pg_core: Core) -> None:
    with pytest.raises(IntegrityError), pg_core.uow() as uow:
        uow.session.begin_nested()
        uow.session.add(User(username="specialist", password_hash="x", full_name="Twin",
                             roles="specialist", active=True))
        uow.session.flush()


@pytest.mark.parametrize("statement", [
    "WITH changed AS (UPDATE dossier SET applicant_name = 'Changed' RETURNING id) "
    "SELECT id FROM changed WHERE id < 0",
    "SELECT * INTO made FROM dossier",
])
def test_writes_a_select_hides_are_rolled_back(pg_core: Core, statement: str) -> None:
    dossier = receive(pg_core, MONDAY_9AM)
    with pytest.raises(RuntimeError), pg_core.uow() as uow:
        uow.session.execute(text(statement))
        raise RuntimeError("after the write")
    with pg_core.reads() as uow:
        assert uow.session.get_one(Dossier, dossier.id).applicant_name == "Nguyễn Văn An"
        assert uow.session.execute(text("SELECT to_regclass('made')")).scalar() is None


def test_writes_of_many_rows_then_a_failure_are_rolled_back(pg_core: Core) -> None:
    before = receive(pg_core, MONDAY_9AM), receive(pg_core, at(23, 10))
    with pytest.raises(RuntimeError), pg_core.uow() as uow:
        uow.session.add_all(User(username=f"new{n}", password_hash="x", full_name="New",
                                 roles="reception", active=True) for n in range(3))
        for dossier in uow.session.scalars(select(Dossier)):
            dossier.applicant_name = "Changed"
        uow.session.flush()
        uow.session.execute(update(Dossier).values(applicant_phone="0900000000"))
        raise RuntimeError("after the writes")
    with pytest.raises(RuntimeError), pg_core.uow() as uow:
        with uow.session.begin_nested():  # released: its write belongs to the transaction
            uow.session.execute(update(Dossier).values(applicant_name="Saved, released"))
        raise RuntimeError("after the savepoint")
    with pg_core.reads() as uow:
        rows = uow.session.execute(select(Dossier.applicant_name, Dossier.applicant_phone)).all()
        assert sorted(rows) == [("Nguyễn Văn An", "0912345678")] * len(before)
        assert not uow.session.scalars(select(User).where(User.username.like("new%"))).all()
