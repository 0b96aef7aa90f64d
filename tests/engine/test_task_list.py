"""Task lists: my tasks and my group's, filtered, sorted, searched and paged in few queries."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, select, update

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import Dossier, ProcessInstance, Task
from engine.search import fold, needle, search_key
from engine.services import (
    accounts,
    catalogue,
    incidents,
    migration,
    submissions,
    task_list,
    tasks,
)
from engine.services.escalations import run_due
from engine.services.incidents import ProcedureIncident
from engine.services.task_list import TaskFilters, task_page
from engine.specs import Package, read_package
from tests.conftest import MONDAY_9AM, at
from tests.engine.test_reception import submitted
from tests.engine.walk import APPLICANT, complete, ready_tasks, receive, user

NOW = at(26, 10)  # Thursday 26/11/2026 10:00
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _receive(core: Core, name: str, when: datetime, procedure: str | None = None) -> str:
    extra = {"procedure_code": procedure} if procedure else {}
    return receive(core, when, applicant={**APPLICANT, "name": name}, **extra).code


def _set(core: Core, code: str, *, due_at: datetime | None, warn_at: datetime | None = None,
         status: int | None = None) -> None:
    """Give the dossier's ready task a deadline (and the dossier a status) for the test."""
    with core.uow() as uow:
        dossier = uow.session.query(Dossier).filter_by(code=code).one()
        uow.session.execute(update(Task).where(Task.dossier_id == dossier.id)
                            .values(due_at=due_at, warn_at=warn_at))
        if status is not None:  # as the projection writes it: on the dossier and its steps
            dossier.status = status
            uow.session.execute(update(Task).where(Task.dossier_id == dossier.id,
                                                   Task.state == "ready")
                                .values(dossier_status=status))
        uow.commit()


@pytest.fixture
def five(core: Core) -> dict[str, str]:
    """Five dossiers at the specialist's desk, one per urgency (two due soon), by name."""
    codes = {
        "An": _receive(core, "Nguyễn Văn An", MONDAY_9AM),
        "Bích": _receive(core, "Trần Thị Bích", at(23, 10)),
        "Thọ": _receive(core, "Lê Đức Thọ", at(23, 11)),
        "Châu": _receive(core, "Phạm Minh Châu", at(23, 14), "notary_office_registration"),
        "Dũng": _receive(core, "Đỗ Dũng", at(23, 15)),
    }
    _set(core, codes["An"], due_at=NOW - timedelta(hours=1))  # overdue
    _set(core, codes["Bích"], due_at=NOW + timedelta(hours=3))  # due soon: last day
    _set(core, codes["Thọ"], due_at=NOW + timedelta(days=5),  # due soon: past its warning
         warn_at=NOW - timedelta(hours=1), status=5)
    _set(core, codes["Châu"], due_at=NOW + timedelta(days=4))  # on track
    _set(core, codes["Dũng"], due_at=None)  # no deadline
    return codes


def _names(core: Core, username: str = "specialist", **filters: object) -> list[str]:
    page = task_page(core, user(core, username), TaskFilters(**filters), NOW)  # type: ignore[arg-type]
    return [row.dossier.applicant_name.split()[-1] for row in page.rows]


def test_the_list_is_sorted_by_deadline_with_no_deadline_last(core: Core,
                                                              five: dict[str, str]) -> None:
    assert _names(core) == ["An", "Bích", "Châu", "Thọ", "Dũng"]


def test_the_list_can_be_sorted_by_the_date_received(core: Core, five: dict[str, str]) -> None:
    assert _names(core, sort="received") == ["An", "Bích", "Thọ", "Châu", "Dũng"]


def test_by_date_received_later_steps_and_accepted_submissions_keep_their_dossiers_date(
        core: Core) -> None:
    desk = _receive(core, "Nguyễn Văn An", MONDAY_9AM)
    online = submitted(core, at(20, 16))  # submitted first, received when accepted
    submissions.accept_submission(core, online, actor="reception", now=at(23, 10))
    complete(core, desk, "check_records", at(24, 9))  # its next step is newer than online's
    assert _names(core, sort="received") == ["An", "Bình"]
    assert _names(core, view="group", sort="received") == ["An", "Bình"]
    with core.uow() as uow:
        pairs = uow.session.execute(select(Task.received_at, Dossier.received_at)
                                    .join(Dossier, Dossier.id == Task.dossier_id)).all()
    assert len(pairs) == 3 and all(task == dossier for task, dossier in pairs)


@pytest.mark.parametrize(("urgency", "expected"), [
    ("overdue", ["An"]), ("due_soon", ["Bích", "Thọ"]), ("on_track", ["Châu"]),
    ("no_deadline", ["Dũng"])])
def test_the_list_is_filtered_by_urgency(core: Core, five: dict[str, str], urgency: str,
                                         expected: list[str]) -> None:
    assert _names(core, urgency=urgency) == expected


def test_each_row_says_how_urgent_it_is(core: Core, five: dict[str, str]) -> None:
    page = task_page(core, user(core, "specialist"), TaskFilters(), NOW)
    assert [row.urgency for row in page.rows] == ["overdue", "due_soon", "on_track",
                                                  "due_soon", "no_deadline"]


def test_the_list_is_filtered_by_procedure_and_dossier_status(core: Core,
                                                               five: dict[str, str]) -> None:
    assert _names(core, procedure="notary_office_registration") == ["Châu"]
    assert _names(core, status=5) == ["Thọ"]
    assert _names(core, status=4, procedure="judicial_record_certificate") == ["An", "Bích",
                                                                                "Dũng"]


@pytest.mark.parametrize(("search", "expected"), [
    ("nguyen van an", ["An"]), ("NGUYỄN", ["An"]), ("le duc tho", ["Thọ"]), ("đức", ["Thọ"]),
    ("do dung", ["Dũng"]), ("  tran   thi ", ["Bích"]), ("nobody", [])])
def test_a_search_finds_applicants_whatever_their_accents_and_case(
        core: Core, five: dict[str, str], search: str, expected: list[str]) -> None:
    assert _names(core, search=search) == expected


def test_a_search_finds_a_dossier_by_its_code(core: Core, five: dict[str, str]) -> None:
    assert _names(core, search=five["Châu"][-9:].lower()) == ["Châu"]


def test_a_search_respects_the_other_filters(core: Core, five: dict[str, str]) -> None:
    assert _names(core, search="th", urgency="due_soon") == ["Bích", "Thọ"]
    assert _names(core, search="th", urgency="overdue") == []


def test_a_search_takes_percent_signs_and_underscores_as_typed(core: Core,
                                                              five: dict[str, str]) -> None:
    assert _names(core, search="%") == _names(core, search="_") == []
    assert _names(core, search="/") == _names(core, search="n%n") == []


@pytest.mark.parametrize(("search", "like", "indexed"), [
    ("Nguyễn", "%nguyen%", True), ("an", "%an%", False), ("a b c", "%a b c%", False),
    ("50%_/x", "%50/%/_//x%", False), ("H01-0001", "%h01-0001%", True), ("  ", None, None)])
def test_a_search_is_a_like_pattern_marked_when_the_trigram_index_can_serve_it(
        search: str, like: str | None, indexed: bool | None) -> None:
    found = needle(search)
    assert (found.like, found.indexed) == (like, indexed) if found else like is None


def test_a_waiting_step_keeps_its_dossiers_folded_code_and_applicant_until_done(
        core: Core) -> None:
    code = _receive(core, "Nguyễn Văn An", MONDAY_9AM)
    complete(core, code, "check_records", at(24, 9))
    with core.uow() as uow:
        keys = dict(uow.session.execute(select(Task.state, Task.search_key).join(
            Dossier, Dossier.id == Task.dossier_id).where(Dossier.code == code)).all())
    assert keys == {"completed": None, "ready": f"{code.lower()}\x1fnguyen van an"}
    assert keys["ready"] == search_key(code, "Nguyễn Văn An")


def _status_copies(core: Core, code: str) -> tuple[int, dict[str, int | None]]:
    """The dossier's status, and each of its steps' copy of it by step (the latest)."""
    with core.uow() as uow:
        status = uow.session.scalars(select(Dossier.status).where(Dossier.code == code)).one()
        copies = dict(uow.session.execute(
            select(Task.bpmn_id, Task.dossier_status).join(Dossier, Dossier.id == Task.dossier_id)
            .where(Dossier.code == code).order_by(Task.created_at, Task.state.desc())).all())
    return status, copies


def test_a_waiting_step_carries_its_dossiers_status_and_a_done_one_none(core: Core) -> None:
    code = _receive(core, "Nguyễn Văn An", MONDAY_9AM)
    assert _status_copies(core, code) == (4, {"check_records": 4})
    complete(core, code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    assert _status_copies(core, code) == (5, {"check_records": None, "receive_supplement": 5})
    assert _names(core, "reception", view="group", status=5) == ["An"]
    complete(core, code, "receive_supplement", at(24, 10))
    assert _status_copies(core, code)[1]["check_records"] == 4  # waiting again, processing
    for step in ("check_records", "draft_certificate", "review", "sign"):
        complete(core, code, step, at(25, 9))
    status, copies = _status_copies(core, code)
    assert (status, copies["return_result"], copies["sign"]) == (9, 9, None)
    assert _names(core, "reception", view="group", status=9) == ["An"]
    assert _names(core, "reception", view="group", status=4) == []
    complete(core, code, "return_result", at(25, 10))
    assert set(_status_copies(core, code)[1].values()) == {None}


def test_the_steps_still_waiting_take_the_status_a_parallel_step_moves_the_dossier_to(
        core: Core) -> None:
    catalogue.deploy(core, read_package(FIXTURES / "parallel_fees"), "test", MONDAY_9AM)
    code = receive(core, MONDAY_9AM, procedure_code="parallel_fees").code
    assert _status_copies(core, code) == (4, {"check": 4, "assess_fees": 4})
    complete(core, code, "assess_fees", at(23, 10), {})  # reception now collects the fees
    assert _status_copies(core, code) == (6, {"check": 6, "assess_fees": None,
                                              "collect_fees": 6})
    assert _names(core, view="group", status=6) == ["An"]  # the check waits for the fees too
    assert _names(core, view="group", status=4) == []
    complete(core, code, "collect_fees", at(23, 11), {})
    assert _status_copies(core, code) == (4, {"check": 4, "assess_fees": None,
                                              "collect_fees": None})


def test_the_steps_still_waiting_take_the_status_a_timer_moves_the_dossier_to(
        core: Core) -> None:
    catalogue.deploy(core, read_package(FIXTURES / "timed_fees"), "test", MONDAY_9AM)
    code = receive(core, MONDAY_9AM, procedure_code="timed_fees").code
    assert _status_copies(core, code) == (4, {"check": 4})
    assert run_due(core, MONDAY_9AM + timedelta(hours=2), "test").timers_fired == 1
    assert _status_copies(core, code) == (6, {"check": 6, "collect_fees": 6})
    assert _names(core, view="group", status=6) == ["An"]


def _with_fee_script(package: Package) -> Package:
    """parallel_fees with a script between the assessment and the collection of the fees,
    which divides by the assessment's `copies` (0 stops the procedure in incident)."""
    xml = package.bpmn_xml.replace(
        '<bpmn:flowNodeRef>assess_fees</bpmn:flowNodeRef>',
        '<bpmn:flowNodeRef>assess_fees</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>compute_fee</bpmn:flowNodeRef>')
    xml = xml.replace(
        '<bpmn:userTask id="collect_fees"',
        '<bpmn:scriptTask id="compute_fee" name="Tính lệ phí mỗi bản">'
        '<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f5b</bpmn:outgoing>'
        '<bpmn:script>fee_per_copy = 200000 // copies</bpmn:script></bpmn:scriptTask>\n'
        '    <bpmn:userTask id="collect_fees"')
    xml = xml.replace('<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>',
                      '<bpmn:incoming>f5b</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>')
    xml = xml.replace(
        '<bpmn:sequenceFlow id="f5" sourceRef="assess_fees" targetRef="collect_fees" />',
        '<bpmn:sequenceFlow id="f5" sourceRef="assess_fees" targetRef="compute_fee" />'
        '<bpmn:sequenceFlow id="f5b" sourceRef="compute_fee" targetRef="collect_fees" />')
    assert xml.count("compute_fee") == 4
    return replace(package, bpmn_xml=xml)


def test_the_steps_still_waiting_take_the_status_a_retried_step_moves_the_dossier_to(
        core: Core) -> None:
    package = _with_fee_script(read_package(FIXTURES / "parallel_fees"))
    catalogue.deploy(core, package, "test", MONDAY_9AM)
    code = receive(core, MONDAY_9AM, procedure_code="parallel_fees").code
    with pytest.raises(ProcedureIncident):
        complete(core, code, "assess_fees", at(23, 10), {"copies": 0})
    assert _status_copies(core, code) == (4, {"check": 4, "assess_fees": None})
    # The designer corrects the assessment's data in the stored state, then retries.
    with core.uow() as uow:
        instance = uow.session.scalars(select(ProcessInstance).join(
            Dossier, Dossier.instance_id == ProcessInstance.id)
            .where(Dossier.code == code)).one()
        workflow = core.runtime.restore(instance.state)
        [assessed] = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                      if t.task_spec.bpmn_id == "assess_fees"]
        assessed.data["copies"] = 2
        instance.state = core.runtime.dump(workflow)
        uow.commit()
    retried = incidents.retry_incident(core, user(core, "designer"), code, at(23, 11))
    assert retried.error is None
    # Reception now collects the fees and the check, still waiting, waits for them too.
    assert _status_copies(core, code) == (6, {"check": 6, "assess_fees": None,
                                              "collect_fees": 6})
    assert _names(core, view="group", status=6) == ["An"]
    assert _names(core, view="group", status=4) == []


def test_a_migration_keeps_the_copies_of_the_steps_still_waiting(core: Core) -> None:
    package = read_package(FIXTURES / "parallel_fees")
    catalogue.deploy(core, package, "test", MONDAY_9AM)
    code = receive(core, MONDAY_9AM, procedure_code="parallel_fees").code
    complete(core, code, "assess_fees", at(23, 10), {})
    before = _status_copies(core, code)
    assert before == (6, {"check": 6, "assess_fees": None, "collect_fees": 6})
    # Version 2 renames the check (a change a waiting step may take: its properties, and so
    # the status it declares, may not change while it waits).
    catalogue.deploy(core, replace(package, bpmn_xml=package.bpmn_xml.replace(
        'name="Thẩm tra"', 'name="Thẩm tra hồ sơ"')), "test", at(23, 11))
    [outcome] = migration.migrate(core, "parallel_fees", 2, {code: None}, "designer",
                                  at(23, 12))
    assert outcome.moved
    assert _status_copies(core, code) == before
    assert _names(core, view="group", status=6) == ["An"]


def test_a_step_cancelled_by_a_timer_keeps_no_copy_and_the_next_one_has_them(
        core: Core) -> None:
    catalogue.deploy(core, read_package(FIXTURES / "timed_review"), "test", MONDAY_9AM)
    code = receive(core, MONDAY_9AM, procedure_code="timed_review").code
    run_due(core, MONDAY_9AM + timedelta(hours=3), "test")  # the review's 2 hours are up
    with core.uow() as uow:
        copies = {row.bpmn_id: (row.state, row.dossier_status, row.search_key) for row in
                  uow.session.execute(select(Task.bpmn_id, Task.state, Task.dossier_status,
                                             Task.search_key)
                                      .join(Dossier, Dossier.id == Task.dossier_id)
                                      .where(Dossier.code == code))}
    assert copies == {"review": ("cancelled", None, None),
                      "handle_late": ("ready", 4, search_key(code, APPLICANT["name"]))}


def test_a_search_with_quotes_and_backslashes_is_taken_as_typed(core: Core) -> None:
    _receive(core, "O'Brien \\ Lê", MONDAY_9AM)
    assert _names(core, search="o'brien \\") == ["Lê"]
    assert _names(core, search="o''brien") == _names(core, search="\\'") == []


def test_a_name_that_folds_longer_is_received_and_found(core: Core) -> None:
    _receive(core, "Lê " + "ﬃ" * 197, MONDAY_9AM)  # each ligature folds to three letters
    assert _names(core, search="le ffiffi") == ["ﬃ" * 197]


def test_folding_removes_case_and_vietnamese_accents() -> None:
    assert fold("  Nguyễn   ĐỨC  Thọ ") == "nguyen duc tho"


def _fold_by_decomposing(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c))
                    .casefold().split())


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF)))
def test_the_quick_fold_folds_as_decomposing_does(text: str) -> None:
    for variant in (text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)):
        assert fold(variant) == _fold_by_decomposing(variant)


def test_the_quick_fold_agrees_on_every_latin_letter() -> None:
    letters = "".join(chr(code) for code in range(0x20, 0x2000))
    for text in (letters, letters.upper(), unicodedata.normalize("NFD", letters)):
        assert fold(text) == _fold_by_decomposing(text)


def test_my_tasks_are_the_ones_i_claimed_and_my_group_sees_them_with_my_name(
        core: Core, five: dict[str, str]) -> None:
    other = accounts.create_user(core, username="specialist2", password="pw",
                                 full_name="Chuyên viên Hai", roles=["specialist"])
    [task] = ready_tasks(core, five["Châu"])
    tasks.claim_task(core, other, task.id, NOW)
    assert _names(core, "specialist2", view="mine") == ["Châu"]
    assert _names(core, view="mine") == []
    assert "Châu" not in _names(core, view="available")
    group = task_page(core, user(core, "specialist"), TaskFilters(view="group"), NOW).rows
    assert [r.claimed_by_name for r in group if r.task.id == task.id] == ["Chuyên viên Hai"]
    assert _names(core, "head", view="group") == []  # another role's tasks are not shown


def test_the_list_is_paged(core: Core, five: dict[str, str]) -> None:
    specialist = user(core, "specialist")
    first = task_page(core, specialist, TaskFilters(per_page=2), NOW)
    last = task_page(core, specialist, TaskFilters(per_page=2, page=3), NOW)
    searched = task_page(core, specialist, TaskFilters(per_page=1, page=2, search="th"), NOW)
    assert len(first.rows) == 2 and first.has_next
    assert [r.dossier.applicant_name for r in last.rows] == ["Đỗ Dũng"] and not last.has_next
    assert [r.dossier.applicant_name for r in searched.rows] == ["Lê Đức Thọ"]
    assert not searched.has_next


@contextmanager
def _counting(core: Core) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(core.db, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(core.db, "before_cursor_execute", count)


@pytest.mark.parametrize("search", ["", "nguyen"])
def test_the_list_takes_the_same_number_of_queries_whatever_its_length(
        core: Core, search: str) -> None:
    specialist = user(core, "specialist")
    _receive(core, "Nguyễn Văn An", MONDAY_9AM)
    with _counting(core) as one:
        task_page(core, specialist, TaskFilters(search=search), NOW, with_forms=True)
    for hour in range(10, 16):
        _receive(core, f"Nguyễn Thị {hour}", at(23, hour))
    with _counting(core) as seven:
        rows = task_page(core, specialist, TaskFilters(search=search), NOW,
                         with_forms=True).rows
    assert len(rows) == 7 and rows[0].form is not None
    assert len(seven) == len(one) <= 4


def test_the_older_list_still_gives_what_the_user_may_act_on(core: Core,
                                                             five: dict[str, str]) -> None:
    rows = task_list.list_tasks(core, user(core, "specialist"))
    assert len(rows) == 5 and all(row.form is not None for row in rows)
