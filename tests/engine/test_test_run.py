"""Test runs walk a package in memory: the path taken, and no row written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Base
from engine.services import test_run
from tests.conftest import MONDAY_9AM
from tests.engine.variants import judicial_record, version_two

CODE = "judicial_record_certificate"
MAIN_STEPS = ["check_records", "draft_certificate", "review", "sign", "return_result"]


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables}


def _walk(core: Core, run: test_run.TestRun, steps: list[str], store: test_run.RunStore
          ) -> test_run.TestRun:
    moment = MONDAY_9AM
    for bpmn_id in steps:
        [step] = run.ready
        assert step.bpmn_id == bpmn_id
        assert step.form is not None or bpmn_id == "stamp"
        moment += timedelta(minutes=10)
        data = {} if bpmn_id == "stamp" else step_data(bpmn_id, moment.date().isoformat())
        run = test_run.complete(core, run.id, step.id, data, moment, store=store)
    return run


def test_a_test_run_walks_the_procedure_to_its_end_without_writing_a_row(
        sqlite_core: Core) -> None:
    store = test_run.RunStore()
    before = _row_counts(sqlite_core.db)
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM,
                         store=store)
    assert run.path == ["received"] and run.active == ["check_records"]
    run = _walk(sqlite_core, run, MAIN_STEPS, store)
    assert run.completed and not run.ready
    assert run.path == ["received", "check_records", "gateway_dossier_complete",
                        "gateway_needs_verification", "draft_certificate", "review",
                        "gateway_review_approved", "sign", "return_result", "result_returned"]
    assert run.data["certificate_number"] == "123/PLLTP"
    assert _row_counts(sqlite_core.db) == before
    assert test_run.get(sqlite_core, run.id, MONDAY_9AM, store=store).completed


def test_a_draft_that_was_never_deployed_can_be_run(sqlite_core: Core) -> None:
    store = test_run.RunStore()
    run = test_run.start(sqlite_core, CODE, version_two(), "draft", {}, MONDAY_9AM, store=store)
    run = _walk(sqlite_core, run, [*MAIN_STEPS[:4], "stamp", "return_result"], store)
    assert run.completed and "stamp" in run.path
    assert "request_police_verification" not in run.path


def test_the_path_follows_the_data_chosen_in_each_form(sqlite_core: Core) -> None:
    store = test_run.RunStore()
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM, store=store)
    data = {**step_data("check_records", "2026-11-23"), "needs_verification": True}
    run = test_run.complete(sqlite_core, run.id, run.ready[0].id, data, MONDAY_9AM, store=store)
    assert run.active == ["request_police_verification"]
    assert run.path[-1] == "gateway_needs_verification"


def test_form_errors_are_reported_and_the_run_stays_where_it_was(sqlite_core: Core) -> None:
    store = test_run.RunStore()
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM, store=store)
    with pytest.raises(InvalidInput) as caught:
        test_run.complete(sqlite_core, run.id, run.ready[0].id, {}, MONDAY_9AM, store=store)
    assert "dossier_complete" in caught.value.fields
    with pytest.raises(Conflict):
        test_run.complete(sqlite_core, run.id, "not-a-task", {}, MONDAY_9AM, store=store)
    assert test_run.get(sqlite_core, run.id, MONDAY_9AM, store=store).active == ["check_records"]


def test_a_run_expires_after_an_hour_unused(sqlite_core: Core) -> None:
    store = test_run.RunStore()
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM, store=store)
    later = MONDAY_9AM + test_run.TTL + timedelta(seconds=1)
    with pytest.raises(NotFound):
        test_run.get(sqlite_core, run.id, later, store=store)


def test_a_package_that_cannot_be_parsed_is_refused(sqlite_core: Core) -> None:
    broken = judicial_record()
    broken = type(broken)(broken.bpmn_xml.replace('name="Lãnh đạo Sở"', 'name="Ai đó"'),
                          broken.forms, broken.meta)
    with pytest.raises(Conflict, match="cannot run"):
        test_run.start(sqlite_core, CODE, broken, "draft", {}, MONDAY_9AM,
                       store=test_run.RunStore())


