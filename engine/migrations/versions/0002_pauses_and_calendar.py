"""Pauses of the dossier clock and the administrator's calendar overrides.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add dossier_pause and calendar_override."""
    op.create_table(
        "dossier_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("started_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", engine.db.UTCDateTime(), nullable=True),
        sa.Column("working_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_pause_dossier_id"), ["dossier_id"],
                              unique=False)
    op.create_table(
        "calendar_override",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    """Drop dossier_pause and calendar_override.

    Loses data: the dossiers' paused intervals (appointment dates already moved by them keep
    their value) and the administrator's calendar overrides.
    """
    op.drop_table("calendar_override")
    with op.batch_alter_table("dossier_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_pause_dossier_id"))
    op.drop_table("dossier_pause")
