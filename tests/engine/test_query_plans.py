"""The task list's and the dashboard's queries read the indexes made for them (PostgreSQL).

Each test seeds a few thousand rows in SQL (closed dossiers with their completed steps and
settled alerts, open ones with waiting steps and running alerts), runs ANALYZE, runs the
service as the page does while recording the SQL it sends, and asks PostgreSQL for the plan
of each statement (EXPLAIN (FORMAT JSON)) with `SET LOCAL enable_seqscan = off` inside the
EXPLAIN's own transaction: on a table this small a sequential scan would often be cheaper,
so the setting proves that the index *can* serve the query — that the plan the big tables get
(bench/tables.py measures it on 1,100,000 dossiers) is available — not that it is chosen here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text

from engine.bootstrap import Core
from engine.models import User
from engine.services import supervision, task_list
from engine.services.task_list import TaskFilters
from tests.conftest import MONDAY_9AM
from tests.engine import walk

pytestmark = pytest.mark.postgres
NOW = MONDAY_9AM
WATCHED = {"dossier", "task", "event", "escalation", "due_item"}
TASK_INDEXES = {"ix_task_state_role_due", "ix_task_claimed_state_due", "ix_task_state_created",
                "ix_task_status_role_due"}

# Closed dossiers (1..:closed) with three completed steps each and a settled alert on every
# tenth; open ones after them with one waiting step each, spread over the roles, every other
# one claimed, every fifth overdue with its alerts (the warning settled by the deadline's).
SEED = (
    """INSERT INTO process_instance (id, procedure_version_id, state, serializer_version,
        revision, status, task_count, depth, created_at, updated_at)
    SELECT i, :version, '\\x00', '1', 1,
        CASE WHEN i <= :closed THEN 'completed' ELSE 'running' END, 3, 3, :now, :now
    FROM generate_series(1, :closed + :open) AS i""",
    """INSERT INTO dossier (id, code, procedure_id, procedure_version_id, instance_id,
        applicant_name, applicant_id_number, applicant_phone, applicant_email,
        applicant_address, return_address, supplement_rounds, channel, status, received_at,
        appointment_at, original_appointment_at, resolved_at, outcome)
    SELECT i, 'D-' || i, :procedure, :version, i, 'Nguyen Van ' || i, lpad(i::text, 12, '0'),
        '', '', '', '', 0, 'online', CASE WHEN i <= :closed THEN 10 ELSE 4 END,
        :now - (:closed + :open - i) * interval '1 hour',
        :now - (:closed + :open - i) * interval '1 hour' + interval '10 days',
        :now - (:closed + :open - i) * interval '1 hour' + interval '10 days',
        CASE WHEN i <= :closed THEN :now - (:closed + :open - i) * interval '1 hour'
                                    + interval '5 days' END,
        CASE WHEN i <= :closed THEN 'early' END
    FROM generate_series(1, :closed + :open) AS i""",
    """INSERT INTO task (id, dossier_id, instance_id, bpmn_id, name, role, state, claimed_by,
        created_at, warn_at, due_at, completed_at, received_at)
    SELECT 'done-' || i || '-' || k, i, i, 'step' || k, 'Step ' || k, 'specialist',
        'completed', NULL, :now - (:closed + :open - i) * interval '1 hour',
        NULL, :now - (:closed + :open - i) * interval '1 hour' + interval '2 days',
        :now - (:closed + :open - i) * interval '1 hour' + interval '1 day',
        :now - (:closed + :open - i) * interval '1 hour'
    FROM generate_series(1, :closed) AS i CROSS JOIN generate_series(1, 3) AS k""",
    """INSERT INTO task (id, dossier_id, instance_id, bpmn_id, name, role, state, claimed_by,
        created_at, warn_at, due_at, received_at, search_key, dossier_status)
    SELECT 'ready-' || i, i, i, 'check', 'Check',
        (ARRAY['reception', 'specialist', 'head', 'leader', 'clerk'])[1 + i % 5], 'ready',
        CASE WHEN i % 2 = 0 THEN :specialist END, :now - interval '1 day',
        :now + CASE WHEN i % 5 = 1 THEN interval '-2 days' ELSE interval '1 day' END
             - interval '4 hours',
        :now + CASE WHEN i % 5 = 1 THEN interval '-2 days' ELSE interval '1 day' END,
        :now - (:closed + :open - i) * interval '1 hour',
        'd-' || i || chr(31) || 'nguyen van ' || i, 4
    FROM generate_series(:closed + 1, :closed + :open) AS i""",
    """INSERT INTO escalation (dossier_id, kind, ref, task_id, level, role, due_at, raised_at,
        procedure_id, settled_at)
    SELECT i, 'step', 'done-' || i || '-1', 'done-' || i || '-1', 1, 'specialist',
        :now - (:closed + :open - i) * interval '1 hour',
        :now - (:closed + :open - i) * interval '1 hour', :procedure,
        :now - (:closed + :open - i) * interval '1 hour' + interval '1 day'
    FROM generate_series(10, :closed, 10) AS i""",
    """INSERT INTO escalation (dossier_id, kind, ref, task_id, level, role, due_at, raised_at,
        procedure_id, settled_at, claimed_by)
    SELECT i, 'step', 'ready-' || i, 'ready-' || i, level,
        (ARRAY['reception', 'specialist', 'head', 'leader', 'clerk'])[1 + i % 5],
        :now - interval '2 days', :now - interval '2 days' + level * interval '1 hour',
        :procedure, CASE WHEN level = 0 THEN :now - interval '2 days' + interval '1 hour' END,
        CASE WHEN i % 2 = 0 THEN :specialist END
    FROM generate_series(:closed + 1, :closed + :open) AS i
    CROSS JOIN (VALUES (0), (1)) AS l (level)
    WHERE i % 5 = 1""",
    """INSERT INTO event (dossier_id, at, actor, kind, data)
    SELECT i, :now - (:closed + :open - i) * interval '1 hour', 'reception', 'received', '{}'
    FROM generate_series(1, :closed + :open) AS i""",
)


def seed(core: Core, closed: int = 3000, open_: int = 1000) -> None:
    """The rows above, then ANALYZE."""
    with core.db.begin() as conn:
        procedure, version = conn.execute(text(
            "SELECT id, latest_version_id FROM procedure ORDER BY id LIMIT 1")).one()
        specialist = conn.scalar(select(User.id).where(User.username == "specialist"))
        params = {"closed": closed, "open": open_,
                  "now": NOW.astimezone(UTC).replace(tzinfo=None),  # stored as naive UTC
                  "procedure": procedure, "version": version, "specialist": specialist}
        for sql in SEED:
            conn.execute(text(sql), params)
        for table in ("dossier", "process_instance"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                         {"n": closed + open_})
    with core.db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE dossier, task, escalation, event, process_instance"))


@contextmanager
def recorded(engine: Engine, kinds: tuple[str, ...] = ("SELECT",)
             ) -> Iterator[list[tuple[str, Any]]]:
    """The statements of `kinds` sent while the block runs, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith(kinds) and not executemany:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans(engine: Engine, call: Callable[[], object], kinds: tuple[str, ...] = ("SELECT",)
          ) -> list[dict[str, Any]]:
    """The plan of each statement of `kinds` that `call` sends, sequential scans discouraged
    (see above); EXPLAIN without ANALYZE runs none of them."""
    with recorded(engine, kinds) as statements:
        call()
    found = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                [[plan]] = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                                parameters).all()
            found.append(plan[0]["Plan"])
    return found


def generic_plans(engine: Engine, call: Callable[[], object]) -> list[dict[str, Any]]:
    """The plan of each SELECT that `call` sends as a prepared statement gets once PostgreSQL
    plans it for any parameters (plan_cache_mode = force_generic_plan), as it may after five
    executions on one connection: what a custom plan, made for the values, may hide."""
    from psycopg import sql

    with recorded(engine) as statements:
        call()
    found = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, parameters in statements:
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
            prepared = statement
            for number, name in enumerate(names, start=1):
                prepared = prepared.replace(f"%({name})s", f"${number}")
            values = ", ".join(sql.Literal(parameters[n]).as_string(raw) for n in names)
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
                conn.exec_driver_sql(f"PREPARE generic AS {prepared}")  # its %% stay escaped
                [[plan]] = conn.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) EXECUTE generic ({values})".replace("%", "%%")).all()
                conn.exec_driver_sql("DEALLOCATE generic")
            found.append(plan[0]["Plan"])
    return found


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan tree."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def seq_scans(plan: dict[str, Any]) -> set[str]:
    """The watched tables the plan reads whole."""
    return {n["Relation Name"] for n in nodes(plan)
            if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in WATCHED}


def indexes(plan: dict[str, Any]) -> set[str]:
    """The indexes the plan reads."""
    return {n["Index Name"] for n in nodes(plan) if "Index Name" in n}


def tables(plan: dict[str, Any]) -> set[str]:
    """The tables the plan reads, by any path."""
    return {n["Relation Name"] for n in nodes(plan) if "Relation Name" in n}


def ordered_by_index(plan: dict[str, Any], index: str) -> bool:
    """The plan reads `index` in its order (an index scan, not a bitmap) and sorts nothing."""
    found = [n for n in nodes(plan) if n.get("Index Name") == index]
    return bool(found) and all(n["Node Type"] in ("Index Scan", "Index Only Scan")
                               for n in found) and not any(
        n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes(plan))


def user(core: Core, username: str) -> User:
    """A user of the seeded core."""
    with core.uow() as uow:
        return uow.session.scalars(select(User).where(User.username == username)).one()


def test_the_group_task_list_reads_the_role_index_in_deadline_order(pg_core: Core) -> None:
    seed(pg_core)
    specialist = user(pg_core, "specialist")
    for page in (1, 5):
        ids, rows = plans(pg_core.db, partial(
            task_list.task_page, pg_core, specialist,
            TaskFilters(view="group", page=page, per_page=20), NOW))
        assert seq_scans(ids) == seq_scans(rows) == set()
        assert ordered_by_index(ids, "ix_task_state_role_due"), ids
        assert "task_pkey" in indexes(rows)  # then the page's rows, by their ids


def test_the_task_lists_filters_keep_to_the_indexes(pg_core: Core) -> None:
    seed(pg_core)
    specialist = user(pg_core, "specialist")
    for filters in (TaskFilters(view="available"), TaskFilters(urgency="overdue"),
                    TaskFilters(status=4), TaskFilters(procedure="judicial_record_certificate")):
        ids, *rows = plans(pg_core.db, partial(task_list.task_page, pg_core, specialist,
                                               filters, NOW))
        assert all(seq_scans(plan) == set() for plan in [ids, *rows]), filters
        if not filters.procedure:  # a rare procedure may rather be found from its dossiers
            assert indexes(ids) & TASK_INDEXES, filters


def test_by_date_received_the_group_list_reads_its_own_index_in_order(pg_core: Core) -> None:
    seed(pg_core)
    specialist = user(pg_core, "specialist")
    for filters in (TaskFilters(sort="received"), TaskFilters(view="group", sort="received"),
                    TaskFilters(view="group", sort="received", page=5, per_page=20)):
        ids, rows = plans(pg_core.db, partial(task_list.task_page, pg_core, specialist,
                                              filters, NOW))
        assert seq_scans(ids) == seq_scans(rows) == set(), filters
        assert "dossier" not in tables(ids), filters  # no dossier walked for the order
        if filters.view == "group":  # the available view may rather filter the deadline's
            assert ordered_by_index(ids, "ix_task_state_role_received"), ids


def test_a_status_filter_reads_the_waiting_steps_of_that_status_in_order(pg_core: Core
                                                                         ) -> None:
    seed(pg_core)
    specialist = user(pg_core, "specialist")
    for status in (4, 9):  # the common one, and one that no waiting step has
        for sort, index in (("deadline", "ix_task_status_role_due"),
                            ("received", "ix_task_status_role_received")):
            ids, *_ = plans(pg_core.db, partial(
                task_list.task_page, pg_core, specialist,
                TaskFilters(view="group", status=status, sort=sort), NOW))
            assert seq_scans(ids) == set() and "dossier" not in tables(ids), (status, sort)
            assert ordered_by_index(ids, index), (status, sort, ids)
            # Planned for any status too: `dossier_status = $n` implies the partial index's
            # `dossier_status IS NOT NULL`.
            ids, *_ = generic_plans(pg_core.db, partial(
                task_list.task_page, pg_core, specialist,
                TaskFilters(view="group", status=status, sort=sort), NOW))
            assert ordered_by_index(ids, index), ("generic", status, sort, ids)
            assert any("$" in (n.get("Index Cond") or "") for n in nodes(ids))  # generic


def test_a_search_reads_the_waiting_steps_keys_and_no_dossier(pg_core: Core) -> None:
    seed(pg_core, closed=1000, open_=20000)  # the index pays off over many waiting steps
    with pg_core.db.connect() as conn:  # as autovacuum does: the keys out of the pending list
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM task"))
    specialist = user(pg_core, "specialist")
    searches: tuple[tuple[str, bool | None], ...] = (
        ("D-13456", True), ("Nguyễn Văn 13456", None), ("d-3", False), ("zz", False))
    for search, trigrams in searches:
        ids, *rows = plans(pg_core.db, partial(task_list.task_page, pg_core, specialist,
                                               TaskFilters(view="group", search=search), NOW))
        assert seq_scans(ids) == set() and "dossier" not in tables(ids), search
        # A rare name is looked up in the trigram index; a search without a trigram walks
        # the list's order (the whole trigram index would be read and every key checked).
        if trigrams is not None:  # a name of common words: either way, by the estimates
            assert ("ix_task_search_key" in indexes(ids)) == trigrams, (search, ids)
        if trigrams:  # the pattern is a literal: a plan for any parameters still has it
            ids, *_ = generic_plans(pg_core.db, partial(
                task_list.task_page, pg_core, specialist,
                TaskFilters(view="group", search=search), NOW))
            assert "ix_task_search_key" in indexes(ids), ("generic", search, ids)


def test_my_tasks_read_the_claimed_index_in_deadline_order(pg_core: Core) -> None:
    seed(pg_core)
    specialist = user(pg_core, "specialist")
    ids, rows = plans(pg_core.db, lambda: task_list.task_page(
        pg_core, specialist, TaskFilters(view="mine", per_page=5), NOW))
    assert seq_scans(ids) == seq_scans(rows) == set()
    assert ordered_by_index(ids, "ix_task_claimed_state_due"), ids


def test_the_dashboard_reads_only_the_running_alerts_from_their_partial_index(
        pg_core: Core) -> None:
    seed(pg_core)
    calls: list[Callable[[], object]] = [
        lambda: supervision.alert_page(pg_core),
        lambda: supervision.alert_page(pg_core, supervision.Filters(stage="overdue")),
        lambda: supervision.alert_page(pg_core, supervision.Filters(officer="")),
        lambda: supervision.alert_counts(pg_core)]
    for call in calls:
        found = plans(pg_core.db, call)
        assert all(seq_scans(plan) == set() for plan in found)
        alerts = [p for p in found if "ix_escalation_running" in indexes(p)]
        assert alerts, "the running alerts are read from their partial index"
        # Neither the count nor the page's ids join the dossier: only the page's rows do.
        assert sum("dossier_pkey" in indexes(p) for p in found) <= 1


def test_a_heads_dashboard_reads_their_scope_from_the_running_alerts_index(
        pg_core: Core) -> None:
    seed(pg_core)
    scope = supervision.scope_of(pg_core, user(pg_core, "head"))
    for call in (lambda: supervision.alert_page(pg_core, scope=scope),
                 lambda: supervision.alert_counts(pg_core, scope)):
        found = plans(pg_core.db, call)
        # The versions' lanes (a handful of rows) are read whole, to know the head's scope.
        assert all(seq_scans(plan) <= {"procedure_version"} for plan in found)
        alerts = [p for p in found if "ix_escalation_running" in indexes(p)]
        # The step's department and the dossier's version are the alert's own (0013): the
        # count and the page's ids read the index alone, no task or dossier per alert.
        assert alerts and all(indexes(p) == {"ix_escalation_running"} for p in alerts)


def test_the_workload_counts_claimed_tasks_from_the_index(pg_core: Core) -> None:
    seed(pg_core)
    [plan] = plans(pg_core.db, lambda: supervision.workload(pg_core, NOW + timedelta(hours=1)))
    assert seq_scans(plan) == set()
    assert "ix_task_claimed_state_due" in indexes(plan)


def test_a_dossiers_writes_find_their_rows_by_index(pg_core: Core) -> None:
    seed(pg_core)

    def whole_life() -> None:
        dossier = walk.receive(pg_core, NOW)
        moment = NOW
        while steps := walk.ready_tasks(pg_core, dossier.code):
            moment += timedelta(hours=2)
            walk.complete(pg_core, dossier.code, steps[0].bpmn_id, moment)

    found = plans(pg_core.db, whole_life, kinds=("SELECT", "UPDATE", "DELETE"))
    assert len(found) > 20
    # Receipt, completions and closing (the appointment's items dropped by dossier) alike.
    assert [seq_scans(plan) for plan in found if seq_scans(plan)] == []
    assert any("ix_due_item_dossier_kind" in indexes(plan) for plan in found)
