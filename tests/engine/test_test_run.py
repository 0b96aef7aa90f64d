"""Test runs walk a package: the path taken, kept in test_run for any worker, and no dossier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from engine.bootstrap import Core, Settings, bootstrap
from engine.demo import step_data
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Base, StoredTestRun
from engine.services import test_run
from tests.conftest import MONDAY_9AM
from tests.engine.variants import judicial_record, version_two

CODE = "judicial_record_certificate"
MAIN_STEPS = ["check_records", "draft_certificate", "review", "sign", "return_result"]


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables}


def _walk(core: Core, run: test_run.TestRun, steps: list[str]) -> test_run.TestRun:
    moment = MONDAY_9AM
    for bpmn_id in steps:
        [step] = run.ready
        assert step.bpmn_id == bpmn_id
        assert step.form is not None or bpmn_id == "stamp"
        moment += timedelta(minutes=10)
        data = {} if bpmn_id == "stamp" else step_data(bpmn_id, moment.date().isoformat())
        run = test_run.complete(core, run.id, step.id, data, moment)
    return run


def test_a_test_run_walks_the_procedure_to_its_end_without_writing_a_dossier(
        sqlite_core: Core) -> None:
    before = _row_counts(sqlite_core.db)
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    assert run.path == ["received"] and run.active == ["check_records"]
    run = _walk(sqlite_core, run, MAIN_STEPS)
    assert run.completed and not run.ready
    assert run.path == ["received", "check_records", "gateway_dossier_complete",
                        "gateway_needs_verification", "draft_certificate", "review",
                        "gateway_review_approved", "sign", "gateway_signed", "return_result",
                        "result_returned"]
    assert run.data["certificate_number"] == "123/PLLTP"
    assert _row_counts(sqlite_core.db) == {**before, "test_run": before["test_run"] + 1}
    assert test_run.get(sqlite_core, run.id, MONDAY_9AM).completed


def test_a_draft_that_was_never_deployed_can_be_run(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, version_two(), "draft", {}, MONDAY_9AM)
    run = _walk(sqlite_core, run, [*MAIN_STEPS[:4], "stamp", "return_result"])
    assert run.completed and "stamp" in run.path
    assert "request_police_verification" not in run.path


def test_the_path_follows_the_data_chosen_in_each_form(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    data = {**step_data("check_records", "2026-11-23"), "needs_verification": True}
    run = test_run.complete(sqlite_core, run.id, run.ready[0].id, data, MONDAY_9AM)
    assert run.active == ["request_police_verification"]
    assert run.path[-1] == "gateway_needs_verification"


def test_form_errors_are_reported_and_the_run_stays_where_it_was(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    with pytest.raises(InvalidInput) as caught:
        test_run.complete(sqlite_core, run.id, run.ready[0].id, {}, MONDAY_9AM)
    assert "dossier_complete" in caught.value.fields
    with pytest.raises(Conflict):
        test_run.complete(sqlite_core, run.id, "not-a-task", {}, MONDAY_9AM)
    assert test_run.get(sqlite_core, run.id, MONDAY_9AM).active == ["check_records"]


def test_an_id_that_no_run_could_have_is_not_found(core: Core) -> None:
    for run_id in ("x" * 33, "a\x00b", "../etc", ""):
        with pytest.raises(NotFound):
            test_run.get(core, run_id, MONDAY_9AM)


def test_a_version_is_named_by_its_number_however_it_was_typed(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, judicial_record(), "01", {}, MONDAY_9AM)
    assert run.source == "1"


def test_a_run_expires_after_an_hour_unused(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    later = MONDAY_9AM + test_run.TTL + timedelta(seconds=1)
    with pytest.raises(NotFound):
        test_run.get(sqlite_core, run.id, later)


def test_a_package_that_cannot_be_parsed_is_refused(sqlite_core: Core) -> None:
    broken = judicial_record()
    broken = type(broken)(broken.bpmn_xml.replace('name="Lãnh đạo Sở"', 'name="Ai đó"'),
                          broken.forms, broken.meta)
    with pytest.raises(Conflict, match="cannot run"):
        test_run.start(sqlite_core, CODE, broken, "draft", {}, MONDAY_9AM)




def _another_worker(core: Core) -> Core:
    """What another gunicorn worker has: a core of its own (caches too) on the same database."""
    return bootstrap(Settings(database_url=str(core.db.url)), db=core.db)


def test_a_run_started_by_one_worker_goes_on_in_another(core: Core) -> None:
    # gunicorn's workers are processes, each with its own Core: a run lives in the database.
    run = test_run.start(core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    other = _another_worker(core)
    assert test_run.get(other, run.id, MONDAY_9AM).active == ["check_records"]
    data = step_data("check_records", "2026-11-23")
    moved = test_run.complete(other, run.id, run.ready[0].id, data, MONDAY_9AM)
    assert moved.active == ["draft_certificate"]
    assert test_run.get(core, run.id, MONDAY_9AM).active == ["draft_certificate"]
    with pytest.raises(Conflict):  # the first worker's view of the run is out of date
        test_run.complete(core, run.id, run.ready[0].id, data, MONDAY_9AM)


@pytest.mark.postgres
def test_two_completions_of_one_step_at_once_save_one(pg_core: Core,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = test_run.start(pg_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    data = step_data("check_records", "2026-11-23")
    engine_complete = pg_core.runtime.complete
    raced: list[test_run.TestRun] = []

    def other_window_first(*args: object, **kwargs: object) -> None:
        # Between this completion's read and its save, another request completes the step.
        if not raced:
            raced.append(test_run.complete(_another_worker(pg_core), run.id, run.ready[0].id,
                                           data, MONDAY_9AM))
        engine_complete(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pg_core.runtime, "complete", other_window_first)
    with pytest.raises(Conflict, match="moved on meanwhile"):
        test_run.complete(pg_core, run.id, run.ready[0].id, data, MONDAY_9AM)
    assert raced[0].active == ["draft_certificate"]
    assert test_run.get(pg_core, run.id, MONDAY_9AM).path == raced[0].path


def test_expired_runs_and_the_oldest_beyond_the_limit_are_dropped(
        sqlite_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_run, "MAX_RUNS", 3)
    first = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    later = MONDAY_9AM + test_run.TTL + timedelta(seconds=1)
    runs = [test_run.start(sqlite_core, CODE, judicial_record(), "1", {},
                           later + timedelta(minutes=n)) for n in range(4)]
    with sqlite_core.db.connect() as conn:
        kept = set(conn.execute(select(StoredTestRun.id)).scalars())
    assert kept == {run.id for run in runs[1:]}
    assert first.id not in kept
    with pytest.raises(NotFound):
        test_run.get(sqlite_core, runs[0].id, later + timedelta(minutes=5))


def test_a_run_is_found_only_under_its_own_procedure_when_one_is_named(core: Core) -> None:
    run = test_run.start(core, CODE, judicial_record(), "1", {}, MONDAY_9AM)
    assert test_run.get(core, run.id, MONDAY_9AM, CODE).active == ["check_records"]
    with pytest.raises(NotFound):
        test_run.get(core, run.id, MONDAY_9AM, "outgoing_document")
    data = step_data("check_records", "2026-11-23")
    with pytest.raises(NotFound):
        test_run.complete(core, run.id, run.ready[0].id, data, MONDAY_9AM,
                          code="outgoing_document")
    assert test_run.get(core, run.id, MONDAY_9AM).active == ["check_records"]


def test_a_run_names_its_steps_and_lanes_in_english_when_asked(sqlite_core: Core) -> None:
    run = test_run.start(sqlite_core, CODE, judicial_record(), "1", {}, MONDAY_9AM, "en")
    [step] = run.ready
    assert (step.name, step.lane) == ("Check the dossier and look up judicial record information",
                                      "Specialist, Judicial Administration Division")
    assert run.names["check_records"] == step.name
    vietnamese = test_run.get(sqlite_core, run.id, MONDAY_9AM)
    assert vietnamese.ready[0].name == "Kiểm tra hồ sơ, tra cứu thông tin lý lịch tư pháp"
