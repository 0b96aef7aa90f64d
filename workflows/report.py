"""The statistics report (Biểu II.06a): its rows, totals, percentages and period."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflows.calendar import FIRST_YEAR, LAST_YEAR, in_sane_years


class Grouping(StrEnum):
    """What one row of the report stands for."""

    FIELD = "field"
    PROCEDURE = "procedure"


# The counts a row holds, in the order of the form's columns.
COUNTS = ("online", "in_person_post", "carried_over", "early", "on_time", "late",
          "within_deadline", "overdue")


@dataclass(frozen=True)
class ReportRow:
    """One row: a field or a procedure, or the total, with its dossier counts."""

    key: str
    label: str
    online: int = 0
    in_person_post: int = 0
    carried_over: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    within_deadline: int = 0
    overdue: int = 0

    @property
    def received(self) -> int:
        """Received online, in person or by post, plus carried over."""
        return self.online + self.in_person_post + self.carried_over

    @property
    def resolved(self) -> int:
        """Resolved early, on time or late."""
        return self.early + self.on_time + self.late

    @property
    def in_progress(self) -> int:
        """Still open at the end of the period, within deadline or overdue."""
        return self.within_deadline + self.overdue

    @property
    def early_pct(self) -> float:
        """Early as a percentage of resolved."""
        return percent(self.early, self.resolved)

    @property
    def on_time_pct(self) -> float:
        """On time as a percentage of resolved."""
        return percent(self.on_time, self.resolved)

    @property
    def late_pct(self) -> float:
        """Late as a percentage of resolved."""
        return percent(self.late, self.resolved)

    @property
    def early_or_on_time_pct(self) -> float:
        """Early or on time as a percentage of resolved (the national index counts both)."""
        return percent(self.early + self.on_time, self.resolved)

    def counts(self) -> dict[str, int]:
        """Every count, the derived totals included, by name."""
        values = {name: int(getattr(self, name)) for name in COUNTS}
        return {**values, "received": self.received, "resolved": self.resolved,
                "in_progress": self.in_progress}

    def percentages(self) -> dict[str, float]:
        """Every percentage by name."""
        return {"early_pct": self.early_pct, "on_time_pct": self.on_time_pct,
                "late_pct": self.late_pct, "early_or_on_time_pct": self.early_or_on_time_pct}


@dataclass(frozen=True)
class Report:
    """The report of one period: its rows and their total."""

    first: date
    last: date
    by: Grouping
    rows: list[ReportRow]

    @property
    def total(self) -> ReportRow:
        """The sum of every row."""
        return total(self.rows)


def percent(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, to 2 decimals (half up); 0 when `whole` is 0."""
    if whole == 0:
        return 0.0
    value = Decimal(part * 100) / Decimal(whole)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def total(rows: list[ReportRow], key: str = "total", label: str = "") -> ReportRow:
    """The row whose every count is the sum of the rows' counts."""
    sums = {f.name: sum(getattr(row, f.name) for row in rows)
            for f in fields(ReportRow) if f.name in COUNTS}
    return ReportRow(key, label, **sums)


def period_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants [first 00:00, last + 1 day 00:00) in the agency's time zone."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


_MESSAGES = {
    "missing": ("Vui lòng nhập ngày.", "Enter a date."),
    "bad_date": ("Ngày không hợp lệ: nhập theo dạng YYYY-MM-DD.",
                 "Not a valid date: use YYYY-MM-DD."),
    "order": ("Ngày kết thúc không được trước ngày bắt đầu.",
              "The last day must not be before the first day."),
    "year": ("Chọn ngày trong khoảng từ năm {first} đến năm {last}.",
             "Choose a date between the years {first} and {last}."),
    "by": ("Chọn tổng hợp theo lĩnh vực hoặc theo thủ tục.",
           "Choose a report by field or by procedure."),
}


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _message(kind: str, lang: str) -> str:
    return _MESSAGES[kind][1 if lang == "en" else 0]


def parse_query(first: str | None, last: str | None, by: str | None, lang: str = "vi"
                ) -> tuple[tuple[date, date, Grouping] | None, dict[str, str]]:
    """The period and grouping asked for, or the errors by field ("from", "to", "by")."""
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, value in (("from", first), ("to", last)):
        if not value or not value.strip():
            errors[name] = _message("missing", lang)
            continue
        try:
            if not _ISO_DAY.fullmatch(value.strip()):
                raise ValueError(value)
            days[name] = date.fromisoformat(value.strip())
        except ValueError:
            errors[name] = _message("bad_date", lang)
            continue
        if not in_sane_years(days[name]):
            errors[name] = _message("year", lang).format(first=FIRST_YEAR, last=LAST_YEAR)
            del days[name]
    if len(days) == 2 and days["from"] > days["to"]:
        errors["to"] = _message("order", lang)
    grouping = by or Grouping.FIELD.value
    if grouping not in {g.value for g in Grouping}:
        errors["by"] = _message("by", lang)
    if errors:
        return None, errors
    return (days["from"], days["to"], Grouping(grouping)), {}
