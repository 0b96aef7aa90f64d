"""The scheduler warns, escalates and escalates again at the right working-time moments,
each exactly once, and only for deadlines still running."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import DueItem, Escalation, Notification, OutboxMessage, User
from engine.services.escalations import PassResult, claim_due, handle_due_item, run_due
from engine.services.supervision import OPEN_STATUSES, Filters, acknowledge, open_alerts
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import complete, ready_tasks, receive, user


def _levels(core: Core, ref: str | None = None) -> list[tuple[str, int, str]]:
    with core.uow() as uow:
        query = select(Escalation.kind, Escalation.level, Escalation.role).order_by(
            Escalation.raised_at, Escalation.level)
        if ref is not None:
            query = query.where(Escalation.ref == ref)
        return [tuple(row) for row in uow.session.execute(query)]  # type: ignore[misc]


def _notified(core: Core, username: str) -> int:
    with core.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Notification).join(
            User, User.id == Notification.user_id).where(User.username == username)) or 0


def test_an_untouched_step_walks_through_warn_escalate_and_escalate_to_the_director(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    # The check has three working days (24/11 is a holiday): due Friday 27/11 09:00.
    # 75% of its 22.5 working hours is 16.875 h: Wednesday 26/11 10:52:30.
    assert run_due(core, at(26, 10, 52), "one").escalated == 0
    assert run_due(core, at(26, 10, 53), "one").escalated == 1
    assert _levels(core, task.id) == [("step", 0, "specialist")]
    assert run_due(core, at(27, 8, 59), "one").escalated == 0
    assert run_due(core, at(27, 9, 0), "one").escalated == 1        # at the deadline
    assert run_due(core, at(27, 17), "one").escalated == 0
    assert run_due(core, at(30, 9, 0), "two").escalated == 1        # a working day later
    assert run_due(core, at(1, 9, 0, month=12), "one").escalated == 1   # then the leader
    assert (_notified(core, "specialist"), _notified(core, "head"),
            _notified(core, "leader")) == (2, 1, 1)
    run_due(core, at(10, 9, 0, month=12), "two")  # the appointment's own alerts only
    assert _levels(core, task.id) == [("step", 0, "specialist"), ("step", 1, "specialist"),
                                      ("step", 2, "head"), ("step", 3, "leader")]
    [step, appointment] = sorted(open_alerts(core, Filters(stage="escalated")),
                                 key=lambda a: a.escalation.kind, reverse=True)
    assert (step.escalation.level, step.task and step.task.id) == (3, task.id)
    assert (appointment.escalation.kind, appointment.escalation.level) == ("appointment", 2)


def test_the_appointment_date_warns_the_head_and_then_the_leader(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)  # appointment Friday 4/12 09:00
    run_due(core, at(4, 9, 0, month=12), "one")
    assert [lv for lv in _levels(core, "appointment")] == [
        ("appointment", 0, "head"), ("appointment", 1, "head")]
    run_due(core, at(7, 9, 0, month=12), "one")
    assert _levels(core, "appointment")[-1] == ("appointment", 2, "leader")
    assert dossier.code in {a.dossier.code for a in open_alerts(core)}


def test_a_step_done_in_time_and_a_resolved_dossier_raise_nothing_more(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign", "return_result"]:
        complete(core, dossier.code, bpmn_id, at(23, 10))
    assert run_due(core, at(31, 9, month=12), "one").escalated == 0
    with core.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DueItem)) == 0


def test_a_later_save_does_not_raise_the_same_level_again(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    run_due(core, at(27, 10), "one")                        # warning + deadline
    complete(core, dossier.code, "check_records", at(27, 11))  # late, but done
    assert open_alerts(core) == [] or all(a.task is None for a in open_alerts(core))
    assert [lv for _, lv, _ in _levels(core) if lv <= 1] == [0, 1]
    settled = open_alerts(core, include_settled=True)
    assert any(a.task is not None and a.task.state == "completed" for a in settled)


def test_a_step_waiting_for_the_applicant_has_no_deadline_and_never_escalates(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    [waiting] = ready_tasks(core, dossier.code)
    assert (waiting.bpmn_id, waiting.due_at) == ("receive_supplement", None)
    # The dossier's clock stands still too: its appointment date raises nothing.
    assert run_due(core, at(31, 9, month=12), "one").escalated == 0


def test_an_acknowledged_alert_leaves_the_list_until_the_next_level(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    run_due(core, at(27, 9, 30), "one")
    [alert] = [a for a in open_alerts(core) if a.task is not None]
    acknowledge(core, user(core, "supervisor"), alert.escalation.id, "Đã nhắc chuyên viên",
                at(27, 10))
    assert [a for a in open_alerts(core) if a.task is not None] == []
    run_due(core, at(30, 9, 30), "one")
    [again] = [a for a in open_alerts(core) if a.task is not None]
    assert again.escalation.level == 2 and again.dossier.code == dossier.code


def test_a_lease_held_by_another_scheduler_is_left_alone_until_it_expires(core: Core) -> None:
    receive(core, MONDAY_9AM)
    claimed = claim_due(core, at(26, 11), "crashed", 10)
    assert len(claimed) == 1  # the warning
    assert claim_due(core, at(26, 11), "other", 10) == []
    # The crashed owner never handles it; after the lease (60 s) another scheduler takes it.
    assert run_due(core, at(26, 11, 2), "other").escalated == 1
    handle_due_item(core, claimed[0], "crashed", at(26, 11, 3), PassResult())
    assert len(_levels(core)) == 1


def test_each_escalation_is_mailed_once_to_the_officers_told(core: Core) -> None:
    with core.uow() as uow:
        for name in ("specialist", "head", "leader"):
            uow.session.scalars(select(User).where(User.username == name)).one().email = (
                f"{name}@sotuphap.example")
        uow.commit()
    dossier = receive(core, MONDAY_9AM)
    for moment in (at(26, 10, 53), at(27, 9), at(30, 9), at(1, 9, month=12)):
        run_due(core, moment, "one")
        run_due(core, moment, "two")  # a second scheduler finds nothing left to mail
    with core.uow() as uow:
        mails = [(m.to_address, m.subject) for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.like("escalation:%"))
            .order_by(OutboxMessage.id))]
    step_mails = [mail for mail in mails if dossier.code in mail[1]]
    assert [(to, subject.split("] ")[1]) for to, subject in step_mails] == [
        ("specialist@sotuphap.example", f"Sắp đến hạn: hồ sơ {dossier.code}"),
        ("specialist@sotuphap.example", f"Đã đến hạn: hồ sơ {dossier.code}"),
        ("head@sotuphap.example", f"Chuyển cấp: hồ sơ {dossier.code} quá hạn"),
        ("leader@sotuphap.example", f"Chuyển cấp: hồ sơ {dossier.code} quá hạn")]


def _running_as_defined(core: Core) -> set[int]:
    """The running alerts by their definition: the latest of each deadline, not acknowledged,
    the step waiting (the dossier open when there is no step)."""
    return {a.escalation.id for a in open_alerts(core, include_settled=True)
            if a.escalation.acknowledged_at is None and (
                a.task.state == "ready" if a.task is not None
                else a.dossier.status in OPEN_STATUSES)}


def _settled(core: Core) -> list[tuple[str, int, bool]]:
    with core.uow() as uow:
        return [(kind, level, settled is not None) for kind, level, settled in
                uow.session.execute(select(Escalation.kind, Escalation.level,
                                           Escalation.settled_at)
                                    .order_by(Escalation.kind.desc(), Escalation.level))]


def test_a_higher_level_settles_the_warning_and_the_step_s_end_settles_the_rest(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    run_due(core, at(26, 10, 53), "one")
    assert _settled(core) == [("step", 0, False)]
    run_due(core, at(27, 9, 0), "one")
    assert _settled(core) == [("step", 0, True), ("step", 1, False)]
    assert {a.escalation.id for a in open_alerts(core)} == _running_as_defined(core)
    complete(core, dossier.code, "check_records", at(27, 11))
    assert _settled(core) == [("step", 0, True), ("step", 1, True)]
    assert [a for a in open_alerts(core) if a.task is not None] == []


def test_a_closed_dossier_settles_its_appointment_alerts(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    run_due(core, at(4, 9, 0, month=12), "one")  # the appointment date passes, untouched
    assert ("appointment", 1, False) in _settled(core)
    assert "appointment" in {a.escalation.kind for a in open_alerts(core)}
    assert {a.escalation.id for a in open_alerts(core)} == _running_as_defined(core)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign", "return_result"]:
        complete(core, dossier.code, bpmn_id, at(4, 10, month=12))
    assert all(settled for _, _, settled in _settled(core))
    assert open_alerts(core) == [] and _running_as_defined(core) == set()


def test_an_alert_added_directly_gets_its_procedure_and_settles_lower_levels(
        core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    with core.uow() as uow:
        uow.session.add_all([Escalation(
            dossier_id=dossier.id, kind="appointment", ref="appointment", task_id=None,
            level=level, role="head", due_at=MONDAY_9AM, raised_at=MONDAY_9AM)
            for level in (1, 0)])
        uow.commit()
    assert _settled(core) == [("appointment", 0, True), ("appointment", 1, False)]
    with core.uow() as uow:
        assert set(uow.session.scalars(select(Escalation.procedure_id))) == {
            dossier.procedure_id}
