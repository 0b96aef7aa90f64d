from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.calendar import OfficeHours, WorkingCalendar

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkingCalendar()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=HANOI)


def due(start: datetime, days: float, calendar: WorkingCalendar = CALENDAR) -> datetime:
    return calendar.add_working_days(start, days).astimezone(HANOI)


# Working days, as holidays.Vietnam states them.

def test_tet_2017_runs_from_26_january_to_1_february() -> None:
    tet = [date(2017, 1, 26) + timedelta(days=n) for n in range(7)]
    assert not any(CALENDAR.is_working_day(day) for day in tet)
    assert CALENDAR.is_working_day(date(2017, 1, 25))
    assert CALENDAR.is_working_day(date(2017, 2, 2))


def test_tet_2017_is_skipped() -> None:
    assert due(local(2017, 1, 25, 9, 0), 1) == local(2017, 2, 2, 9, 0)


def test_tet_2027_is_skipped() -> None:
    assert CALENDAR.next_working_day(date(2027, 2, 3)) == date(2027, 2, 11)
    assert due(local(2027, 2, 3, 13, 30), 0.5) == local(2027, 2, 11, 7, 30)


def test_reunification_day_labour_day_and_the_swapped_friday_are_skipped() -> None:
    # 2025: 30/4 Wed, 1/5 Thu, and Fri 2/5 taken off in exchange for Sat 26/4.
    assert due(local(2025, 4, 29, 9, 0), 1) == local(2025, 5, 5, 9, 0)


def test_the_saturday_worked_in_exchange_for_a_day_off_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2025, 4, 26))
    assert due(local(2025, 4, 25, 9, 0), 1) == local(2025, 4, 26, 9, 0)


def test_national_day_and_its_adjacent_day_are_skipped() -> None:
    # 2025: Mon 1/9 and Tue 2/9; 2027: Thu 2/9 and Fri 3/9.
    assert due(local(2025, 8, 29, 10, 0), 1) == local(2025, 9, 3, 10, 0)
    assert due(local(2027, 9, 1, 10, 0), 1) == local(2027, 9, 6, 10, 0)


def test_a_weekend_is_skipped() -> None:
    assert not CALENDAR.is_working_day(date(2025, 3, 8))
    assert due(local(2025, 3, 7, 10, 0), 1) == local(2025, 3, 10, 10, 0)


def test_an_administrators_working_saturday_counts() -> None:
    calendar = WorkingCalendar(working_days=[date(2025, 3, 8)])
    assert due(local(2025, 3, 7, 10, 0), 1, calendar) == local(2025, 3, 8, 10, 0)


def test_an_administrators_extra_day_off_is_skipped() -> None:
    calendar = WorkingCalendar(days_off=[date(2025, 3, 10)])
    assert due(local(2025, 3, 7, 10, 0), 1, calendar) == local(2025, 3, 11, 10, 0)


def test_administrator_overrides_win_over_public_holidays() -> None:
    calendar = WorkingCalendar(working_days=[date(2017, 1, 30)], days_off=[date(2025, 4, 26)])
    assert calendar.is_working_day(date(2017, 1, 30))
    assert not calendar.is_working_day(date(2025, 4, 26))


def test_any_year_is_known_even_when_others_were_preloaded() -> None:
    calendar = WorkingCalendar(years=[2025])
    assert not calendar.is_working_day(date(2040, 1, 1))
    assert not calendar.is_working_day(date(2024, 4, 29))  # swapped for Sat 4/5/2024
    assert calendar.is_working_day(date(2024, 5, 4))


# When work starts.

def test_received_before_office_hours_starts_that_morning() -> None:
    assert CALENDAR.start_of_work(local(2025, 3, 3, 6, 0)) == local(2025, 3, 3, 7, 30)
    assert due(local(2025, 3, 3, 6, 0), 1) == local(2025, 3, 4, 7, 30)


def test_received_after_office_hours_starts_the_next_working_morning() -> None:
    assert due(local(2025, 3, 7, 18, 0), 0) == local(2025, 3, 10, 7, 30)
    assert due(local(2025, 3, 3, 17, 0), 1) == local(2025, 3, 5, 7, 30)


def test_received_at_lunch_starts_in_the_afternoon() -> None:
    assert due(local(2025, 3, 3, 12, 0), 0) == local(2025, 3, 3, 13, 30)
    assert due(local(2025, 3, 3, 11, 30), 1) == local(2025, 3, 4, 13, 30)


def test_received_on_sunday_starts_on_monday_morning() -> None:
    assert due(local(2025, 3, 9, 10, 0), 1) == local(2025, 3, 11, 7, 30)


def test_received_during_office_hours_starts_at_once_and_in_utc() -> None:
    start = CALENDAR.start_of_work(datetime(2025, 3, 3, 2, 30, tzinfo=UTC))
    assert start == local(2025, 3, 3, 9, 30) and start.tzinfo is UTC


# Adding working days.

def test_zero_days_is_the_start_of_work() -> None:
    assert due(local(2025, 3, 3, 9, 30), 0) == local(2025, 3, 3, 9, 30)


def test_half_a_day_from_the_morning_is_the_same_point_of_the_afternoon() -> None:
    assert due(local(2025, 3, 3, 9, 30), 0.5) == local(2025, 3, 3, 15, 15)


def test_half_a_day_from_the_afternoon_is_the_same_point_of_the_next_morning() -> None:
    # 30 of the afternoon's 210 minutes = 1/7 of the morning's 240 minutes.
    assert due(local(2025, 3, 3, 14, 0), 0.5) == local(2025, 3, 4, 8, 4, 17, 142857)


def test_one_day_is_the_same_time_the_next_working_day() -> None:
    assert due(local(2025, 3, 3, 9, 30), 1) == local(2025, 3, 4, 9, 30)


def test_ten_days_for_a_judicial_record_skip_the_april_holidays() -> None:
    assert due(local(2025, 4, 24, 9, 0), 10) == local(2025, 5, 12, 9, 0)


def test_another_provinces_office_hours_are_used() -> None:
    hours = OfficeHours(morning_start=time(8), morning_end=time(12),
                        afternoon_start=time(13), afternoon_end=time(17))
    calendar = WorkingCalendar(hours)
    assert due(local(2025, 3, 3, 7, 45), 1, calendar) == local(2025, 3, 4, 8, 0)
    assert due(local(2025, 3, 3, 12, 30), 0.5, calendar) == local(2025, 3, 4, 8, 0)


@pytest.mark.parametrize("days", [-1, 0.3, 1.25, float("nan"), float("inf")])
def test_a_duration_that_is_not_a_multiple_of_half_a_day_is_refused(days: float) -> None:
    with pytest.raises(ValueError, match="multiple of 0.5"):
        CALENDAR.add_working_days(local(2025, 3, 3, 9), days)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.start_of_work(datetime(2025, 3, 3, 9))


def test_office_hours_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="in order"):
        OfficeHours(morning_end=time(14))


# Working time between two instants.

def test_working_seconds_count_only_office_hours() -> None:
    seconds = CALENDAR.working_seconds_between
    assert seconds(local(2025, 3, 3, 11), local(2025, 3, 3, 14)) == 3600
    assert seconds(local(2025, 3, 3, 7, 30), local(2025, 3, 4, 7, 30)) == 7.5 * 3600
    assert seconds(local(2025, 3, 7, 17), local(2025, 3, 10, 7, 30)) == 0
    assert seconds(local(2025, 3, 4), local(2025, 3, 3)) == 0


# Properties.

# Whole seconds: finer instants may move by 1 µs of rounding between the two session lengths.
instants = st.integers(
    int(datetime(2017, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2030, 12, 31, tzinfo=UTC).timestamp()),
).map(lambda seconds: datetime.fromtimestamp(seconds, UTC))
durations = st.integers(0, 40).map(lambda halves: halves / 2)


def is_inside_office_hours(moment: datetime) -> bool:
    clock = moment.astimezone(HANOI).time()
    return (CALENDAR.is_working_day(moment.astimezone(HANOI).date())
            and (time(7, 30) <= clock < time(11, 30) or time(13, 30) <= clock < time(17)))


@settings(max_examples=60, deadline=None)
@given(instants, durations)
def test_a_due_date_is_always_within_office_hours_of_a_working_day(
        start: datetime, days: float) -> None:
    result = CALENDAR.add_working_days(start, days)
    assert result.tzinfo is UTC
    assert is_inside_office_hours(result)
    assert CALENDAR.start_of_work(result) == result


@settings(max_examples=60, deadline=None)
@given(instants, instants, durations)
def test_a_later_receipt_is_never_due_earlier(
        first: datetime, second: datetime, days: float) -> None:
    earlier, later = sorted([first, second])
    assert CALENDAR.add_working_days(earlier, days) <= CALENDAR.add_working_days(later, days)


@settings(max_examples=60, deadline=None)
@given(instants, durations, durations)
def test_a_longer_duration_is_never_due_earlier(start: datetime, a: float, b: float) -> None:
    shorter, longer = sorted([a, b])
    assert CALENDAR.add_working_days(start, shorter) <= CALENDAR.add_working_days(start, longer)


@settings(max_examples=60, deadline=None)
@given(instants, durations, durations)
def test_adding_in_two_steps_equals_adding_at_once(start: datetime, a: float, b: float) -> None:
    add = CALENDAR.add_working_days
    assert add(add(start, a), b) == add(start, a + b)


@settings(max_examples=60, deadline=None)
@given(instants, st.integers(0, 20))
def test_whole_days_span_whole_days_of_office_hours(start: datetime, days: int) -> None:
    begin = CALENDAR.start_of_work(start)
    end = CALENDAR.add_working_days(start, days)
    assert CALENDAR.working_seconds_between(begin, end) == pytest.approx(days * 7.5 * 3600)


def test_a_dossier_received_after_the_cut_off_counts_from_the_next_morning() -> None:
    calendar = WorkingCalendar()
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    before = datetime(2026, 11, 23, 14, 59, tzinfo=hanoi)
    after = datetime(2026, 11, 23, 15, 0, tzinfo=hanoi)
    assert calendar.receipt_start(before) == before.astimezone(UTC)
    # 24/11/2026 is Vietnam Cultural Day: the next working morning is Wednesday's.
    assert calendar.receipt_start(after) == datetime(2026, 11, 25, 7, 30, tzinfo=hanoi)


def test_adding_working_seconds_crosses_lunch_nights_and_holidays() -> None:
    calendar = WorkingCalendar()
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    start = datetime(2026, 11, 23, 11, 0, tzinfo=hanoi)
    assert calendar.add_working_seconds(start, 1800) == datetime(2026, 11, 23, 13, 30,
                                                                 tzinfo=hanoi)
    assert calendar.add_working_seconds(start, 3600) == datetime(2026, 11, 23, 14, 0,
                                                                 tzinfo=hanoi)
    # One working day (7.5 h) later, skipping the holiday on 24/11.
    assert calendar.add_working_seconds(start, 7.5 * 3600) == datetime(2026, 11, 25, 11, 0,
                                                                       tzinfo=hanoi)
    assert calendar.working_seconds_between(start, calendar.add_working_seconds(
        start, 12345)) == 12345
