"""Pooled PostgreSQL connections that die: pinged after a rest, replaced after a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, exc, text

from engine import db
from engine.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(pg_engine: Engine) -> Iterator[Engine]:
    """An engine of its own (as a web worker has) on the test database, one connection."""
    engine = make_engine(pg_engine.url.render_as_string(hide_password=False), pool_size=1,
                         max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(admin: Engine, pid: int) -> None:
    """End a backend as a database restart or a firewall would."""
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        conn.commit()


def test_a_connection_that_died_while_resting_is_replaced_before_use(
        pooled: Engine, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _backend(pooled)
    _kill(pg_engine, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has rested long enough
    second = _backend(pooled)  # the ping found it dead: a new connection, no error
    assert second != first


def test_a_connection_just_handed_back_is_not_pinged(
        pooled: Engine, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    pid = _backend(pooled)

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(pooled, "before_cursor_execute", seen)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    for _ in range(3):
        assert _backend(pooled) == pid
    assert statements == ["SELECT pg_backend_pid()"] * 3  # no SELECT 1 before each

    # Died a moment after it was handed back: the first use fails as the database being
    # away (the web answers 503), and the pool is discarded, so the next use reconnects.
    _kill(pg_engine, pid)
    with pytest.raises(exc.OperationalError) as failed:
        _backend(pooled)
    assert failed.value.connection_invalidated
    assert _backend(pooled) != pid
