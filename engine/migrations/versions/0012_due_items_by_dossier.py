"""due items by dossier: an index for the appointment date's items

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 14:00:00.000000

A dossier's appointment-date items are replaced at its receipt, at each pause and resume and
when it closes (DELETE FROM due_item WHERE dossier_id = ? AND kind = 'appointment'). Without
an index on dossier_id that statement read the whole table: measured under bench/load.py at
0.35 ms with a few thousand items, a full scan of millions with 100,000 open dossiers.
ix_due_item_dossier_kind (dossier_id, kind) finds them directly. An index only: no row is
touched either way.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_index("ix_due_item_dossier_kind", "due_item", ["dossier_id", "kind"],
                    unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_due_item_dossier_kind", table_name="due_item")
