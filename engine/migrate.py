"""Schema migrations (Alembic), run from code so that every entry point shares them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class ForeignKeyViolation(RuntimeError):
    """A migration left rows pointing at rows that no longer exist (SQLite only)."""


def alembic_config(url: str = "") -> Config:
    """An Alembic configuration pointing at MotCua's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision`."""
    with _migrating(engine) as config:
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database down to `revision`."""
    with _migrating(engine) as config:
        command.downgrade(config, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Config]:
    """One transaction for the whole run; on SQLite, foreign keys checked once at its end.

    SQLite changes a table by copying it into a new one and dropping the old (Alembic's batch
    mode). With foreign keys enforced, dropping a table that other rows refer to fails (or
    would empty it), so enforcement is off while migrating, as SQLite's documentation
    prescribes, and `PRAGMA foreign_key_check` must find nothing before the commit.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            _pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                yield config
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, setting: str) -> None:
    # Outside any transaction (SQLite ignores this pragma inside one): on the driver's
    # connection, which runs in autocommit mode (see engine.db).
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA {setting}")
    cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise ForeignKeyViolation(f"rows point at missing rows after migrating: {broken[:5]}")
