"""dossier period index: a covering index for the statistics report

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 06:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ["received_at", "resolved_at", "appointment_at", "procedure_id", "channel", "outcome"]


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.create_index("ix_dossier_period", COLUMNS, unique=False)


def downgrade() -> None:
    """Drop the report's covering index (an index only: no data is lost)."""
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_period")
