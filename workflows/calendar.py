"""Working days and working time of an agency: the clock that deadlines are counted on."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import holidays

# A working day has two half-day slots; a slot is (day, 0) for the morning, (day, 1) for the
# afternoon. Slots are half-open [start, end): the end instant of a session belongs to the break
# after it, so a computed deadline is always strictly inside office hours.
Slot = tuple[date, int]
_MICROSECOND = timedelta(microseconds=1)
# The years an agency's dates may fall in: far beyond them, date arithmetic overflows and the
# holiday rules mean nothing.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def in_sane_years(day: date) -> bool:
    """Whether `day` falls in the years an agency's calendar and reports cover."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


@dataclass(frozen=True)
class OfficeHours:
    """Office hours of an agency: a morning and an afternoon session, in its time zone."""

    morning_start: time = time(7, 30)
    morning_end: time = time(11, 30)
    afternoon_start: time = time(13, 30)
    afternoon_end: time = time(17, 0)
    timezone: str = "Asia/Ho_Chi_Minh"
    # Dossiers received at or after the cut-off start counting the next working morning.
    cutoff: time | None = time(15, 0)

    def __post_init__(self) -> None:
        """Reject sessions that overlap or run backwards, and unknown time zones."""
        ZoneInfo(self.timezone)  # Fails early on a misspelt zone rather than at first use.
        if not (self.morning_start < self.morning_end <= self.afternoon_start
                < self.afternoon_end):
            raise ValueError(
                "Office hours must be in order: morning start < morning end <= afternoon start"
                " < afternoon end; check the agency's office-hours settings."
            )


class WorkingCalendar:
    """Working days and working-time arithmetic of one agency."""

    def __init__(self, hours: OfficeHours = OfficeHours(), days_off: Iterable[date] = (),
                 working_days: Iterable[date] = (), years: Iterable[int] | None = None) -> None:
        """Build a calendar from office hours, the public holidays and administrator overrides."""
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)
        self.days_off = frozenset(days_off)
        self.working_days = frozenset(working_days)
        # The package expands to any year on lookup; `years` only pre-loads them.
        self._holidays = holidays.country_holidays("VN", years=list(years) if years else None)
        # A calendar never changes once built (overrides make a new one): answers are cached,
        # since every deadline asks the same few hundred days again and again.
        self._working: dict[date, bool] = {}
        self._slot_bounds: dict[Slot, tuple[datetime, datetime]] = {}

    def is_working_day(self, day: date) -> bool:
        """Whether the agency works on `day` (overrides win over holidays and weekends)."""
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = self._is_working_day(day)
        return known

    def _is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if day in self.working_days:
            return True
        # The membership test loads the year, including its swapped working Saturdays, which
        # the package's is_working_day reads without loading them itself.
        if day in self._holidays:
            return False
        return self._holidays.is_working_day(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def start_of_work(self, moment: datetime) -> datetime:
        """The instant work on something received at `moment` starts, in UTC."""
        moment = _as_utc(moment)
        day = moment.astimezone(self.zone).date()
        if self.is_working_day(day):
            for half in (0, 1):
                start, end = self._bounds((day, half))
                if moment < start:
                    return start
                if moment < end:
                    return moment
        return self._bounds((self.next_working_day(day), 0))[0]

    def receipt_start(self, moment: datetime) -> datetime:
        """When the clock of a dossier received at `moment` starts (the cut-off applies)."""
        local = _as_utc(moment).astimezone(self.zone)
        cutoff = self.hours.cutoff
        if cutoff is not None and self.is_working_day(local.date()) and local.time() >= cutoff:
            return self._bounds((self.next_working_day(local.date()), 0))[0]
        return self.start_of_work(moment)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of office hours after work starts on `start`."""
        moment = self.start_of_work(start)
        remaining = timedelta(seconds=seconds)
        slot = self._slot_of(moment)
        while remaining >= self._bounds(slot)[1] - moment:
            remaining -= self._bounds(slot)[1] - moment
            slot = self._advance(slot, 1)
            moment = self._bounds(slot)[0]
        return moment + remaining

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The instant `days` working days (a multiple of 0.5) after work starts on `start`."""
        if not (math.isfinite(days) and days >= 0 and float(days * 2).is_integer()):
            raise ValueError(
                f"A duration in working days must be 0 or a positive multiple of 0.5"
                f" (such as 0.5, 1 or 10); got {days!r}."
            )
        begin = self.start_of_work(start)
        slot = self._slot_of(begin)
        slot_start, slot_end = self._bounds(slot)
        # Keep the position inside the half-day, so a morning receipt is due in a morning. An
        # exact fraction, not a float: chained additions then equal a single one (to the
        # microsecond for whole-second inputs; within 1 µs of rounding otherwise).
        elapsed = Fraction(_micros(begin - slot_start), _micros(slot_end - slot_start))
        target_start, target_end = self._bounds(self._advance(slot, round(days * 2)))
        offset = timedelta(microseconds=round(elapsed * _micros(target_end - target_start)))
        # elapsed < 1, but rounding into a longer session could reach its end: stay inside.
        return min(target_start + offset, target_end - _MICROSECOND)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of office hours between two instants; 0 when `end` is not after `start`."""
        start, end = _as_utc(start), _as_utc(end)
        if end <= start:
            return 0.0
        total = timedelta()
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            if self.is_working_day(day):
                for half in (0, 1):
                    slot_start, slot_end = self._bounds((day, half))
                    overlap = min(end, slot_end) - max(start, slot_start)
                    total += max(overlap, timedelta())
            day += timedelta(days=1)
        return total.total_seconds()

    def _bounds(self, slot: Slot) -> tuple[datetime, datetime]:
        """Start and end of a half-day slot, in UTC."""
        known = self._slot_bounds.get(slot)
        if known is None:
            known = self._slot_bounds[slot] = self._compute_bounds(slot)
        return known

    def _compute_bounds(self, slot: Slot) -> tuple[datetime, datetime]:
        day, half = slot
        first, last = ((self.hours.morning_start, self.hours.morning_end) if half == 0
                       else (self.hours.afternoon_start, self.hours.afternoon_end))
        # Converted to UTC at once: aware datetimes sharing a zone subtract as wall clocks.
        return (datetime.combine(day, first, self.zone).astimezone(UTC),
                datetime.combine(day, last, self.zone).astimezone(UTC))

    def _slot_of(self, moment: datetime) -> Slot:
        """The slot holding `moment`, which must be inside office hours of a working day."""
        day = moment.astimezone(self.zone).date()
        return (day, 0 if moment < self._bounds((day, 0))[1] else 1)

    def _advance(self, slot: Slot, count: int) -> Slot:
        """The slot `count` half-days after `slot`, skipping non-working days."""
        day, half = slot
        index = half + count
        for _ in range(index // 2):
            day = self.next_working_day(day)
        return (day, index % 2)


def _micros(duration: timedelta) -> int:
    """`duration` as a whole number of microseconds."""
    return duration // _MICROSECOND


def _as_utc(moment: datetime) -> datetime:
    """`moment` in UTC, refusing naive datetimes whose zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"Expected a timezone-aware datetime; got naive {moment.isoformat()}.")
    return moment.astimezone(UTC)
