"""running alerts: escalation gets procedure_id, settled_at, claimed_by and a partial index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 12:00:00.000000

The dashboard lists and counts the running alerts (the latest of each deadline, not
acknowledged, its step still waiting, or its dossier still open when it has no step). They
were found among every alert ever raised, joined to dossier and task; now an alert records
when it stopped running (settled_at, set in the transaction that ends its step, closes its
dossier or raises a higher level of its deadline), its dossier's procedure and who claimed
its step (a trigger on task follows claims, releases and reassignments; note for SQLite: a
later batch migration that recreates task must create the trigger again), and
ix_escalation_running holds only the running ones, in the dashboard's order, with what its
counts group by. The upgrade fills the columns for the existing alerts by the rules the
dashboard used; the downgrade drops them (the rules still hold without them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RUNNING = "settled_at IS NULL AND acknowledged_at IS NULL"
RUNNING_COLUMNS = ["level", "raised_at", "id", "procedure_id", "role", "claimed_by",
                   "task_id", "dossier_id"]
OPEN_STATUSES = "1, 2, 4, 5, 6, 7"  # workflows.statuses.is_open, as of this revision
FILL_PROCEDURE = """UPDATE escalation SET
    procedure_id = (SELECT procedure_id FROM dossier WHERE dossier.id = escalation.dossier_id),
    claimed_by = (SELECT claimed_by FROM task WHERE task.id = escalation.task_id)"""
# A claim, release or reassignment of a step is copied onto its running alerts.
FOLLOW = ("UPDATE escalation SET claimed_by = NEW.claimed_by "
          "WHERE task_id = NEW.id AND settled_at IS NULL;")
TRIGGER = {
    "postgresql": [
        f"""CREATE FUNCTION escalation_follows_claim() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN {FOLLOW} RETURN NULL; END $$""",
        """CREATE TRIGGER task_claim_to_escalation AFTER UPDATE OF claimed_by ON task
        FOR EACH ROW WHEN (OLD.claimed_by IS DISTINCT FROM NEW.claimed_by)
        EXECUTE FUNCTION escalation_follows_claim()"""],
    "sqlite": [
        f"""CREATE TRIGGER task_claim_to_escalation AFTER UPDATE OF claimed_by ON task
        FOR EACH ROW WHEN OLD.claimed_by IS NOT NEW.claimed_by BEGIN {FOLLOW} END"""],
}
DROP_TRIGGER = {
    "postgresql": ["DROP TRIGGER task_claim_to_escalation ON task",
                   "DROP FUNCTION escalation_follows_claim()"],
    "sqlite": ["DROP TRIGGER task_claim_to_escalation"],
}
# Settled: a higher level of its deadline exists, or its step exists and no longer waits, or
# it has no step and its dossier is closed; at the step's end, else when it was raised.
FILL_SETTLED = f"""UPDATE escalation SET settled_at = COALESCE(
    (SELECT t.completed_at FROM task t WHERE t.id = escalation.task_id), escalation.raised_at)
WHERE EXISTS (SELECT 1 FROM escalation h WHERE h.dossier_id = escalation.dossier_id
                AND h.ref = escalation.ref AND h.level > escalation.level)
   OR EXISTS (SELECT 1 FROM task t WHERE t.id = escalation.task_id AND t.state <> 'ready')
   OR (NOT EXISTS (SELECT 1 FROM task t WHERE t.id = escalation.task_id)
       AND (SELECT d.status FROM dossier d WHERE d.id = escalation.dossier_id)
           NOT IN ({OPEN_STATUSES}))"""


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("procedure_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("settled_at", engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_escalation_procedure_id_procedure", "procedure",
                                    ["procedure_id"], ["id"])
    op.execute(FILL_PROCEDURE)
    op.execute(FILL_SETTLED)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_running", RUNNING_COLUMNS, unique=False,
                              postgresql_where=sa.text(RUNNING),
                              sqlite_where=sa.text(RUNNING))
    for sql in TRIGGER[op.get_bind().dialect.name]:
        op.execute(sql)


def downgrade() -> None:
    """Revert this migration (the columns are derived: nothing is lost)."""
    for sql in DROP_TRIGGER[op.get_bind().dialect.name]:
        op.execute(sql)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_running")
        batch_op.drop_constraint("fk_escalation_procedure_id_procedure", type_="foreignkey")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("settled_at")
        batch_op.drop_column("procedure_id")
