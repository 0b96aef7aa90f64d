"""An administrator's calendar overrides move the open deadlines they affect."""

from __future__ import annotations

from datetime import date

import pytest

from engine.bootstrap import Core
from engine.errors import Conflict, NotFound
from engine.models import Dossier
from engine.services import dossiers
from engine.services.working_days import remove_override, set_override
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, ready_tasks, receive


def test_an_extra_day_off_moves_open_appointments_and_step_deadlines(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00, check due 27/11
    done = receive(core, MONDAY_9AM)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign", "return_result"]:
        complete(core, done.code, bpmn_id, at(23, 10))
    result = set_override(core, date(2026, 11, 26), False, "Nghỉ bù", "admin", at(24, 10))
    assert (result.dossiers, result.tasks) == (1, 1)
    moved = dossiers.get_dossier(core, dossier.code).dossier
    assert moved.appointment_at == at(7, 9, month=12)       # Monday instead of Friday
    assert moved.original_appointment_at == at(4, 9, month=12)  # the receipt keeps its date
    assert ready_tasks(core, dossier.code)[0].due_at == at(30, 9)
    # Finished dossiers keep their dates.
    assert dossiers.get_dossier(core, done.code).dossier.appointment_at == at(4, 9, month=12)
    # New dossiers count with the override too.
    assert receive(core, at(25, 9)).appointment_at == at(8, 9, month=12)


def test_a_working_saturday_brings_deadlines_forward_and_removal_restores_them(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    set_override(core, date(2026, 11, 28), True, "Làm bù thứ Bảy", "admin", at(24, 10))
    assert dossiers.get_dossier(core, dossier.code).dossier.appointment_at == at(3, 9, month=12)
    remove_override(core, date(2026, 11, 28), "admin", at(24, 11))
    assert dossiers.get_dossier(core, dossier.code).dossier.appointment_at == at(4, 9, month=12)


def test_an_override_that_changes_nothing_is_refused(core: Core) -> None:
    with pytest.raises(Conflict):
        set_override(core, date(2026, 11, 29), False, "", "admin", at(24, 10))  # a Sunday
    with pytest.raises(Conflict):
        set_override(core, date(2026, 11, 25), True, "", "admin", at(24, 10))  # a Wednesday
    with pytest.raises(NotFound):
        remove_override(core, date(2026, 11, 25), "admin", at(24, 10))


def test_a_calendar_change_leaves_dossiers_not_yet_received_alone(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with core.uow() as uow:  # as an online submission waiting for reception looks
        waiting = uow.session.get_one(Dossier, dossier.id)
        waiting.instance_id, waiting.status, waiting.outcome = None, 1, "not_received"
        uow.commit()
    moved = set_override(core, date(2026, 11, 25), False, "Nghỉ bù", "admin",
                                      at(23, 10))
    assert moved.dossiers == 0
