"""task search_key: the task lists' search in SQL, over every waiting step

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 02:00:00.000000

An officer searches their list by a dossier's code or applicant, with or without accents. The
search read the list's first 5,000 steps and folded their codes and names in Python: past
that many waiting steps (a province's specialists have tens of thousands) it said it had
looked at the first 5,000 only, and at 100,000 open dossiers it took 38-131 ms. Each waiting
step now keeps its dossier's code and applicant folded (engine.search.search_key; cleared
when the step is done), so the search is a LIKE in SQL over all of them; on PostgreSQL a
trigram index (the pg_trgm extension, shipped with PostgreSQL and trusted: a database owner
may create it) over the waiting steps' keys finds a rare name without walking the list.
The upgrade fills the key of the steps waiting now; the downgrade drops it (a copy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.search import search_key

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BATCH = 2000
TASK = sa.table("task", sa.column("id", sa.String), sa.column("dossier_id", sa.Integer),
                sa.column("state", sa.String), sa.column("search_key", sa.String))
DOSSIER = sa.table("dossier", sa.column("id", sa.Integer), sa.column("code", sa.String),
                   sa.column("applicant_name", sa.String))


# Plain ALTER TABLE, no batch: on SQLite a batch would rebuild task and lose the trigger of
# 0011 (SQLite 3.35+ adds and drops columns in place).
def upgrade() -> None:
    """Apply this migration."""
    conn = op.get_bind()
    ops = "gin_trgm_ops"
    if conn.dialect.name == "postgresql":
        # In `public`, not the schema MotCua's tables are in: an extension belongs to one
        # schema of the database, and dropping that schema would drop it and every trigram
        # index of the other schemas (tests and deployments may keep one schema each). The
        # operator class is named with its schema, wherever an earlier install put it.
        _create_pg_trgm(conn)
        ops = conn.scalar(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                  "WHERE extname = 'pg_trgm'")) + ".gin_trgm_ops"
    # Unbounded: folding may lengthen a name (a ligature 'ﬃ' gives 'ffi').
    op.add_column("task", sa.Column("search_key", sa.Text(), nullable=True))
    waiting = conn.execute(
        sa.select(TASK.c.id, DOSSIER.c.code, DOSSIER.c.applicant_name)
        .join(DOSSIER, DOSSIER.c.id == TASK.c.dossier_id).where(TASK.c.state == "ready")).all()
    fill = sa.update(TASK).where(TASK.c.id == sa.bindparam("task_id")).values(
        search_key=sa.bindparam("key"))
    for start in range(0, len(waiting), BATCH):
        conn.execute(fill, [{"task_id": task_id, "key": search_key(code, name)}
                            for task_id, code, name in waiting[start:start + BATCH]])
    op.create_index("ix_task_search_key", "task", ["search_key"], unique=False,
                    postgresql_using="gin", postgresql_ops={"search_key": ops},
                    postgresql_where=sa.text("search_key IS NOT NULL"),
                    sqlite_where=sa.text("search_key IS NOT NULL"))


def _create_pg_trgm(conn: sa.Connection) -> None:
    """CREATE EXTENSION pg_trgm, or stop the upgrade (nothing of it kept) saying what to do."""
    if conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")):
        return
    advice = ("MotCua's task lists need PostgreSQL's pg_trgm extension (release 0016): "
              "the database's owner (or a superuser) runs `CREATE EXTENSION pg_trgm SCHEMA "
              "public;` in this database, then `motcua init-db` again. Nothing was changed.")
    if not conn.scalar(sa.text("SELECT count(*) FROM pg_available_extensions "
                               "WHERE name = 'pg_trgm'")):
        raise RuntimeError("pg_trgm is not installed on the database server (Debian and "
                           "Ubuntu: it comes with the postgresql package; elsewhere "
                           "postgresql-contrib). " + advice)
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as error:
        raise RuntimeError(f"{advice} (PostgreSQL said: {error.orig})") from error


def downgrade() -> None:
    """Revert this migration (the column is a copy: nothing is lost; pg_trgm stays)."""
    op.drop_index("ix_task_search_key", table_name="task")
    op.drop_column("task", "search_key")
