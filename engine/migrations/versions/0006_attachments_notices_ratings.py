"""Attachments, notices, ratings and escalation settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 06:52:48.452963
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""

    op.create_table(
        "escalation_setting",
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedure.id"],
        ),
        sa.PrimaryKeyConstraint("procedure_id"),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("document_index", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossier.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossier.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comment_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "dossier_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("answered_at", engine.db.UTCDateTime(), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossier.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier_notice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dossier_notice_dossier_id"), ["dossier_id"], unique=False
        )

    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("overall", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossier.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id"),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("documents_received", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("return_method", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("return_address", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("postal_tracking", sa.String(length=50), nullable=True))


def downgrade() -> None:
    """Drop attachments, comments, notices, ratings and escalation settings, and the dossier
    columns this migration added.

    Loses data: the attachment records (the files stay in the upload folder, unreferenced),
    officers' comments, supplement and refusal notices, ratings, administrators' escalation
    policies, and each dossier's birth date, online submission time, checklist of documents
    received, return method, return address and postal tracking number.
    """

    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("postal_tracking")
        batch_op.drop_column("return_address")
        batch_op.drop_column("return_method")
        batch_op.drop_column("documents_received")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("applicant_birth_date")

    op.drop_table("rating")
    with op.batch_alter_table("dossier_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_notice_dossier_id"))

    op.drop_table("dossier_notice")
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_dossier_id"))

    op.drop_table("comment")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_dossier_id"))

    op.drop_table("attachment")
    op.drop_table("escalation_setting")
