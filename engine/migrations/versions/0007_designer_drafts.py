"""Designer drafts and version change notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:38:15.243093
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""

    op.create_table(
        "procedure_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_version_id"],
            ["procedure_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop procedure_draft and procedure_version.change_note.

    Loses data: designers' unsaved drafts and the change notes of deployed versions.
    """

    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.drop_column("change_note")

    op.drop_table("procedure_draft")
