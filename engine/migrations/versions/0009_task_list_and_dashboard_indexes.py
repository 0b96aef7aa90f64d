"""task list and dashboard indexes: the lists read an index in their order and stop at the page

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:20:00.000000

ix_task_state_role (state, role) becomes ix_task_state_role_due (state, role, due_at,
created_at, id, department, claimed_by), which serves the same lookups, the task list's order
and its filters; the officer's own tasks and the workload get ix_task_claimed_state_due
(claimed_by, state, due_at, created_at, id, role, department); the dashboard finds the oldest waiting
step with ix_task_state_created (state, created_at) and whether an alert's step waits, and
who claimed it, with ix_task_state_id (state, id, claimed_by); ix_dossier_status becomes
ix_dossier_status_received (status, received_at), which finds the oldest open dossier of a
status in one index probe. Indexes only: no row is touched either way.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TASK_ROLE = ["state", "role", "due_at", "created_at", "id", "department", "claimed_by"]
TASK_CLAIMED = ["claimed_by", "state", "due_at", "created_at", "id", "role", "department"]
TASK_STATE_ID = ["state", "id", "claimed_by"]


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_state_role")
        batch_op.create_index("ix_task_state_role_due", TASK_ROLE, unique=False)
        batch_op.create_index("ix_task_claimed_state_due", TASK_CLAIMED, unique=False)
        batch_op.create_index("ix_task_state_created", ["state", "created_at"], unique=False)
        batch_op.create_index("ix_task_state_id", TASK_STATE_ID, unique=False)
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_status")
        batch_op.create_index("ix_dossier_status_received", ["status", "received_at"],
                              unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_status_received")
        batch_op.create_index("ix_dossier_status", ["status"], unique=False)
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_state_id")
        batch_op.drop_index("ix_task_state_created")
        batch_op.drop_index("ix_task_claimed_state_due")
        batch_op.drop_index("ix_task_state_role_due")
        batch_op.create_index("ix_task_state_role", ["state", "role"], unique=False)
