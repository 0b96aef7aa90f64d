"""Escalations of steps and appointment dates at several levels; in-app notifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _escalation_0003() -> sa.Table:
    # The table as 0001 made it, minus its unnamed unique constraint: SQLite cannot drop a
    # constraint without a name, so batch mode rebuilds the table from this description.
    return sa.Table(
        "escalation", sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossier.id"), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("due_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("raised_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", engine.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), sa.ForeignKey("user_account.id"),
                  nullable=True),
        sa.Index("ix_escalation_dossier_id", "dossier_id"),
        sa.Index("ix_escalation_raised_at", "raised_at"),
    )


def upgrade() -> None:
    """Generalise escalation (kind, ref, note) and add notification."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    batch = (op.batch_alter_table("escalation", copy_from=_escalation_0003(),
                                  recreate="always") if sqlite
             else op.batch_alter_table("escalation"))
    with batch as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False,
                                      server_default="step"))
        batch_op.add_column(sa.Column("ref", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=True)
        if not sqlite:
            batch_op.drop_constraint("escalation_task_id_level_key", type_="unique")
    op.execute("UPDATE escalation SET ref = task_id")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.alter_column("ref", existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column("kind", server_default=None)
        batch_op.create_unique_constraint("escalation_dossier_id_ref_level_key",
                                          ["dossier_id", "ref", "level"])
        batch_op.create_index(batch_op.f("ix_escalation_task_id"), ["task_id"], unique=False)
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("read_at", engine.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user_read", ["user_id", "read_at"],
                              unique=False)


def downgrade() -> None:
    """Back to escalations of steps only, one row per task and level.

    Loses data: every notification; the escalations of appointment dates (rows without a
    task, deleted); the kind, ref and note of the escalations kept.
    """
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_read")
    op.drop_table("notification")
    op.execute("DELETE FROM escalation WHERE task_id IS NULL")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_task_id"))
        batch_op.drop_constraint("escalation_dossier_id_ref_level_key", type_="unique")
        batch_op.alter_column("task_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint("escalation_task_id_level_key", ["task_id", "level"])
        batch_op.drop_column("note")
        batch_op.drop_column("ref")
        batch_op.drop_column("kind")
