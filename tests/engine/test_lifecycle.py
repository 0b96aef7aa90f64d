"""A judicial record dossier walks its procedure on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import DossierNotice, Event, ProcessInstance
from engine.projections import SupplementLimitReached
from engine.services import dossiers, tasks
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, ready_tasks, receive, user
from workflows.statuses import DossierStatus

MAIN_PATH = ["check_records", "draft_certificate", "review", "sign", "return_result"]


def test_receiving_a_dossier_gives_a_code_an_appointment_and_a_first_task(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    assert dossier.code == "000.00.18.H57-261123-0001"
    # 8 committed working days from Monday 23/11/2026 09:00, skipping the weekend and
    # Vietnam Cultural Day (Tuesday 24/11, a public holiday from 2026): Friday 4/12 09:00.
    assert dossier.appointment_at == at(4, 9, month=12)
    [task] = ready_tasks(core, dossier.code)
    assert (task.bpmn_id, task.role) == ("check_records", "specialist")
    assert task.due_at == at(27, 9)  # a step of 3 working days, 24/11 off
    assert dossiers.get_dossier(core, dossier.code).dossier.status == DossierStatus.PROCESSING


def test_codes_follow_a_daily_sequence_per_agency(core: Core) -> None:
    codes = [receive(core, MONDAY_9AM + timedelta(minutes=i)).code for i in range(3)]
    codes.append(receive(core, at(24, 9)).code)
    assert codes == ["000.00.18.H57-261123-0001", "000.00.18.H57-261123-0002",
                     "000.00.18.H57-261123-0003", "000.00.18.H57-261124-0001"]


def test_a_dossier_walks_the_main_path_to_result_returned(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    moment = MONDAY_9AM
    for bpmn_id in MAIN_PATH:
        moment += timedelta(hours=2)
        complete(core, dossier.code, bpmn_id, moment)
    detail = dossiers.get_dossier(core, dossier.code)
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED
    assert detail.dossier.outcome == "early"
    assert detail.dossier.resolved_at == MONDAY_9AM + timedelta(hours=8)
    assert detail.dossier.returned_at == moment
    assert [t.bpmn_id for t in detail.tasks if t.state == "completed"] == MAIN_PATH
    assert not ready_tasks(core, dossier.code)
    statuses = [e.data["to"] for e in detail.events if e.kind == "status_changed"]
    assert statuses == [4, 9, 10]


def test_an_incomplete_dossier_goes_back_for_a_supplement_once(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    detail = dossiers.get_dossier(core, dossier.code)
    assert detail.dossier.status == DossierStatus.SUPPLEMENT_REQUESTED
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == ["receive_supplement"]
    [notice] = _notices(core, detail.dossier.id)
    assert (notice.kind, notice.issued_by, notice.answered_at) == ("supplement", "specialist",
                                                                   None)
    assert notice.items and all(item.strip() for item in notice.items)
    complete(core, dossier.code, "receive_supplement", at(24, 10))
    assert dossiers.get_dossier(core, dossier.code).dossier.status == DossierStatus.PROCESSING
    assert [n.answered_at for n in _notices(core, detail.dossier.id)] == [at(24, 10)]
    with pytest.raises(SupplementLimitReached):
        complete(core, dossier.code, "check_records", at(24, 11),
                 step_data("check_records", "2026-11-24", complete=False))
    # The refusal changed nothing: the check is still waiting.
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == ["check_records"]
    for bpmn_id in MAIN_PATH:
        complete(core, dossier.code, bpmn_id, at(25, 9))
    final = dossiers.get_dossier(core, dossier.code).dossier
    assert (final.status, final.supplement_rounds) == (DossierStatus.RESULT_RETURNED, 1)


def test_verification_by_the_police_and_a_rejected_review_take_their_paths(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    data = step_data("check_records", "2026-11-23") | {"needs_verification": True}
    complete(core, dossier.code, "check_records", at(23, 10), data)
    complete(core, dossier.code, "request_police_verification", at(24, 10), {
        "verification_request_date": "2026-11-23", "verification_reply_number": "15/CA-PV06",
        "verification_reply_date": "2026-11-24", "verification_result": "no_record"})
    complete(core, dossier.code, "draft_certificate", at(24, 14))
    complete(core, dossier.code, "review", at(25, 9), {"review_approved": False,
                                                        "review_comment": "Sửa số phiếu"})
    assert [t.bpmn_id for t in ready_tasks(core, dossier.code)] == ["draft_certificate"]
    for bpmn_id in MAIN_PATH[1:]:
        complete(core, dossier.code, bpmn_id, at(25, 14))
    assert dossiers.get_dossier(core, dossier.code).dossier.status == 10


def test_a_form_with_errors_is_refused_with_a_message_per_field(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    with pytest.raises(InvalidInput) as error:
        tasks.complete_task(core, user(core, "specialist"), task.id,
                            {"dossier_complete": "yes"}, at(23, 10))
    assert set(error.value.fields) == {"dossier_complete", "residence_history",
                                       "needs_verification"}
    assert ready_tasks(core, dossier.code)[0].id == task.id


def test_an_officer_cannot_act_on_another_roles_task(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    with pytest.raises(Forbidden):
        tasks.complete_task(core, user(core, "head"), task.id,
                            step_data("check_records", "2026-11-23"), at(23, 10))


def test_a_completed_task_cannot_be_completed_again(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    complete(core, dossier.code, "check_records", at(23, 10))
    with pytest.raises(Conflict):
        tasks.complete_task(core, user(core, "specialist"), task.id,
                            step_data("check_records", "2026-11-23"), at(23, 11))


def test_a_claimed_task_is_hidden_from_colleagues_and_can_be_given_back(core: Core) -> None:
    from engine.services import accounts

    other = accounts.create_user(core, username="specialist2", password="pw",
                                 full_name="Second", roles=["specialist"])
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    tasks.claim_task(core, user(core, "specialist"), task.id, at(23, 10))
    assert tasks.list_tasks(core, other) == []
    with pytest.raises(Conflict):
        tasks.claim_task(core, other, task.id, at(23, 10))
    tasks.unclaim_task(core, user(core, "specialist"), task.id, at(23, 11))
    assert [row.task.id for row in tasks.list_tasks(core, other)] == [task.id]


def test_each_save_bumps_the_revision_and_records_growth(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10))
    with core.uow() as uow:
        instance = uow.session.get_one(ProcessInstance, dossier.instance_id)
        events = uow.session.query(Event).filter_by(dossier_id=dossier.id).count()
    assert instance.revision == 2
    assert instance.task_count > 5 and instance.depth > 3
    assert b'"spec_hash"' in instance.state and b'"task_specs"' not in instance.state
    assert events >= 3


def test_a_supplement_request_pauses_the_clock_and_moves_the_appointment(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    # The applicant brings the documents two working days later (24/11 is a holiday):
    # 23/11 10:00 → 26/11 10:00 is 15 working hours (two working days), so the appointment
    # moves from Friday 4/12 09:00 to Tuesday 8/12 09:00.
    complete(core, dossier.code, "receive_supplement", at(26, 10))
    detail = dossiers.get_dossier(core, dossier.code)
    assert detail.dossier.original_appointment_at == at(4, 9, month=12)
    assert detail.dossier.appointment_at == at(8, 9, month=12)
    kinds = [e.kind for e in detail.events]
    assert kinds.count("paused") == 1 and kinds.count("resumed") == 1
    from engine.models import DossierPause

    with core.uow() as uow:
        [pause] = uow.session.query(DossierPause).filter_by(dossier_id=dossier.id).all()
    assert (pause.reason, pause.working_seconds) == ("supplement", 15 * 3600)
    assert (pause.started_at, pause.ended_at) == (at(23, 10), at(26, 10))


def test_a_dossier_received_after_the_cut_off_counts_from_the_next_morning(core: Core) -> None:
    dossier = receive(core, at(23, 15, 30))
    # Counted from Wednesday 25/11 07:30 (after the cut-off; 24/11 is a holiday).
    assert dossier.appointment_at == at(7, 7, 30, month=12)


def _notices(core: Core, dossier_id: int) -> list[DossierNotice]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(DossierNotice).where(
            DossierNotice.dossier_id == dossier_id).order_by(DossierNotice.id)))


def test_an_online_answer_ends_the_pause_whenever_reception_takes_it_in(core: Core) -> None:
    from engine.models import DossierPause
    from engine.services.supplement_answers import answer_supplement

    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    answer_supplement(core, dossier.code, note="Đã gửi bản chụp CCCD", files=[],
                      now=at(23, 14))
    # Reception takes the answer in three days later: the applicant is not charged for them.
    # 23/11 10:00 → 14:00 is 2 working hours (the lunch break 11:30–13:30 does not count).
    complete(core, dossier.code, "receive_supplement", at(26, 10))
    detail = dossiers.get_dossier(core, dossier.code)
    assert detail.dossier.appointment_at == at(4, 11, month=12)
    with core.uow() as uow:
        [pause] = uow.session.query(DossierPause).filter_by(dossier_id=dossier.id).all()
    assert (pause.started_at, pause.ended_at, pause.working_seconds) == (
        at(23, 10), at(23, 14), 2 * 3600)
    assert [n.answered_at for n in _notices(core, dossier.id)] == [at(23, 14)]


def test_a_fact_dated_after_today_or_a_blank_answer_is_refused(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    for step in MAIN_PATH[:-1]:
        complete(core, dossier.code, step, at(23, 10))
    [task] = ready_tasks(core, dossier.code)
    returned = step_data("return_result", "2026-11-23")
    with pytest.raises(InvalidInput) as future:
        tasks.complete_task(core, user(core, "reception"), task.id,
                            returned | {"returned_date": "2031-01-01"}, at(23, 11), lang="en")
    assert future.value.fields == {"returned_date": "This date must not be after today "
                                                    "(23/11/2026)."}
    with pytest.raises(InvalidInput) as blank:  # what an API client may send
        tasks.complete_task(core, user(core, "reception"), task.id,
                            returned | {"receiver_name": "   "}, at(23, 11))
    assert blank.value.fields == {"receiver_name": "Vui lòng nhập trường này."}
    done = tasks.complete_task(core, user(core, "reception"), task.id,
                               returned | {"receiver_name": "  Trần Văn An "}, at(23, 11))
    assert done is not None
    history = dossiers.get_dossier(core, dossier.code).events
    [completed] = [e for e in history if e.kind == "completed" and e.task_id == task.id]
    assert completed.data["receiver_name"] == "Trần Văn An"
