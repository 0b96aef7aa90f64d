"""The statistics report (Biểu II.06a), counted by the database in one aggregate query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput
from engine.models import Dossier, Procedure, ProcedureVersion
from workflows.intake import Channel
from workflows.report import COUNTS, Grouping, Report, ReportRow, parse_query, period_bounds

# The outcome that marks an online submission reception has not accepted yet.
NOT_RECEIVED = "not_received"


# A period must have begun: what is still open is counted as of now, not of a future day.
FUTURE_PERIOD = ("Kỳ báo cáo chưa bắt đầu: chọn ngày bắt đầu không sau hôm nay.",
                 "The period has not begun: choose a first day no later than today.")


def summary(core: Core, *, first: str | None, last: str | None, by: str | None,
            lang: str = "vi", now: datetime | None = None) -> Report:
    """The report for the local days `first`..`last` (YYYY-MM-DD), by field or procedure.

    Dossiers still open are counted within deadline or overdue at the period's end, or at
    `now` when the period ends later (this month's report, today)."""
    query, errors = parse_query(first, last, by, lang)
    if query is None:
        raise InvalidInput(N_("The report's period is wrong: correct the fields marked."),
                           errors)
    first_day, last_day, grouping = query
    start, end = period_bounds(first_day, last_day, core.settings.hours.timezone)
    if now is not None and start > now:
        raise InvalidInput(N_("The report's period is wrong: correct the fields marked."),
                           {"from": FUTURE_PERIOD[1 if lang == "en" else 0]})
    as_of = min(end, now) if now is not None else end
    with core.uow() as uow:
        labels = _labels(uow.session, grouping, lang)
        counted = _count(uow.session, grouping, start, end, as_of)
    rows = [ReportRow(key, label, **counted.get(key, {})) for key, label in labels.items()]
    return Report(first_day, last_day, grouping, rows)


def _tally(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.count(case((condition, 1)))


def _count(session: Session, grouping: Grouping, start: datetime, end: datetime,
           as_of: datetime) -> dict[str, dict[str, int]]:
    """Each group's counts; the WHERE keeps only dossiers open at some moment of the period.
    Those still open at `as_of` (the period's end, or now if sooner) are within deadline or
    overdue at that moment."""
    key = Procedure.field if grouping == Grouping.FIELD else Procedure.code
    received_in = Dossier.received_at >= start
    resolved_in = Dossier.resolved_at < end  # the WHERE already has resolved_at >= start
    open_at_end = or_(Dossier.resolved_at.is_(None), Dossier.resolved_at >= as_of)
    columns = {
        "online": and_(received_in, Dossier.channel == Channel.ONLINE.value),
        "in_person_post": and_(received_in, Dossier.channel.in_(
            [Channel.IN_PERSON.value, Channel.POST.value])),
        "carried_over": Dossier.received_at < start,
        "early": and_(resolved_in, Dossier.outcome == "early"),
        "on_time": and_(resolved_in, Dossier.outcome == "on_time"),
        "late": and_(resolved_in, Dossier.outcome == "late"),
        "within_deadline": and_(open_at_end, Dossier.appointment_at >= as_of),
        "overdue": and_(open_at_end, Dossier.appointment_at < as_of),
    }
    statement = (
        select(key, *(_tally(condition).label(name) for name, condition in columns.items()))
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .where(Dossier.received_at < end,
               or_(Dossier.resolved_at.is_(None), Dossier.resolved_at >= start),
               # Submitted online and not yet accepted by reception: not received at all.
               Dossier.outcome.is_distinct_from(NOT_RECEIVED))
        .group_by(key)
    )
    return {row[0]: {name: int(row._mapping[name]) for name in COUNTS}
            for row in session.execute(statement)}


def _labels(session: Session, grouping: Grouping, lang: str) -> dict[str, str]:
    """Every field or procedure of the catalogue with its name, in the catalogue's order."""
    rows = session.execute(
        select(Procedure.code, Procedure.name, Procedure.name_en, Procedure.field,
               ProcedureVersion.meta)
        .outerjoin(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)
        .order_by(Procedure.field, Procedure.code))
    labels: dict[str, str] = {}
    for code, name, name_en, field, meta in rows:
        if grouping == Grouping.PROCEDURE:
            labels[code] = name_en if lang == "en" and name_en else name
        elif field not in labels:
            meta = meta or {}
            english = meta.get("field_name_en") if lang == "en" else None
            labels[field] = str(english or meta.get("field_name") or field)
    return labels
