"""Database connections: SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, DateTime, Engine, bindparam, create_engine, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass a timezone-aware value")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def listed(name: str, count: int) -> list[BindParameter[Any]]:
    """`count` bound parameters `name_0`, `name_1` … for an IN list of that length.

    For the statements of every request, built once per length: an expanding parameter
    makes SQLAlchemy render the statement again at every execution (measured: 46 against
    21 µs per statement). `listed_values` gives their values.
    """
    return [bindparam(f"{name}_{index}") for index in range(count)]


def listed_values(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """The values of the parameters `listed(name, len(values))`."""
    return {f"{name}_{index}": value for index, value in enumerate(values)}


# Seconds a new PostgreSQL connection may take before the request answers 503.
CONNECT_TIMEOUT_SECONDS = 5


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL names SQLite."""
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Python's sqlite3 opens transactions lazily; let SQLAlchemy issue BEGIN itself
            # so that SELECT ... then UPDATE run in one transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Savepoints' sub-journals and temporary sort trees in memory, not in temp files:
            # the scheduler fires each timer of a batch in a savepoint (measured: a pass of 50
            # timers 5-7% faster; a larger page cache gained nothing there).
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        _begin_with(engine.dialect, "BEGIN IMMEDIATE")
        return engine
    # An unreachable server (packets dropped) fails fast rather than hanging every request.
    connect_args = dict(kwargs.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    _track_writes(engine)
    return engine


# Connection.info key: whether the transaction under way has written.
WROTE = "motcua_wrote"
# Session.info key: the connection its transaction runs on (see `make_session_factory`).
CONNECTION = "motcua_connection"
_INTO = re.compile(r"\bINTO\b", re.IGNORECASE)
# Statements whose row count tells whether they changed anything.
_COUNTED = ("UPDATE", "INSERT", "DELETE")


def _reads_only(statement: str) -> bool:
    """A SELECT that is nothing else: no SELECT … INTO, no second statement after it.

    The application's SELECTs call no function that writes (set_config, a writing function
    of one's own): a SELECT here changes nothing, and its locks (FOR UPDATE, advisory
    transaction locks) end with its transaction, whether it commits or rolls back.
    """
    text = statement.lstrip()
    if text[:6].upper() != "SELECT":
        return False
    return _INTO.search(text) is None and ";" not in text.rstrip().rstrip(";")


def _track_writes(engine: Engine) -> None:
    """Note on each connection whether its transaction has written (see `ends_unchanged`).

    Every statement but a plain SELECT counts as a write before it is sent (WITH included:
    it may hold an UPDATE; a statement that fails leaves the transaction failed, which only
    a ROLLBACK ends), except an UPDATE, INSERT or DELETE that reports touching no row (a
    claim lost to another officer).

    Done in the dialect's own steps (`_wrap_dialect`), not with engine events: an engine with
    any event listener dispatches four events around every statement (measured: 25% more
    CPU per statement), on the hot path of every request.
    """
    dialect = engine.dialect
    begin = dialect.do_begin

    def do_begin(dbapi_connection: Any) -> None:
        _info(dbapi_connection)[WROTE] = False
        begin(dbapi_connection)

    def tracked(step: Any) -> Any:
        # SQLAlchemy calls each step with its execution context last, positionally; a call
        # without one fails loudly rather than let a write go unmarked (and be committed).
        def run(cursor: Any, statement: str, *rest: Any) -> None:
            info = _info(rest[-1].root_connection)
            before = bool(info.get(WROTE, True))
            if not _reads_only(statement):
                info[WROTE] = True
            step(cursor, statement, *rest)
            if statement.lstrip()[:6].upper() in _COUNTED and cursor.rowcount == 0:
                info[WROTE] = before

        return run

    _wrap_dialect(dialect, do_begin=do_begin, do_execute=tracked(dialect.do_execute),
                  do_executemany=tracked(dialect.do_executemany),
                  do_execute_no_params=tracked(dialect.do_execute_no_params))


def _info(connection: Any) -> dict[str, Any]:
    """The info of a connection (SQLAlchemy's or the pool's), or a dict of no consequence for
    the ad-hoc connection of the dialect's first checks, which has none.
    """
    try:
        info: dict[str, Any] = connection.info
    except NotImplementedError:
        return {}
    return info


def _wrap_dialect(dialect: Dialect, **steps: Any) -> None:
    """Replace steps of one engine's dialect (an instance of its own) by ours, which call the
    dialect's own: SQLAlchemy calls these for every statement and transaction of the engine."""
    for name, step in steps.items():
        setattr(dialect, name, step)


def _begin_with(dialect: Dialect, command: str) -> None:
    """Begin each transaction of a SQLite engine with `command`, unless a reader's began it.

    Python's sqlite3 opens transactions lazily; SQLAlchemy then issues BEGIN itself so that
    SELECT ... then UPDATE run in one transaction. Writers take the write lock at once (no
    deadlock upgrading a read lock later); readers (`reader`) read a snapshot beside the
    writer, as WAL allows.
    """

    def do_begin(dbapi_connection: Any) -> None:
        # A reader's event began it: its mark, and the transaction open (a mark left by a
        # reader whose transaction then failed never lets a writer in without the lock).
        reader_began = _info(dbapi_connection).pop(_READER_BEGAN, False)
        if reader_began and dbapi_connection.dbapi_connection.in_transaction:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(command)
        finally:
            cursor.close()

    _wrap_dialect(dialect, do_begin=do_begin)


def ends_unchanged(session: Session) -> bool:
    """Whether the session's PostgreSQL transaction is healthy and has changed nothing.

    Such a transaction may end with COMMIT rather than ROLLBACK: PostgreSQL ends both the
    same way when nothing was written, but psycopg forgets every prepared statement of the
    connection at each ROLLBACK (and sends DEALLOCATE ALL), so that PostgreSQL must parse
    and plan each statement again: where a unit of work failed on a lost race or a form
    error now and then (one request in five under bench/load.py), its planning took as
    long as running its statements. False on SQLite, after a write, with ORM changes not
    yet flushed, in a failed transaction or savepoint, on a connection lost, when the
    transaction never got a connection, and whenever the check itself fails: it never
    checks out a connection nor hides the error under way.
    """
    try:
        if session.get_bind().dialect.name != "postgresql":
            return False
        transaction = session.get_transaction()
        nested = session.get_nested_transaction()
        if (transaction is None or not transaction.is_active
                or (nested is not None and not nested.is_active)
                or session.new or session.dirty or session.deleted):
            return False
        conn = session.info.get(CONNECTION)
        if (conn is None or conn.closed or conn.invalidated
                or conn.info.get(WROTE, True)):
            return False
        from psycopg.pq import TransactionStatus

        status = conn.connection.dbapi_connection.info.transaction_status
        return bool(status == TransactionStatus.INTRANS)
    except Exception:  # noqa: BLE001 - unsure means rolling back, as before
        return False


# A pooled connection that rested longer than this is pinged before use (SELECT 1).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_idle_connections(engine: Engine) -> None:
    """Find connections that died while resting in the pool (the database restarted, a
    firewall dropped them) and replace them before use, so that a worker recovers by itself
    once the database is back.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip more per unit of
    work, two or three per request, where a connection handed back a moment ago is alive.
    A connection that fails while in use instead makes SQLAlchemy discard the whole pool
    (its disconnect handling): the request answers 503 and the next ones reconnect.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["rested_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _rested(_dbapi_connection: Any, record: Any) -> None:
        record.info["rested_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("rested_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool drops every connection it holds (they died with this one, most likely)
            # and checks out a new one, as pool_pre_ping does.
            raise exc.InvalidatePoolError(str(error)) from error


# Connection.info key: a SQLite reader's transaction began (with BEGIN, not BEGIN IMMEDIATE).
_READER_BEGAN = "motcua_reader_began"


def reader(engine: Engine) -> Engine:
    """The same database and pool, for work that only reads.

    On PostgreSQL each statement commits by itself (autocommit): at READ COMMITTED every
    statement of a transaction takes its own snapshot anyway, so a transaction around reads
    only costs its BEGIN and ROLLBACK round trips. On SQLite a plain (deferred) BEGIN.
    Never write through it.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    reads = engine.execution_options()

    # Events of this engine's own (the writers' engine has none): it begins with BEGIN, and
    # the dialect's step (`_begin_with`) then leaves the transaction as it is.
    @event.listens_for(reads, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
        conn.info[_READER_BEGAN] = True

    return reads


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    """A session factory whose objects stay readable after commit, and whose sessions
    remember the connection their transaction runs on (`ends_unchanged` reads it there,
    never checking out one of its own)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @event.listens_for(factory, "after_begin")
    def _on(session: Session, _transaction: Any, connection: Any) -> None:
        session.info[CONNECTION] = connection

    @event.listens_for(factory, "after_transaction_end")
    def _off(session: Session, transaction: Any) -> None:
        if transaction.parent is None:
            session.info.pop(CONNECTION, None)

    return factory
