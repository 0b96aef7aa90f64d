"""Dates counted by hand across Tết, a swapped Saturday and the afternoon cut-off."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import Core
from engine.services.tracking import tracking_sheet
from tests.conftest import HANOI
from tests.engine.walk import ready_tasks, receive


def hanoi(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Hanoi time."""
    return datetime(year, month, day, hour, minute, tzinfo=HANOI)


def test_a_dossier_received_after_the_cut_off_on_the_eve_of_tet_2027(core: Core) -> None:
    # Wednesday 3/2/2027 15:30 is after the 15:00 cut-off; Tết 2027 is off from Thursday 4/2
    # to Wednesday 10/2, so the clock starts on Thursday 11/2 07:30. Eight working days:
    # 12, 15, 16, 17, 18, 19, 22, 23 → Tuesday 23/2/2027 07:30. The specialist's check (three
    # working days from the same start): 12, 15, 16 → Tuesday 16/2/2027 07:30.
    dossier = receive(core, hanoi(2027, 2, 3, 15, 30))
    assert dossier.appointment_at == hanoi(2027, 2, 23, 7, 30)
    [task] = ready_tasks(core, dossier.code)
    assert task.due_at == hanoi(2027, 2, 16, 7, 30)
    sheet = tracking_sheet(core, dossier.code, hanoi(2027, 2, 11, 8))
    assert sheet.dossier.appointment_at == dossier.appointment_at
    assert sheet.handoffs[0].due_at == task.due_at


def test_a_swapped_saturday_is_worked_and_the_swapped_friday_is_not(core: Core) -> None:
    # 2025: Saturday 26/4 is worked in exchange for Friday 2/5; 30/4 and 1/5 are holidays.
    # From Friday 25/4 09:00, eight working days: 26/4, 28, 29, 5/5, 6, 7, 8, 9 → Friday 9/5.
    # The check (three working days): 26/4, 28, 29 → Tuesday 29/4/2025 09:00.
    dossier = receive(core, hanoi(2025, 4, 25, 9))
    assert dossier.appointment_at == hanoi(2025, 5, 9, 9)
    assert ready_tasks(core, dossier.code)[0].due_at == hanoi(2025, 4, 29, 9)
