"""The schema comes from Alembic migrations: each one upgrades and downgrades cleanly, step by
step, on SQLite and PostgreSQL, and keeps the rows it promises to keep.

The revisions are read from Alembic's script directory, so a new migration is covered the
moment it is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)

from engine import migrate
from engine.models import Base

Schema = dict[str, dict[str, Any]]
Rows = dict[str, list[dict[str, Any]]]


def revisions() -> list[str]:
    """Every revision from the first to the head, in order (the graph must be one line)."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1, "the migrations have several heads: merge them"
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def schema(engine: Engine) -> Schema:
    """What the inspector sees: tables, columns, keys, indexes and unique constraints."""
    inspector = inspect(engine)
    primary = inspector.get_multi_pk_constraint()
    foreign = inspector.get_multi_foreign_keys()
    indexes = inspector.get_multi_indexes()
    uniques = inspector.get_multi_unique_constraints()
    return {table: {
        "columns": {c["name"]: (str(c["type"]), c["nullable"], _default(c)) for c in columns},
        "primary_key": tuple(primary[key]["constrained_columns"]),
        "foreign_keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                tuple(fk["referred_columns"])) for fk in foreign[key]),
        "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                          for ix in indexes[key]),
        "unique": sorted(tuple(u["column_names"]) for u in uniques[key]),
    } for key, columns in inspector.get_multi_columns().items()
        for table in [key[1]] if table != "alembic_version"}


def _default(column: Any) -> str | None:
    default = column.get("default")
    return None if default is None else str(default).strip("'")


def rows(engine: Engine, tables: Schema) -> Rows:
    """Every row of every table, ordered by primary key, as the driver returns them."""
    with engine.connect() as conn:
        return {name: [dict(row._mapping) for row in conn.execute(text(
                    f'SELECT * FROM "{name}" ORDER BY '
                    + ", ".join(f'"{c}"' for c in table["primary_key"] or table["columns"])))]
                for name, table in tables.items()}


def snapshot(engine: Engine) -> tuple[Schema, Rows]:
    """The schema and the rows."""
    found = schema(engine)
    return found, rows(engine, found)


def reflected(engine: Engine, names: set[str]) -> list[Table]:
    """The named tables as the database has them, parents first."""
    metadata = MetaData()
    metadata.reflect(engine, only=sorted(names))
    return [table for table in metadata.sorted_tables if table.name in names]


def fill(engine: Engine, tables: list[Table], serial: int) -> None:
    """Give each (new, empty) table one row with every column set, its keys pointing at rows
    of the tables they refer to."""
    with engine.begin() as conn:
        for table in tables:
            row: dict[str, Any] = {}
            for column in table.columns:
                targets = list(column.foreign_keys)
                if targets:
                    target = targets[0].column
                    row[column.name] = conn.execute(select(target).limit(1)).scalar_one()
                elif not (column.primary_key and column.autoincrement is True
                          and isinstance(column.type, Integer)):
                    row[column.name] = sample(column.type, column.name, serial)
            conn.execute(table.insert().values(**row))


def sample(kind: Any, name: str, serial: int) -> Any:
    """A value of a column's type, different for each step of the walk."""
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return serial
    if isinstance(kind, Float):
        return serial + 0.5
    if isinstance(kind, DateTime):
        return datetime(2026, 11, 23, 2, serial)
    if isinstance(kind, Date):
        return date(2026, 11, serial)
    if isinstance(kind, LargeBinary):
        return bytes([serial, 0, 255])
    if isinstance(kind, JSON):
        return {"step": serial}
    value = f"{name}-{serial}"
    length = getattr(kind, "length", None) if isinstance(kind, String) else None
    return value[:length] if length else value


def projected(found: Rows, onto: Schema) -> Rows:
    """The rows of `found` restricted to the tables and columns of the schema `onto`."""
    return {table: [{k: v for k, v in row.items() if k in onto[table]["columns"]}
                    for row in table_rows]
            for table, table_rows in found.items() if table in onto}


def back_to_head(engine: Engine) -> None:
    """Upgrade to head; if a failed migration left the schema half-way, start from nothing
    (later tests share the PostgreSQL schema)."""
    try:
        migrate.upgrade(engine)
    except Exception:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
        migrate.upgrade(engine)


@pytest.fixture
def empty_db(any_db: Engine) -> Iterator[Engine]:
    """The test database taken down to no schema at all, and back to head afterwards."""
    migrate.downgrade(any_db, "base")
    yield any_db
    back_to_head(any_db)


def test_the_revisions_form_one_line_from_base_to_head() -> None:
    steps = revisions()
    assert steps[0] == "0001"
    assert len(set(steps)) == len(steps)


def test_each_migration_goes_up_down_and_up_again_keeping_schema_and_rows(
        empty_db: Engine) -> None:
    previous = "base"
    before, before_rows = snapshot(empty_db)
    for serial, revision in enumerate(revisions(), start=1):
        migrate.upgrade(empty_db, revision)
        new_tables = reflected(empty_db, set(inspect(empty_db).get_table_names())
                               - set(before) - {"alembic_version"})
        fill(empty_db, new_tables, serial)
        after, after_rows = snapshot(empty_db)
        assert after != before, f"{revision} changed nothing"
        assert projected(after_rows, before) == before_rows, f"{revision} lost rows going up"

        migrate.downgrade(empty_db, previous)
        down, down_rows = snapshot(empty_db)
        assert down == before, f"{revision} does not downgrade to {previous}"
        assert down_rows == projected(after_rows, before), f"{revision} lost rows going down"

        # Down gave back the schema before, so up again makes `after` again: rows are what
        # this step checks, in the tables it brought back empty and the ones it kept.
        migrate.upgrade(empty_db, revision)
        fill(empty_db, new_tables, serial)
        again_rows = rows(empty_db, after)
        assert projected(again_rows, before) == down_rows, f"{revision} lost rows going up again"
        previous, before, before_rows = revision, after, again_rows
    assert {t.name for t in Base.metadata.sorted_tables} == set(before)


def test_the_models_and_the_migrations_agree(any_db: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with any_db.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


@pytest.mark.postgres
def test_the_trigram_index_does_not_hang_on_the_schema_of_the_tables(pg_engine: Engine) -> None:
    # pg_trgm lives in `public` (or wherever it was first installed), not in the schema of
    # MotCua's tables: dropping that schema must not drop other schemas' trigram indexes.
    with pg_engine.connect() as conn:
        schema, current = conn.execute(text(
            "SELECT extnamespace::regnamespace::text, current_schema() FROM pg_extension "
            "WHERE extname = 'pg_trgm'")).one()
        definition = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                      "'ix_task_search_key' AND schemaname = current_schema()"))
    assert schema != current
    assert f"USING gin (search_key {schema}.gin_trgm_ops) WHERE" in definition


class _Without:
    """A connection to a server where pg_trgm is neither created nor available."""

    def scalar(self, statement: Any) -> int:
        return 0


def test_without_pg_trgm_the_upgrade_stops_saying_what_to_do() -> None:
    import importlib

    step = importlib.import_module("engine.migrations.versions.0016_task_search_key")
    with pytest.raises(RuntimeError, match="CREATE EXTENSION pg_trgm SCHEMA public"):
        step._create_pg_trgm(_Without())


PARTIAL = {"ix_task_search_key": "search_key IS NOT NULL",
           "ix_task_status_role_due": "dossier_status IS NOT NULL",
           "ix_task_status_role_received": "dossier_status IS NOT NULL"}


def test_the_waiting_steps_indexes_keep_to_the_waiting_steps(any_db: Engine) -> None:
    # compare_metadata above does not compare partial indexes' conditions or operator classes.
    with any_db.connect() as conn:
        if any_db.dialect.name == "postgresql":
            found = dict(conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'task' "
                "AND schemaname = current_schema()")).all())
        else:
            found = dict(conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    for name, condition in PARTIAL.items():
        assert found[name].replace("(", "").replace(")", "").endswith(
            f"WHERE {condition}"), found[name]
    if any_db.dialect.name == "postgresql":
        assert "USING gin (search_key " in found["ix_task_search_key"]
        assert ".gin_trgm_ops)" in found["ix_task_search_key"]
