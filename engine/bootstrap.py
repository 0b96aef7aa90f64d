"""Composition root: builds the database, spec cache, serializer, runtime and calendar."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Engine,
    ScalarSelect,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from engine.db import make_engine, make_session_factory, reader
from engine.errors import NotFound
from engine.models import CalendarOverride, EscalationSetting, Procedure, ProcedureVersion
from engine.runtime import Runtime
from engine.serializer import LeanSerializer
from engine.specs import Package, ParsedVersion, SpecCache
from engine.uow import UnitOfWork
from workflows.calendar import OfficeHours, WorkingCalendar
from workflows.escalation import policies_from_table

_OVERRIDES = select(CalendarOverride.__table__.c.day, CalendarOverride.__table__.c.working)
_POLICY = (select(EscalationSetting.__table__.c.policy)
           .join(Procedure.__table__, Procedure.__table__.c.id
                 == EscalationSetting.__table__.c.procedure_id)
           .where(Procedure.__table__.c.code == bindparam("code")))
_OVERRIDE_TABLE = CalendarOverride.__table__.c
_SETTING_TABLE = EscalationSetting.__table__.c


def overrides_column() -> ScalarSelect[str]:
    """The calendar overrides as one value ("2026-01-02:0,2026-01-10:1", in no order), for a
    statement that reads them with other things (`Core.calendar_from` reads it back)."""
    mark = case((_OVERRIDE_TABLE.working, "1"), else_="0")
    # The separator written into the SQL: given as a str, SQLAlchemy renders it at every
    # execution (a literal parameter), in the statement that loads every completion.
    separator: Any = literal_column("','")
    return (select(func.aggregate_strings(cast(_OVERRIDE_TABLE.day, String(10)) + ":" + mark,
                                          separator)).scalar_subquery())


def policy_column(procedure_id: ColumnElement[int]) -> ScalarSelect[Any]:
    """The escalation policy an administrator set for a procedure (NULL: none), for a
    statement that reads it with other things (see `Core.parsed_with_policy`)."""
    return (select(_SETTING_TABLE.policy).where(_SETTING_TABLE.procedure_id == procedure_id)
            .scalar_subquery())


@dataclass(frozen=True)
class Settings:
    """Deployment settings; the agency code prefixes every dossier code.

    The SMTP fields say where the outbox sends citizens' e-mails; the defaults suit a local
    relay (`motcua scheduler` and `motcua serve` read MOTCUA_SMTP_* from the environment).
    """

    database_url: str = "sqlite:///instance/motcua.sqlite3"
    agency_code: str = "000.00.18.H57"
    agency_name: str = "Sở Tư pháp"
    hours: OfficeHours = field(default_factory=OfficeHours)
    lease_seconds: int = 60
    token_days: int = 30
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "motcua@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)  # never in a log line
    # Attachments live outside the database, in this folder, named by their checksum.
    upload_dir: str = "instance/uploads"
    max_upload_bytes: int = 10 * 1024 * 1024
    # The address citizens use (printed as a QR code on the receipt slip).
    public_url: str = "http://127.0.0.1:5000"


@dataclass
class Core:
    """Everything a service needs, built once per process."""

    settings: Settings
    db: Engine
    session_factory: sessionmaker[Any]
    cache: SpecCache
    runtime: Runtime
    # The same database for work that only reads (engine.db.reader).
    reader: Engine
    read_session_factory: sessionmaker[Any]
    version_hashes: dict[int, str] = field(default_factory=dict)
    _calendars: dict[frozenset[tuple[date, bool]], WorkingCalendar] = field(
        default_factory=dict)
    _overridden: dict[tuple[str, str], ParsedVersion] = field(default_factory=dict)

    def calendar_zone(self) -> ZoneInfo:
        """The agency's time zone."""
        return ZoneInfo(self.settings.hours.timezone)

    def calendar_for(self, session: Session) -> WorkingCalendar:
        """The working calendar with the administrator's overrides as the database has them."""
        # Read on every use, so that every process sees an administrator's change at once;
        # a Core statement built once keeps this under a tenth of a millisecond.
        return self._calendar(frozenset((day, working) for day, working in
                                        session.connection().execute(_OVERRIDES)))

    def calendar_from(self, session: Session, overrides: str | None) -> WorkingCalendar:
        """The working calendar with the overrides read by `overrides_column()`."""
        try:
            return self._calendar(frozenset(
                (date.fromisoformat(day), working == "1")
                for day, working in (item.split(":") for item in (overrides or "").split(",")
                                     if item)))
        except ValueError:  # a database printing dates another way: read them as dates
            return self.calendar_for(session)

    def warm_up(self, today: date) -> None:
        """Load what every request of a process needs sooner or later, without the database:
        the public holidays (the package imports the module of every country at its first
        use: 0.1-0.2 s) and the working calendar without overrides, with `today`'s year.

        gunicorn's master calls it before forking: each worker starts with them (their
        memory shared), and its first officer does not wait for them.
        """
        self._calendar(frozenset()).is_working_day(today)

    def _calendar(self, overrides: frozenset[tuple[date, bool]]) -> WorkingCalendar:
        calendar = self._calendars.get(overrides)
        if calendar is None:
            if len(self._calendars) > 16:  # old override sets are not needed any more
                self._calendars.clear()
            calendar = WorkingCalendar(
                self.settings.hours,
                days_off=[day for day, working in overrides if not working],
                working_days=[day for day, working in overrides if working])
            self._calendars[overrides] = calendar
        return calendar

    def uow(self) -> UnitOfWork:
        """A new unit of work on this core's database."""
        return UnitOfWork(self.session_factory)

    def reads(self) -> UnitOfWork:
        """A unit of work that only reads (`engine.db.reader`): never commit it."""
        return UnitOfWork(self.read_session_factory)

    def parsed_version(self, version: ProcedureVersion) -> ParsedVersion:
        """The parsed spec of a deployed version, with the administrator's escalation policy."""
        parsed = self._parsed(version)
        session = object_session(version)
        return self._with_policy(session, parsed) if session is not None else parsed

    def parsed_for(self, session: Session, version_id: int) -> ParsedVersion:
        """The parsed spec of a version by id, read from the database only on first use."""
        content_hash = self.version_hashes.get(version_id)
        parsed = self.cache.get(content_hash) if content_hash else None
        if parsed is None:
            parsed = self.parsed_version(session.get_one(ProcedureVersion, version_id))
            self.version_hashes[version_id] = parsed.content_hash
            return parsed
        return self._with_policy(session, parsed)

    def parsed_with_policy(self, session: Session, version_id: int,
                           policy: dict[str, Any] | None) -> ParsedVersion:
        """`parsed_for` with the policy already read by `policy_column()` (None: the
        procedure.toml's)."""
        content_hash = self.version_hashes.get(version_id)
        parsed = self.cache.get(content_hash) if content_hash else None
        if parsed is None:
            parsed = self._parsed(session.get_one(ProcedureVersion, version_id))
            self.version_hashes[version_id] = parsed.content_hash
        return self.apply_policy(parsed, policy)

    def _parsed(self, version: ProcedureVersion) -> ParsedVersion:
        return self.cache.get(version.content_hash) or self.cache.load(
            Package(version.bpmn_xml, version.forms, version.meta))

    def _with_policy(self, session: Session, parsed: ParsedVersion) -> ParsedVersion:
        """`parsed` with the escalation policy an administrator set for its procedure.

        Read on every use, like the calendar, so that every process applies a change at once.
        """
        return self.apply_policy(parsed, session.connection().execute(
            _POLICY, {"code": parsed.procedure.code}).scalar())

    def apply_policy(self, parsed: ParsedVersion, policy: dict[str, Any] | None
                     ) -> ParsedVersion:
        """`parsed` with an administrator's escalation policy (None: procedure.toml's)."""
        if policy is None:
            return parsed
        key = (parsed.content_hash, json.dumps(policy, sort_keys=True))
        overridden = self._overridden.get(key)
        if overridden is None:
            if len(self._overridden) > 64:
                self._overridden.clear()
            policies = policies_from_table(policy)
            overridden = replace(parsed, procedure=replace(
                parsed.procedure, escalation=policies.default, step_escalation=policies.steps,
                appointment_escalation=policies.appointment))
            self._overridden[key] = overridden
        return overridden

    def load_by_hash(self, content_hash: str) -> ParsedVersion:
        """The parsed spec of the version with this content hash (the serializer's loader)."""
        cached = self.cache.get(content_hash)
        if cached is not None:
            return cached
        with self.session_factory() as session:
            version = session.scalars(
                select(ProcedureVersion).where(ProcedureVersion.content_hash == content_hash)
            ).first()
            if version is None:
                raise NotFound(f"no procedure version has content hash {content_hash}")
            return self.parsed_version(version)


def bootstrap(settings: Settings, db: Engine | None = None) -> Core:
    """Build the core for `settings` (tests pass their own engine)."""
    db = db if db is not None else make_engine(settings.database_url)
    reads = reader(db)
    cache = SpecCache()
    core = Core(
        settings=settings,
        db=db,
        session_factory=make_session_factory(db),
        cache=cache,
        reader=reads,
        read_session_factory=make_session_factory(reads),
        runtime=None,  # type: ignore[arg-type]  # set below: the serializer needs the core
    )
    core.runtime = Runtime(cache, LeanSerializer(core.load_by_hash))
    return core
