"""A PostgreSQL schema of a bench's own, dropped when the bench ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from engine.db import make_engine


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
