"""task dossier_status: the task lists' status filter reads the waiting steps of that status

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 03:00:00.000000

An officer may narrow their list to the dossiers of one status. Filtered on the dossier's
column, PostgreSQL walked the role's waiting steps in the list's order and read each one's
dossier until a page was found: quick for a common status, but with 100,000 open dossiers a
status that few or none of the role's steps had (a specialist asking for the resolved ones)
read all of them, 57 ms. Each waiting step now carries its dossier's status, written with the
dossier's (engine.projections: the steps are inserted with the status the projection moves
the dossier to, and the steps still waiting get the new one when it moves; only the
projection changes the status of a dossier with a process), and cleared when the step is
done; two partial indexes over the waiting steps serve the filter in either order. The
upgrade fills the column for the steps waiting now; the downgrade drops it (a copy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FILL = {"postgresql": """UPDATE task SET dossier_status = dossier.status FROM dossier
                         WHERE dossier.id = task.dossier_id AND task.state = 'ready'""",
        "sqlite": """UPDATE task SET dossier_status = (SELECT status FROM dossier
                                                       WHERE dossier.id = task.dossier_id)
                     WHERE state = 'ready'"""}
INDEXES = {
    "ix_task_status_role_due": ["state", "role", "dossier_status", "due_at", "created_at", "id",
                                "department", "claimed_by"],
    "ix_task_status_role_received": ["state", "role", "dossier_status", "received_at",
                                     "dossier_id", "created_at", "id", "department",
                                     "claimed_by"],
}
WAITING = "dossier_status IS NOT NULL"


# Plain ALTER TABLE, no batch: on SQLite a batch would rebuild task and lose the trigger of
# 0011 (SQLite 3.35+ adds and drops columns in place).
def upgrade() -> None:
    """Apply this migration."""
    op.add_column("task", sa.Column("dossier_status", sa.Integer(), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    for name, columns in INDEXES.items():
        op.create_index(name, "task", columns, unique=False,
                        postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))


def downgrade() -> None:
    """Revert this migration (the column is a copy: nothing is lost)."""
    for name in INDEXES:
        op.drop_index(name, table_name="task")
    op.drop_column("task", "dossier_status")
