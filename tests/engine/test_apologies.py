"""Apology letters: drafted with a proposed date, approved by the leader, still late."""

from __future__ import annotations

from datetime import date

import pytest

from engine.bootstrap import Core
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.services import apologies, dossiers, working_days
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, receive, user


def test_the_system_proposes_a_date_the_leader_approves_and_the_dossier_is_still_late(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    proposal = apologies.propose(core, dossier.code, at(3, 9, month=12))
    # The check (3 working days) is still waiting: 4/12 09:00 + 3 days = 9/12 09:00.
    assert proposal.new_appointment_at == at(9, 9, month=12)
    letter = apologies.draft(core, user(core, "head"), dossier.code,
                             "Chờ kết quả xác minh của Công an tỉnh", at(9, 9, month=12),
                             at(3, 9, month=12))
    with pytest.raises(Forbidden):
        apologies.decide(core, user(core, "head"), letter.id, True, "", at(3, 10, month=12))
    apologies.decide(core, user(core, "leader"), letter.id, True, "Đồng ý", at(3, 10, month=12))
    [row] = apologies.letters(core, code=dossier.code)
    assert (row.apology.state, row.decided_by) == ("approved", "Leader")
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign"]:
        complete(core, dossier.code, bpmn_id, at(8, 9, month=12))
    assert dossiers.get_dossier(core, dossier.code).dossier.outcome == "late"


def test_a_letter_needs_a_reason_and_a_later_date(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with pytest.raises(InvalidInput) as error:
        apologies.draft(core, user(core, "reception"), dossier.code, "trễ", at(2, 9, month=12),
                        at(1, 9, month=12))
    assert set(error.value.fields) == {"reason", "new_date"}
    with pytest.raises(Forbidden):
        apologies.draft(core, user(core, "specialist"), dossier.code, "Lý do đầy đủ ở đây",
                        at(9, 9, month=12), at(1, 9, month=12))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_letter_cannot_promise_a_day_the_agency_does_not_work(core: Core, lang: str) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    working_days.set_override(core, date(2026, 12, 8), False, "Nghỉ bù", "admin",
                              at(1, 9, month=12))
    reception = user(core, "reception")
    reason = "Chờ kết quả xác minh của Công an tỉnh"
    # Saturday, Sunday, and a Tuesday the administrator made a day off.
    for chosen, suggested in [(5, "07/12/2026"), (6, "07/12/2026"), (8, "09/12/2026")]:
        with pytest.raises(InvalidInput) as error:
            apologies.draft(core, reception, dossier.code, reason, at(chosen, 11, 30, month=12),
                            at(1, 9, month=12), lang)
        assert suggested in error.value.fields["new_date"]
    apologies.draft(core, reception, dossier.code, reason, at(7, 11, 30, month=12),
                    at(1, 9, month=12), lang)


def test_a_letter_must_promise_a_later_day_than_the_current_appointment(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    with pytest.raises(InvalidInput) as error:  # later in the day is not a later date
        apologies.draft(core, user(core, "reception"), dossier.code,
                        "Chờ kết quả xác minh của Công an tỉnh", at(4, 11, 30, month=12),
                        at(1, 9, month=12))
    assert set(error.value.fields) == {"new_date"}


def test_one_letter_at_a_time_and_none_for_a_finished_dossier(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    apologies.draft(core, user(core, "head"), dossier.code, "Chờ xác minh thông tin",
                    at(9, 9, month=12), at(1, 9, month=12))
    with pytest.raises(Conflict):
        apologies.draft(core, user(core, "head"), dossier.code, "Chờ xác minh thông tin",
                        at(10, 9, month=12), at(1, 9, month=12))
    done = receive(core, MONDAY_9AM)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign", "return_result"]:
        complete(core, done.code, bpmn_id, at(23, 10))
    with pytest.raises(Conflict):
        apologies.propose(core, done.code, at(24, 9))
