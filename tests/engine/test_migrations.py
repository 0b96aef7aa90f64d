"""The schema comes from Alembic migrations, which upgrade and downgrade cleanly."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from engine import migrate
from engine.models import Base


def test_migrations_create_every_table_and_go_down_and_up_again(any_db: Engine) -> None:
    tables = set(inspect(any_db).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    migrate.downgrade(any_db, "base")
    assert set(inspect(any_db).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(any_db)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(any_db).get_table_names())


def test_the_models_and_the_migrations_agree(any_db: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with any_db.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
