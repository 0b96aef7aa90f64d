"""SQLAlchemy models: the workflow state and the projections pages read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.db import UTCDateTime


class Base(DeclarativeBase):
    """Base of every table; the schema itself comes from the Alembic migrations."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class User(Base):
    """An officer, supervisor, designer or administrator."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Consecutive failed logins; past the limit the account waits until locked_until.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]

    @property
    def role_set(self) -> frozenset[str]:
        """The user's roles as a set."""
        return frozenset(r for r in self.roles.split(",") if r)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Procedure(Base):
    """A procedure of the catalogue; its content lives in immutable versions."""

    __tablename__ = "procedure"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    name_en: Mapped[str] = mapped_column(String(500), default="")
    field: Mapped[str] = mapped_column(String(100))
    latest_version_id: Mapped[int | None] = mapped_column(Integer)


class ProcedureVersion(Base):
    """One deployed, immutable version of a procedure: BPMN, forms and metadata."""

    __tablename__ = "procedure_version"
    __table_args__ = (
        UniqueConstraint("procedure_id", "version"),
        UniqueConstraint("procedure_id", "content_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]]
    meta: Mapped[dict[str, Any]]
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]
    change_note: Mapped[str] = mapped_column(Text, default="")


class ProcessInstance(Base):
    """The SpiffWorkflow state of one dossier's process, with optimistic locking."""

    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    serializer_version: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="running")
    incident: Mapped[str | None] = mapped_column(Text)
    task_count: Mapped[int] = mapped_column(default=0)
    depth: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DossierSequence(Base):
    """The last sequence number handed out per agency and day."""

    __tablename__ = "dossier_sequence"
    agency_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int]


class Dossier(Base):
    """A dossier (hồ sơ): one application by one applicant under one procedure."""

    __tablename__ = "dossier"
    # ix_dossier_period covers the statistics report's aggregate: it reads the index, never
    # the table. ix_dossier_status_received serves the dossiers of a status in date order.
    __table_args__ = (Index("ix_dossier_period", "received_at", "resolved_at", "appointment_at",
                            "procedure_id", "channel", "outcome"),
                      Index("ix_dossier_status_received", "status", "received_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), index=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_id_number: Mapped[str] = mapped_column(String(20), index=True)
    applicant_phone: Mapped[str] = mapped_column(String(20), default="")
    applicant_email: Mapped[str] = mapped_column(String(200), default="")
    applicant_address: Mapped[str] = mapped_column(String(500), default="")
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(index=True)
    received_by: Mapped[str | None] = mapped_column(String(64))
    appointment_at: Mapped[datetime]
    original_appointment_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    supplement_rounds: Mapped[int] = mapped_column(default=0)
    applicant_birth_date: Mapped[date | None] = mapped_column(Date)
    # When a citizen submitted online; received_at is when reception accepted the dossier.
    submitted_at: Mapped[datetime | None]
    # The checklist as received: [{"index": i, "copies": n}] over the procedure's documents.
    documents_received: Mapped[list[dict[str, int]] | None] = mapped_column(JSON)
    return_method: Mapped[str | None] = mapped_column(String(20))
    return_address: Mapped[str] = mapped_column(String(500), default="")
    postal_tracking: Mapped[str | None] = mapped_column(String(50))


class Task(Base):
    """Projection of a user task; ready ones form the task lists, done ones the history."""

    __tablename__ = "task"
    # The task lists read these in their order (deadline first, NULLS LAST) and stop at the
    # page: a role's waiting tasks, an officer's claimed ones (and the workload's counts);
    # the trailing columns let the list's filters skip rows without reading the table.
    __table_args__ = (Index("ix_task_state_role_due", "state", "role", "due_at", "created_at",
                            "id", "department", "claimed_by"),
                      Index("ix_task_claimed_state_due", "claimed_by", "state", "due_at",
                            "created_at", "id", "role", "department"),
                      # The oldest waiting step: where the dashboard's alerts begin.
                      Index("ix_task_state_created", "state", "created_at"),
                      # Is an alert's step waiting, and who claimed it: read from the index.
                      Index("ix_task_state_id", "state", "id", "claimed_by"),
                      # The lists by date received, as ix_task_state_role_due by deadline.
                      Index("ix_task_state_role_received", "state", "role", "received_at",
                            "dossier_id", "created_at", "id", "department", "claimed_by"),
                      # The lists filtered by the dossier's status, in either order, over
                      # the waiting steps alone (their copy of it is cleared once done).
                      Index("ix_task_status_role_due", "state", "role", "dossier_status",
                            "due_at", "created_at", "id", "department", "claimed_by",
                            postgresql_where=text("dossier_status IS NOT NULL"),
                            sqlite_where=text("dossier_status IS NOT NULL")),
                      Index("ix_task_status_role_received", "state", "role", "dossier_status",
                            "received_at", "dossier_id", "created_at", "id", "department",
                            "claimed_by", postgresql_where=text("dossier_status IS NOT NULL"),
                            sqlite_where=text("dossier_status IS NOT NULL")),
                      # The search of the lists, LIKE '%…%' over the waiting steps' keys: a
                      # trigram index on PostgreSQL (a plain one, unused, on SQLite).
                      Index("ix_task_search_key", "search_key", postgresql_using="gin",
                            postgresql_ops={"search_key": "gin_trgm_ops"},
                            postgresql_where=text("search_key IS NOT NULL"),
                            sqlite_where=text("search_key IS NOT NULL")))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    form_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="ready")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    warn_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Its dossier's receipt time (never changes once the process runs), for the lists' order.
    received_at: Mapped[datetime | None]
    # While it waits: its dossier's code and applicant folded (engine.search.search_key), what
    # the lists' search matches; cleared when the step is done or cancelled.
    search_key: Mapped[str | None] = mapped_column(Text)
    # While it waits: its dossier's status (written with the dossier's), for the lists' status
    # filter; cleared when the step is done or cancelled.
    dossier_status: Mapped[int | None] = mapped_column(Integer)


class DueItem(Base):
    """The next due moment of a deadline or a BPMN timer, found by its indexed due_at."""

    __tablename__ = "due_item"
    __table_args__ = (UniqueConstraint("instance_id", "kind", "ref", "level"),
                      Index("ix_due_item_dossier_kind", "dossier_id", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    ref: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None]


# A running alert: not settled, not acknowledged (ix_escalation_running's predicate).
RUNNING = "settled_at IS NULL AND acknowledged_at IS NULL"
RUNNING_COLUMNS = ("level", "raised_at", "id", "procedure_id", "role", "claimed_by",
                   "task_id", "dossier_id", "department", "procedure_version_id")
# A lower level of a deadline settles when a higher one is raised (or inserted first).
SETTLE_SUPERSEDED = text(
    "UPDATE escalation SET settled_at = :now WHERE dossier_id = :dossier_id AND ref = :ref "
    "AND settled_at IS NULL AND level < (SELECT max(h.level) FROM escalation h "
    "WHERE h.dossier_id = :dossier_id AND h.ref = :ref)"
).bindparams(bindparam("now", type_=UTCDateTime()))


class Escalation(Base):
    """A warning or escalation of a step or an appointment date: once per ref and level.

    Level 0 warns before the deadline, level 1 is raised at it, levels 2… go up the
    hierarchy (the policy's levels: officer, head, leader).
    """

    __tablename__ = "escalation"
    __table_args__ = (
        UniqueConstraint("dossier_id", "ref", "level"),
        # The running alerts, in the dashboard's order, with what its counts group by.
        Index("ix_escalation_running", *RUNNING_COLUMNS,
              postgresql_where=text(RUNNING), sqlite_where=text(RUNNING)))
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="step")
    ref: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    level: Mapped[int]
    role: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The dossier's procedure, copied so that the dashboard counts without joining dossier.
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))
    # When it stopped running (acknowledging aside): its step ended, its dossier closed, or
    # a higher level of its deadline was raised. Set in the transaction that does it.
    settled_at: Mapped[datetime | None]
    # Who claimed its step, copied from task.claimed_by (a trigger of migration 0011 follows
    # every claim, release and reassignment while the alert runs).
    claimed_by: Mapped[int | None]
    # Its step's department and its dossier's procedure version, copied (neither changes) so
    # that a head's dashboard reads their scope from ix_escalation_running alone.
    department: Mapped[str | None] = mapped_column(String(64))
    procedure_version_id: Mapped[int | None]


@event.listens_for(Escalation, "before_insert")
def _copy_procedure(_mapper: Any, connection: Connection, target: Escalation) -> None:
    """An alert added through the ORM gets its dossier's procedure and version, and its
    step's officer and department."""
    if target.procedure_id is None or target.procedure_version_id is None:
        target.procedure_id, target.procedure_version_id = connection.execute(
            text("SELECT procedure_id, procedure_version_id FROM dossier WHERE id = :id"),
            {"id": target.dossier_id}).one()
    if target.task_id is not None and (target.claimed_by is None or target.department is None):
        claimed_by, department = connection.execute(
            text("SELECT claimed_by, department FROM task WHERE id = :id"),
            {"id": target.task_id}).one()
        target.claimed_by = target.claimed_by if target.claimed_by is not None else claimed_by
        target.department = target.department if target.department is not None else department


@event.listens_for(Escalation, "after_insert")
def _settle_lower(_mapper: Any, connection: Connection, target: Escalation) -> None:
    """An alert added through the ORM settles the lower levels of its deadline (or itself)."""
    connection.execute(SETTLE_SUPERSEDED, {"now": target.raised_at,
                                           "dossier_id": target.dossier_id, "ref": target.ref})


class Event(Base):
    """Append-only log of who did what to which dossier, when, with what data."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(50))
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DossierPause(Base):
    """A time the dossier's clock stood still: waiting for a supplement or for fees."""

    __tablename__ = "dossier_pause"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    working_seconds: Mapped[float | None] = mapped_column(Float)


class CalendarOverride(Base):
    """An administrator's exception to the calendar: an extra day off or a working day."""

    __tablename__ = "calendar_override"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime]


class Notification(Base):
    """An in-app notice to one officer (an escalation of their step, for instance)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"))
    kind: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """An e-mail waiting to be sent by the scheduler: retried with back-off, sent once."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None]


class Apology(Base):
    """An apology letter with a new appointment date, for a dossier that will be late."""

    __tablename__ = "apology"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    new_appointment_at: Mapped[datetime]
    previous_appointment_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="draft")
    drafted_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    drafted_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A file of a dossier: kept outside the database, named by its checksum."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    # Which of the procedure's required documents this is (its index), if any.
    document_index: Mapped[int | None]
    purpose: Mapped[str] = mapped_column(String(20))  # intake, supplement, task, result
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str | None] = mapped_column(String(64))  # None: the applicant online


class Comment(Base):
    """An officer's comment on a dossier, at one of its steps."""

    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DossierNotice(Base):
    """A written notice to the applicant: a supplement request or a refusal, with reasons."""

    __tablename__ = "dossier_notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # supplement, refusal
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]
    answer_note: Mapped[str | None] = mapped_column(Text)


class Rating(Base):
    """The applicant's satisfaction rating after the result was returned: one per dossier."""

    __tablename__ = "rating"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    answers: Mapped[dict[str, Any]]
    overall: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class EscalationSetting(Base):
    """An administrator's escalation policy for a procedure, replacing procedure.toml's."""

    __tablename__ = "escalation_setting"
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), primary_key=True)
    policy: Mapped[dict[str, Any]]
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime]


class ProcedureDraft(Base):
    """A designer's working copy of a procedure, validated and deployed as a new version."""

    __tablename__ = "procedure_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]]
    meta: Mapped[dict[str, Any]]
    # The version the draft started from (None for a new procedure).
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_version.id"))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class AuditSeal(Base):
    """A link of the audit trail's hash chain: one per event, in the order sealed (engine.audit)."""

    __tablename__ = "audit_seal"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]


class StoredTestRun(Base):
    """A designer's test run of a draft or a version (engine.services.test_run): the package
    it runs and its workflow, so that any worker process can go on with it; forgotten an hour
    after its last use. Never a dossier."""

    __tablename__ = "test_run"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))  # "draft" or a version's number
    package: Mapped[dict[str, Any]]  # bpmn_xml, forms, meta as the run started
    state: Mapped[bytes] = mapped_column(LargeBinary)
    path: Mapped[list[str]] = mapped_column(JSON)  # the BPMN elements completed, in order
    revision: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)

