"""SQLite's transactions: writers hold the write lock from their first statement, readers
read beside them, and neither needs an engine event on the writers' hot path."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from engine.db import make_engine, reader


@pytest.fixture
def url(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "begin.sqlite3")
    return f"sqlite:///{tmp_path / 'begin.sqlite3'}"


@pytest.fixture
def impatient(url: str) -> Iterator[Engine]:
    """A second process's engine, which gives up on a held lock after 0.1 s."""
    engine = make_engine(url, connect_args={"timeout": 0.1, "check_same_thread": False})
    yield engine
    engine.dispose()


def test_a_writer_holds_the_lock_from_its_first_read_and_a_reader_reads_beside_it(
        url: str, impatient: Engine) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as writer:
            writer.exec_driver_sql("SELECT count(*) FROM dossier")  # BEGIN IMMEDIATE
            with pytest.raises(sa_exc.OperationalError, match="locked"), \
                    impatient.connect() as other:
                other.exec_driver_sql("SELECT count(*) FROM dossier")
            with reader(impatient).connect() as reads:  # plain BEGIN: a snapshot, no lock
                assert reads.exec_driver_sql("SELECT count(*) FROM dossier").scalar() == 0
            writer.rollback()
    finally:
        engine.dispose()


def test_a_readers_mark_left_on_a_connection_never_lets_a_writer_in_without_the_lock(
        url: str, impatient: Engine) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with reader(engine).connect() as reads:
            reads.exec_driver_sql("SELECT 1")
            # As if the reader's transaction had failed between its BEGIN and the dialect's
            # step that takes the mark off: the pooled connection keeps the mark.
            reads.info["motcua_reader_began"] = True
        with engine.connect() as writer:
            writer.exec_driver_sql("SELECT count(*) FROM dossier")
            with pytest.raises(sa_exc.OperationalError, match="locked"), \
                    impatient.connect() as other:
                other.exec_driver_sql("SELECT count(*) FROM dossier")
            writer.rollback()
    finally:
        engine.dispose()


def test_a_lock_not_taken_is_sqlalchemys_operational_error(url: str,
                                                           impatient: Engine) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as writer:
            writer.exec_driver_sql("SELECT 1")
            for _ in range(2):  # and the connection that failed to begin begins next time
                with pytest.raises(sa_exc.OperationalError, match="locked"), \
                        impatient.connect() as other:
                    other.exec_driver_sql("SELECT 1")
            writer.rollback()
        with impatient.connect() as other:
            assert other.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def test_the_writers_engines_have_no_event_listener(url: str, pg_engine: Engine) -> None:
    # Any listener makes SQLAlchemy dispatch events around every statement (measured: a
    # quarter more CPU per statement); SQLite's reader has its own, the writers none.
    # (Fresh engines: other tests listen on the shared ones for a while.)
    sqlite = make_engine(url)
    postgresql = make_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        assert not sqlite._has_events
        assert not postgresql._has_events
        assert reader(sqlite)._has_events
    finally:
        sqlite.dispose()
        postgresql.dispose()
