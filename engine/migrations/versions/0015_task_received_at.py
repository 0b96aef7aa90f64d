"""task received_at: the task list by date received reads one index

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 23:30:00.000000

An officer may list their waiting steps by the date their dossiers were received. Ordered by
the dossier's column, PostgreSQL walked the running dossiers in date order and probed each
for a step of the officer's roles (bench/tables.py with 100,000 open and 1,000,000 closed
dossiers: 53-74 ms a page, 142-199 ms for page 100), where the deadline order reads the
task index alone in a few milliseconds. A dossier's receipt time never changes once its
process runs (an online submission gets it at acceptance, before its first step), so it is
copied onto each step when the step is projected, and ix_task_state_role_received serves
that order as ix_task_state_role_due serves the deadline's. The upgrade fills the column for
the existing steps; the downgrade drops it (a copy: nothing is lost). Steps that code older
than this writes have none (the README's upgrade: stop the old release everywhere first).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# One join on PostgreSQL (millions of steps at a province's size); a correlated read per step
# on SQLite, whose UPDATE ... FROM needs 3.33.
FILL = {"postgresql": """UPDATE task SET received_at = dossier.received_at FROM dossier
                         WHERE dossier.id = task.dossier_id""",
        "sqlite": """UPDATE task SET received_at = (SELECT received_at FROM dossier
                                                    WHERE dossier.id = task.dossier_id)"""}
INDEX = ["state", "role", "received_at", "dossier_id", "created_at", "id", "department",
         "claimed_by"]


# Plain ALTER TABLE, no batch: on SQLite a batch would rebuild task and lose the trigger of
# 0011 (SQLite 3.35+ adds and drops columns in place).
def upgrade() -> None:
    """Apply this migration."""
    op.add_column("task", sa.Column("received_at", engine.db.UTCDateTime(), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    op.create_index("ix_task_state_role_received", "task", INDEX, unique=False)


def downgrade() -> None:
    """Revert this migration (the column is a copy: nothing is lost)."""
    op.drop_index("ix_task_state_role_received", table_name="task")
    op.drop_column("task", "received_at")
