"""alert scope: escalation gets its step's department and its dossier's version

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 18:00:00.000000

A head's dashboard shows the alerts of their department's steps, and the appointment alerts
of the dossiers whose procedure version has a lane of theirs. Read through each running
alert's step or dossier, that cost a probe per running alert (bench/tables.py: 35 ms against
the supervisor's 20 ms with 5,000 open dossiers, growing with them); copied onto the alert
(a step's department never changes, nor a dossier's version) and added to
ix_escalation_running, the page and the counts read the index alone, as the supervisor's do.
The upgrade fills both columns for the existing alerts; the downgrade drops them (derived:
nothing is lost).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RUNNING = "settled_at IS NULL AND acknowledged_at IS NULL"
BEFORE = ["level", "raised_at", "id", "procedure_id", "role", "claimed_by", "task_id",
          "dossier_id"]
AFTER = [*BEFORE, "department", "procedure_version_id"]
FILL = """UPDATE escalation SET
    department = (SELECT department FROM task WHERE task.id = escalation.task_id),
    procedure_version_id = (SELECT procedure_version_id FROM dossier
                            WHERE dossier.id = escalation.dossier_id)"""


def _running_index(columns: list[str]) -> None:
    op.create_index("ix_escalation_running", "escalation", columns, unique=False,
                    postgresql_where=sa.text(RUNNING), sqlite_where=sa.text(RUNNING))


# Plain ALTER TABLE, no batch: on SQLite a batch would rebuild escalation, which the trigger
# of 0011 on task names (SQLite 3.35+ adds and drops columns in place).
def upgrade() -> None:
    """Apply this migration."""
    op.add_column("escalation", sa.Column("department", sa.String(length=64), nullable=True))
    op.add_column("escalation", sa.Column("procedure_version_id", sa.Integer(), nullable=True))
    op.drop_index("ix_escalation_running", table_name="escalation")
    op.execute(FILL)
    _running_index(AFTER)


def downgrade() -> None:
    """Revert this migration (the columns are copies: nothing is lost)."""
    op.drop_index("ix_escalation_running", table_name="escalation")
    op.drop_column("escalation", "procedure_version_id")
    op.drop_column("escalation", "department")
    _running_index(BEFORE)
