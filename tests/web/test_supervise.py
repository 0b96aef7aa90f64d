"""The supervisor's dashboard lists its alerts a page at a time and counts them all in SQL."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import event

from engine.bootstrap import Core
from engine.models import Escalation, Task, User
from engine.services import dossiers, supervision, tasks
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM
from tests.engine.walk import ready_tasks, receive, user
from tests.web.conftest import Auth


def _alerts(core: Core, count: int) -> list[str]:
    """`count` running alerts of the appointment dates of three open dossiers (levels 0-2,
    raised a minute apart), plus a warning below each level-2 one; the dossiers' codes."""
    received = [receive(core, MONDAY_9AM) for _ in range(3)]
    ids = [dossier.id for dossier in received]
    with core.uow() as uow:
        for k in range(count):
            level = k % 3
            refs = [f"deadline-{k}"] + ([f"deadline-{k}"] if level == 2 else [])
            for n, ref in enumerate(refs):
                uow.session.add(Escalation(
                    dossier_id=ids[k % 3], kind="appointment", ref=ref, task_id=None,
                    level=level - n, role="leader", due_at=MONDAY_9AM,
                    raised_at=MONDAY_9AM + timedelta(minutes=k, seconds=n)))
        uow.commit()
    return [dossier.code for dossier in received]


def test_the_alerts_come_a_page_at_a_time_most_serious_and_oldest_first(core: Core) -> None:
    _alerts(core, 70)
    every = supervision.open_alerts(core)
    assert len(every) == 70  # the warnings below a higher level are not alerts of their own
    first = supervision.alert_page(core, page=1, per_page=30)
    last = supervision.alert_page(core, page=3, per_page=30)
    assert (first.total, first.has_next, last.has_next, len(last.alerts)) == (70, True, False,
                                                                             10)
    pages = [supervision.alert_page(core, page=n, per_page=30).alerts for n in (1, 2, 3)]
    assert [a.escalation.id for page in pages for a in page] == [a.escalation.id for a in every]
    levels = [a.escalation.level for a in every]
    assert levels == sorted(levels, reverse=True)


def test_the_counts_come_from_sql_and_match_the_alerts(core: Core) -> None:
    codes = _alerts(core, 12)
    with core.uow() as uow:  # a level above 2 (a leader's leader) is escalated too
        uow.session.add(Escalation(
            dossier_id=dossiers.get_dossier(core, codes[0]).dossier.id, kind="appointment",
            ref="deadline-top", task_id=None, level=3, role="leader", due_at=MONDAY_9AM,
            raised_at=MONDAY_9AM))
        uow.commit()
    table = supervision.alert_counts(core)
    assert table == supervision.counts(supervision.open_alerts(core))
    assert sum(table["role"]["leader"].values()) == 13
    assert dict(table["role"]["leader"]) == {"near_due": 4, "overdue": 4, "escalated": 5}


def test_the_dashboard_gives_what_its_parts_give_for_each_viewer(core: Core) -> None:
    _alerts(core, 12)
    [step] = ready_tasks(core, receive(core, MONDAY_9AM).code)
    tasks.claim_task(core, user(core, "specialist"), step.id, MONDAY_9AM)
    for viewer in (None, user(core, "supervisor"), user(core, "head")):
        scope = supervision.scope_of(core, viewer)
        for filters, page in ((supervision.Filters(), 1), (supervision.Filters(stage="overdue"), 1),
                              (supervision.Filters(), 2)):
            board = supervision.dashboard(core, viewer, MONDAY_9AM, filters, page)
            alone = supervision.alert_page(core, filters, page, scope=scope)
            assert board.counts == supervision.alert_counts(core, scope)
            assert (board.page.total, board.page.page) == (alone.total, alone.page)
            assert [a.escalation.id for a in board.page.alerts] == [
                a.escalation.id for a in alone.alerts]
            assert board.workload == supervision.workload(core, MONDAY_9AM, viewer)
    assert ("specialist", 1) in {(roles, waiting) for _, roles, waiting, _ in board.workload}


def test_a_filtered_page_counts_only_what_passes_the_filter(core: Core) -> None:
    codes = _alerts(core, 12)
    page = supervision.alert_page(core, supervision.Filters(stage="escalated"))
    assert page.total == 4 and {a.stage for a in page.alerts} == {"escalated"}
    one = supervision.open_alerts(core, supervision.Filters(dossier_code=codes[0]))
    assert len(one) == 4 and {a.dossier.code for a in one} == {codes[0]}
    assert supervision.alert_page(core, supervision.Filters(officer="")).total == 12


def test_the_dashboards_counts_give_the_unfiltered_pages_total(core: Core) -> None:
    _alerts(core, 12)
    counts = supervision.alert_counts(core)
    counted = supervision.alert_page(core, counted=counts)
    assert counted.total == supervision.alert_page(core).total == 12
    assert [a.escalation.id for a in counted.alerts] == [
        a.escalation.id for a in supervision.alert_page(core).alerts]
    # Filtered, the counts do not apply: the page counts what passes the filter.
    escalated = supervision.alert_page(core, supervision.Filters(stage="escalated"),
                                       counted=counts)
    assert escalated.total == 4


def test_a_step_alert_raised_when_its_step_began_is_still_listed(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    with core.uow() as uow:
        step = uow.session.get(Task, task.id)
        assert step is not None
        uow.session.add(Escalation(dossier_id=step.dossier_id, kind="step", ref=task.id,
                                   task_id=task.id, level=1, role="specialist",
                                   due_at=MONDAY_9AM, raised_at=step.created_at))
        uow.commit()
    [alert] = supervision.alert_page(core).alerts
    assert alert.task is not None and alert.task.id == task.id


def test_the_dashboard_pages_its_alerts_and_counts_them_all(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    _alerts(sqlite_core, 60)
    auth.login("supervisor")
    page = client.get("/supervise/").get_data(as_text=True)
    assert page.count("data-escalation-id=") == supervision.PAGE_SIZE
    assert 'data-testid="next-page"' in page and "1–50" in page and "60" in page
    counts = re.search(r'data-testid="counts-role".*?</table>', page, re.S)
    assert counts and ">20<" in counts.group(0)  # 20 escalated of 60, counted over every page
    second = client.get("/supervise/?page=2").get_data(as_text=True)
    assert second.count("data-escalation-id=") == 10 and "51–60" in second
    ids = set(re.findall(r'data-escalation-id="(\d+)"', page))
    assert ids.isdisjoint(re.findall(r'data-escalation-id="(\d+)"', second))


def test_a_filter_and_its_pages_travel_together(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    _alerts(sqlite_core, 156)  # 52 escalated
    auth.login("supervisor")
    page = client.get("/supervise/?stage=escalated").get_data(as_text=True)
    [link] = re.findall(r'href="([^"]*page=2[^"]*)"', page)
    assert "stage=escalated" in link
    second = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("data-escalation-id=") == 2
    # A page past the last (an old link) leads to the last page, its filter kept.
    beyond = client.get("/supervise/?stage=escalated&page=999")
    assert beyond.status_code == 302
    assert "page=2" in beyond.location and "stage=escalated" in beyond.location


def test_a_real_escalation_shows_on_the_first_page(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    run_due(sqlite_core, MONDAY_9AM + timedelta(days=4, minutes=5), "test")
    auth.login("supervisor")
    page = client.get("/supervise/").get_data(as_text=True)
    assert dossier.code in page and 'data-testid="next-page"' not in page


def test_the_officer_counts_follow_claims_releases_and_reassignments(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    with core.uow() as uow:
        uow.session.add(Escalation(dossier_id=dossier.id, kind="step", ref=task.id,
                                   task_id=task.id, level=1, role="specialist",
                                   due_at=MONDAY_9AM, raised_at=MONDAY_9AM))
        uow.commit()

    def officers() -> dict[str, int]:
        table = supervision.alert_counts(core)
        assert table == supervision.counts(supervision.open_alerts(core))
        return {name: sum(stages.values()) for name, stages in table["officer"].items()}

    specialist, supervisor = user(core, "specialist"), user(core, "supervisor")
    assert officers() == {"": 1}
    tasks.claim_task(core, specialist, task.id, MONDAY_9AM)
    assert officers() == {specialist.full_name: 1}
    assert supervision.alert_page(core, supervision.Filters(
        officer=specialist.full_name)).total == 1
    tasks.unclaim_task(core, specialist, task.id, MONDAY_9AM)
    assert officers() == {"": 1}
    supervision.reassign(core, supervisor, task.id, specialist.id, MONDAY_9AM)
    assert officers() == {specialist.full_name: 1}
    assert supervision.alert_page(core, supervision.Filters(officer="")).total == 0


def test_the_reassign_lists_of_a_page_come_from_one_read_of_the_officers(core: Core) -> None:
    with core.uow() as uow:
        uow.session.add_all([
            User(username="spec_a", password_hash="x", full_name="Bà An", roles="specialist",
                 department="A", active=True),
            User(username="spec_b", password_hash="x", full_name="Ông Bình",
                 roles="specialist", department="B", active=True),
            User(username="gone_a", password_hash="x", full_name="Ông Cũ", roles="specialist",
                 department="A", active=False)])
        uow.commit()
    steps = {("specialist", "A"), ("specialist", None), ("head", "A")}
    statements: list[str] = []

    def listen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(core.db, "before_cursor_execute", listen)
    try:
        lists = supervision.officers_for_steps(core, steps)
    finally:
        event.remove(core.db, "before_cursor_execute", listen)
    assert len([s for s in statements if "user_account" in s]) == 1
    assert [u.full_name for u in lists[("specialist", "A")]] == ["Bà An"]
    assert {u.username for u in lists[("specialist", None)]} == {"specialist", "spec_a", "spec_b"}
    for step in steps:
        assert [u.id for u in lists[step]] == [
            u.id for u in supervision.officers_with_role(core, *step)]
    assert supervision.officers_for_steps(core, set()) == {}
