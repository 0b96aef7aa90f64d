"""Account lock-out after repeated failed logins

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 08:54:25.518272
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Drop the lock-out columns.

    Loses data: failed-login counts and current lock-outs (locked accounts are unlocked).
    """

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
