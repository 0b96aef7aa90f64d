"""Pooled PostgreSQL connections that die: pinged after a rest, replaced after a failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, exc, text

from engine import db
from engine.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(pg_engine: Engine) -> Iterator[Engine]:
    """An engine of its own (as a web worker has) on the test database, two connections."""
    engine = make_engine(pg_engine.url.render_as_string(hide_password=False), pool_size=2,
                         max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(pooled: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pings the pool sends, 1 if answered, 0 if failed (a ping runs on the driver's
    own cursor, which no SQLAlchemy event sees)."""
    sent: list[int] = []
    ping = pooled.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(0)  # 0: failed, until it answers
        answered = ping(dbapi_connection)
        sent[-1] = 1
        return answered

    monkeypatch.setattr(pooled.dialect, "do_ping", counted)
    return sent


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _two_backends(engine: Engine) -> set[int]:
    """Check out both pooled connections at once; their backends."""
    with engine.connect() as first, engine.connect() as second:
        return {_backend(first), _backend(second)}


def _kill(admin: Engine, pids: set[int]) -> None:
    """End backends as a database restart or a firewall would."""
    with admin.connect() as conn:
        for pid in pids:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        conn.commit()


def test_connections_that_died_while_resting_are_replaced_before_use(
        pooled: Engine, pg_engine: Engine, pings: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = _two_backends(pooled)
    _kill(pg_engine, before)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # they have rested long enough
    pings.clear()
    with pooled.connect() as conn:  # the ping found it dead: a new connection, no error
        assert _backend(conn) not in before
    # The failed ping dropped the whole pool: the other dead connection was replaced without
    # failing a ping of its own.
    after = _two_backends(pooled)
    assert not after & before
    assert pings.count(0) == 1


def test_a_connection_just_handed_back_is_not_pinged(
        pooled: Engine, pg_engine: Engine, pings: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pooled.connect() as conn:
        pid = _backend(conn)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pings.clear()
    for _ in range(3):
        with pooled.connect() as conn:
            assert _backend(conn) == pid
    assert pings == []  # no SELECT 1 before each use
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with pooled.connect() as conn:
        assert _backend(conn) == pid
    assert pings == [1]  # after a rest, one, answered

    # Died a moment after it was handed back: the first use fails as the database being
    # away (the web answers 503), and the pool is discarded, so the next use reconnects.
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    _kill(pg_engine, {pid})
    with pytest.raises(exc.OperationalError) as failed, pooled.connect() as conn:
        _backend(conn)
    assert failed.value.connection_invalidated
    with pooled.connect() as conn:
        assert _backend(conn) != pid
