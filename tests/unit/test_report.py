"""The report's maths: sums, totals, percentages of resolved, the period and its input."""

from __future__ import annotations

from datetime import UTC, date, datetime

from workflows.report import Grouping, ReportRow, parse_query, percent, period_bounds, total


def test_percentages_are_of_resolved_to_two_decimals_as_in_the_2017_example() -> None:
    row = ReportRow("all", "", early=2083, on_time=160, late=18)
    assert row.resolved == 2261
    assert (row.early_pct, row.on_time_pct, row.late_pct) == (92.13, 7.08, 0.80)
    assert row.early_or_on_time_pct == 99.20


def test_a_half_hundredth_is_rounded_up_not_to_even() -> None:
    assert percent(1, 800) == 0.13
    assert percent(3, 800) == 0.38


def test_nothing_resolved_gives_zero_percentages_not_a_division_error() -> None:
    row = ReportRow("x", "", online=3, within_deadline=3)
    assert row.percentages() == {"early_pct": 0.0, "on_time_pct": 0.0, "late_pct": 0.0,
                                 "early_or_on_time_pct": 0.0}


def test_received_resolved_and_in_progress_are_the_sums_of_their_parts() -> None:
    row = ReportRow("x", "", online=5, in_person_post=4, carried_over=3, early=2, on_time=1,
                    late=1, within_deadline=6, overdue=2)
    assert (row.received, row.resolved, row.in_progress) == (12, 4, 8)
    assert row.counts()["received"] == row.resolved + row.in_progress


def test_the_total_row_sums_every_count_and_recomputes_its_percentages() -> None:
    rows = [ReportRow("a", "A", online=1, early=1, late=1, overdue=2),
            ReportRow("b", "B", in_person_post=2, carried_over=1, on_time=2, within_deadline=1)]
    row = total(rows, label="Total")
    assert row.counts() == {"online": 1, "in_person_post": 2, "carried_over": 1, "early": 1,
                            "on_time": 2, "late": 1, "within_deadline": 1, "overdue": 2,
                            "received": 4, "resolved": 4, "in_progress": 3}
    assert (row.label, row.early_or_on_time_pct) == ("Total", 75.0)


def test_a_period_runs_from_midnight_of_the_first_day_to_midnight_after_the_last_in_hanoi(
        ) -> None:
    start, end = period_bounds(date(2026, 3, 1), date(2026, 3, 31), "Asia/Ho_Chi_Minh")
    assert start.astimezone(UTC) == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)


def test_a_query_reads_iso_days_and_defaults_to_rows_by_field() -> None:
    assert parse_query("2026-03-01", "2026-03-01", None) == (
        (date(2026, 3, 1), date(2026, 3, 1), Grouping.FIELD), {})
    assert parse_query("2026-03-01", "2026-03-31", "procedure")[0] == (
        date(2026, 3, 1), date(2026, 3, 31), Grouping.PROCEDURE)


def test_a_query_with_missing_or_malformed_days_is_refused_field_by_field() -> None:
    query, errors = parse_query("", "2026-02-30", "month")
    assert query is None
    assert errors == {"from": "Vui lòng nhập ngày.",
                      "to": "Ngày không hợp lệ: nhập theo dạng YYYY-MM-DD.",
                      "by": "Chọn tổng hợp theo lĩnh vực hoặc theo thủ tục."}
    assert parse_query("20260301", "2026-03-31", None, "en")[1] == {
        "from": "Not a valid date: use YYYY-MM-DD."}


def test_days_outside_the_years_2000_to_2100_are_refused_on_their_field() -> None:
    query, errors = parse_query("0001-01-01", "9999-12-31", "field", "en")
    assert query is None
    assert errors == {"from": "Choose a date between the years 2000 and 2100.",
                      "to": "Choose a date between the years 2000 and 2100."}
    assert parse_query("1999-12-31", "2026-01-01", None)[1] == {
        "from": "Chọn ngày trong khoảng từ năm 2000 đến năm 2100."}
    assert parse_query("2000-01-01", "2100-12-31", None)[1] == {}


def test_a_period_that_ends_before_it_begins_is_refused() -> None:
    query, errors = parse_query("2026-03-31", "2026-03-01", "field", "en")
    assert query is None
    assert errors == {"to": "The last day must not be before the first day."}
