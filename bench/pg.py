"""A PostgreSQL schema or database of a bench's own, dropped when the bench ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.db import make_engine

# The PostgreSQL of this machine, as CI and the tests use it.
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def pg_schema(url: str, prefix: str) -> Iterator[Engine]:
    """An engine on the schema `<prefix>_<pid>` of the database at `url`, dropped afterwards."""
    schema = f"{prefix}_{os.getpid()}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db = make_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@contextmanager
def pg_database(url: str, prefix: str) -> Iterator[str]:
    """The URL of a database `<prefix>_<pid>` beside the one at `url`, dropped afterwards
    whatever happens (its connections ended)."""
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
