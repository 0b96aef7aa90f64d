"""Dossier codes and the outcome of a finished dossier."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.codes import dossier_code
from workflows.deadlines import Outcome, Standing, classify_outcome, standing

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_code_has_the_agency_the_day_and_a_four_digit_sequence() -> None:
    assert dossier_code("000.00.18.H57", date(2017, 3, 12), 42) == "000.00.18.H57-170312-0042"


def test_a_sequence_beyond_four_digits_is_refused() -> None:
    with pytest.raises(ValueError):
        dossier_code("X", date(2026, 1, 2), 10_000)


def test_outcome_compares_local_days_not_instants() -> None:
    appointment = datetime(2026, 12, 4, 9, 0, tzinfo=HANOI)
    assert classify_outcome(datetime(2026, 12, 3, 16, 0, tzinfo=HANOI), appointment,
                            "Asia/Ho_Chi_Minh") == Outcome.EARLY
    assert classify_outcome(datetime(2026, 12, 4, 16, 30, tzinfo=HANOI), appointment,
                            "Asia/Ho_Chi_Minh") == Outcome.ON_TIME
    # 00:30 on the 5th in Hanoi is still the 4th in UTC: the local day decides.
    assert classify_outcome(datetime(2026, 12, 5, 0, 30, tzinfo=HANOI), appointment,
                            "Asia/Ho_Chi_Minh") == Outcome.LATE


def test_an_open_step_is_overdue_only_after_its_deadline() -> None:
    due = datetime(2026, 11, 27, 9, 0, tzinfo=HANOI)
    assert standing(due, due) == Standing.WITHIN_DEADLINE
    assert standing(due, due.replace(minute=1)) == Standing.OVERDUE
