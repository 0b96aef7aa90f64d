"""Fixtures shared by every test: databases (SQLite, and PostgreSQL when configured), the core."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from werkzeug.security import generate_password_hash

from engine import migrate
from engine.bootstrap import Core, Settings, bootstrap
from engine.db import make_engine
from engine.models import Base, User
from engine.services import catalogue

CATALOGUE = Path(__file__).resolve().parent.parent / "bpmn"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# A Monday morning in office hours, far from any holiday.
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=HANOI)
ROLES = ("reception", "specialist", "head", "leader", "clerk", "supervisor", "designer",
         "admin")
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    """A moment in Hanoi time (tests read better with local times)."""
    return datetime(year, month, day, hour, minute, tzinfo=HANOI)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, migrated once per session."""
    if not PG_URL:
        if os.environ.get("MOTCUA_REQUIRE_POSTGRES"):
            pytest.fail("TEST_DATABASE_URL is not set but PostgreSQL tests are required")
        pytest.skip("set TEST_DATABASE_URL=postgresql+psycopg://… to run the PostgreSQL tests")
    # A schema of its own per test session, so that runs sharing the database never meet.
    schema = f"motcua_test_{os.getpid()}"
    try:
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same failure
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    engine = make_engine(PG_URL, pool_size=10,
                         connect_args={"options": f"-c search_path={schema}"})
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Engine:
    """A fresh, migrated database: SQLite, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return _sqlite_copy(tmp_path, sqlite_template)
    engine: Engine = request.getfixturevalue("pg_engine")
    _truncate(engine)
    return engine


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Engine:
    """A fresh, migrated SQLite database."""
    return _sqlite_copy(tmp_path, sqlite_template)


def _sqlite_copy(tmp_path: Path, template: Path) -> Engine:
    path = tmp_path / "motcua.sqlite3"
    shutil.copy(template, path)
    return make_engine(f"sqlite:///{path}")


@functools.cache
def password_hash() -> str:
    """The hash of the test password 'pw', computed once (hashing is slow on purpose)."""
    return generate_password_hash("pw")


def make_core(engine: Engine) -> Core:
    """A core with the catalogue deployed and one user per role (password 'pw')."""
    core = bootstrap(Settings(database_url=str(engine.url), agency_code="000.00.18.H57",
                              upload_dir=tempfile.mkdtemp(prefix="motcua-uploads-")),
                     db=engine)
    catalogue.load_catalogue(core, CATALOGUE, "test", MONDAY_9AM)
    with core.uow() as uow:
        for role in ROLES:
            uow.session.add(User(username=role, password_hash=password_hash(),
                                 full_name=role.title(), roles=role, active=True))
        uow.commit()
    return core


@pytest.fixture
def pg_core(pg_engine: Engine) -> Core:
    """The core on PostgreSQL only, emptied first (tests of PostgreSQL's own behaviour)."""
    _truncate(pg_engine)
    return make_core(pg_engine)


@pytest.fixture
def core(any_db: Engine) -> Core:
    """The core on each configured database."""
    return make_core(any_db)


@pytest.fixture
def sqlite_core(sqlite_db: Engine) -> Core:
    """The core on SQLite only."""
    return make_core(sqlite_db)
