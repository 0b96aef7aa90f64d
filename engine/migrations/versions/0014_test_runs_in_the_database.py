"""test runs in the database

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 20:10:00.000000

A designer's test run was kept in the memory of the worker process that started it: with
gunicorn's several workers (`make serve`), the next request of the same run met another
worker, which did not know it. The run (its package and its workflow) now lives in
test_run, which every worker reads. The downgrade drops the table: test runs are
throw-away, an hour at most; no dossier is lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "test_run",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("package", sa.JSON(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("expires_at", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_test_run_expires_at", "test_run", ["expires_at"], unique=False)


def downgrade() -> None:
    """Drop test_run (the runs under way are forgotten: a designer starts a new one)."""
    op.drop_index("ix_test_run_expires_at", table_name="test_run")
    op.drop_table("test_run")
