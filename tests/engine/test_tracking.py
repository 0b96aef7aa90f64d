"""The tracking sheet lists every hand-off with its deadline and whether it was kept."""

from __future__ import annotations

from engine.bootstrap import Core
from engine.demo import step_data
from engine.services.tracking import tracking_sheet
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, receive


def test_each_hand_off_shows_who_gave_it_when_it_was_due_and_how_it_went(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(25, 10))       # due 27/11: early
    complete(core, dossier.code, "draft_certificate", at(30, 9))     # due 27/11 10:00: late
    complete(core, dossier.code, "review", at(30, 16))               # due 1/12 09:00: early
    sheet = tracking_sheet(core, dossier.code, at(1, 8, month=12))
    assert sheet.received_by == "Reception"
    rows = [(h.step, h.handed_by, h.done_by, h.result) for h in sheet.handoffs]
    assert rows == [
        ("Kiểm tra hồ sơ, tra cứu thông tin lý lịch tư pháp", "Reception", "Specialist", "early"),
        ("Dự thảo Phiếu lý lịch tư pháp", "Specialist", "Specialist", "late"),
        ("Kiểm tra, trình ký", "Specialist", "Head", "early"),
        ("Ký Phiếu lý lịch tư pháp", "Head", None, "within_deadline"),
    ]
    assert sheet.handoffs[0].due_at == at(27, 9)
    assert sheet.handoffs[1].due_at == at(27, 10)  # 2 working days from 25/11 10:00
    late = tracking_sheet(core, dossier.code, at(2, 9, month=12))  # sign was due 1/12 16:00
    assert late.handoffs[-1].result == "overdue"


def test_pauses_appear_on_the_sheet(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    complete(core, dossier.code, "receive_supplement", at(25, 10))
    sheet = tracking_sheet(core, dossier.code, at(25, 11))
    [pause] = sheet.pauses
    assert (pause.reason, pause.working_seconds) == ("supplement", 7.5 * 3600)
    assert sheet.dossier.appointment_at == at(7, 9, month=12)
    assert sheet.dossier.original_appointment_at == at(4, 9, month=12)
