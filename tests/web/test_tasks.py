"""Officers see only their roles' tasks, claim them and complete their forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import Core
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive
from tests.web.conftest import Auth, Clock

CHECK = {"dossier_complete": "true", "residence_history": "one_province",
         "needs_verification": "false"}


def _task_ids(page: str) -> list[str]:
    import re

    return re.findall(r'data-task-id="([^"]+)"', page)


def test_each_officer_sees_only_the_tasks_of_their_role(client: FlaskClient, auth: Auth,
                                                        sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("head")
    assert _task_ids(client.get("/").get_data(as_text=True)) == []
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    assert len(_task_ids(client.get("/").get_data(as_text=True))) == 1


def test_a_specialist_claims_and_completes_a_task(client: FlaskClient, auth: Auth,
                                                   sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert dossier.code in page and 'name="dossier_complete"' in page
    auth.post(f"/tasks/{task_id}/claim", {}, page=f"/tasks/{task_id}")
    clock.now += timedelta(hours=1)
    response = auth.post(f"/tasks/{task_id}/complete", CHECK, page=f"/tasks/{task_id}")
    assert response.status_code == 302  # type: ignore[attr-defined]
    # The specialist's next step (the draft) replaces the check in the list.
    assert task_id not in _task_ids(client.get("/").get_data(as_text=True))
    history = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "specialist" in history


def test_a_form_with_errors_shows_a_message_by_each_field(client: FlaskClient, auth: Auth,
                                                          sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    response = auth.post(f"/tasks/{task_id}/complete", {"dossier_complete": "true"},
                         page=f"/tasks/{task_id}")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="residence_history"' in page
    assert 'data-field-error="needs_verification"' in page
    assert 'data-field-error="dossier_complete"' not in page


def test_another_roles_task_page_is_not_shown(client: FlaskClient, auth: Auth,
                                              sqlite_core: Core, app: Flask) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    auth.post("/logout", {}, page="/")
    auth.login("leader")
    assert client.get(f"/tasks/{task_id}").status_code == 403


def test_the_supervisor_sees_an_escalation_once_the_deadline_passes(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("supervisor")
    assert 'data-testid="no-escalations"' in client.get("/supervise/").get_data(as_text=True)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)  # Friday 27/11 09:05
    run_due(sqlite_core, clock.now, "test")
    run_due(sqlite_core, clock.now + timedelta(minutes=1), "test")
    page = client.get("/supervise/").get_data(as_text=True)
    assert page.count("data-escalation-id=") == 1 and dossier.code in page
    assert "27/11/2026 09:00" in page


def test_the_supervisor_acknowledges_an_alert_and_reassigns_the_late_step(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    from engine.services import accounts

    other = accounts.create_user(sqlite_core, username="specialist2", password="pw",
                                 full_name="Chuyên viên Hai", roles=["specialist"])
    dossier = receive(sqlite_core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)
    run_due(sqlite_core, clock.now, "test")
    auth.login("supervisor")
    page = client.get("/supervise/?stage=overdue").get_data(as_text=True)
    assert dossier.code in page and 'data-testid="counts-procedure"' in page
    import re

    [escalation_id] = re.findall(r'data-escalation-id="(\d+)"', page)
    [task_id] = re.findall(r'/supervise/tasks/([^/]+)/reassign', page)
    auth.post(f"/supervise/tasks/{task_id}/reassign", {"officer": str(other.id)},
              page="/supervise/")
    auth.post(f"/supervise/escalations/{escalation_id}/acknowledge",
              {"note": "Đã giao cho chuyên viên khác"}, page="/supervise/")
    page = client.get("/supervise/").get_data(as_text=True)
    assert 'data-testid="no-escalations"' in page
    assert "Chuyên viên Hai" in page  # the workload shows the reassigned step
    history = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "Bước xử lý được người giám sát giao lại" in history


def test_an_officer_sees_the_unread_count_and_reads_the_notifications(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)  # past the check's deadline
    run_due(sqlite_core, clock.now, "test")
    auth.login("specialist")
    assert 'data-testid="unread">2<' in client.get("/").get_data(as_text=True)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count(dossier.code) >= 2 and "Sắp đến hạn" in page and "Đã quá hạn" in page
    assert 'data-testid="unread"' not in client.get("/").get_data(as_text=True)


# The task list: views, filters, urgency, search; the task page: comments, files, tracking.

PDF = b"%PDF-1.4\n% a verification letter\n%%EOF\n"


def _receive_two(core: Core) -> tuple[str, str]:
    from tests.engine.walk import APPLICANT

    first = receive(core, MONDAY_9AM).code  # its check is due Friday 27/11 09:00
    second = receive(core, MONDAY_9AM + timedelta(days=2),
                     applicant={**APPLICANT, "name": "Trần Thị Bích"}).code
    return first, second


def _rows(page: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<tr class="([^"]*)" data-task-id="[^"]+" data-urgency="([^"]+)"', page)


def test_the_list_colours_rows_by_urgency_and_says_it_in_words(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    _receive_two(sqlite_core)
    clock.now = MONDAY_9AM + timedelta(days=4, hours=1)  # Friday 10:00: the first is late
    auth.login("specialist")
    page = client.get("/").get_data(as_text=True)
    assert _rows(page) == [("table-danger", "overdue"), ("", "on_track")]
    assert "Quá hạn" in page
    client.get("/lang/en")
    page = client.get("/").get_data(as_text=True)
    assert ">Overdue<" in page and ">On track<" in page
    page = client.get("/?urgency=overdue").get_data(as_text=True)
    assert _rows(page) == [("table-danger", "overdue")]


def test_the_list_is_filtered_and_searched_from_the_query_string(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    first, second = _receive_two(sqlite_core)
    auth.login("specialist")
    page = client.get("/?q=tran+thi+bich").get_data(as_text=True)
    assert second in page and first not in page
    page = client.get(f"/?q={first}&sort=received").get_data(as_text=True)
    assert first in page and second not in page
    assert len(_task_ids(client.get("/?procedure=notary_office_registration")
                         .get_data(as_text=True))) == 0
    assert len(_task_ids(client.get("/?status=4&urgency=on_track")
                         .get_data(as_text=True))) == 2
    assert 'data-testid="no-tasks"' in client.get("/?status=9").get_data(as_text=True)


def test_the_status_filter_offers_the_statuses_a_waiting_step_can_have(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    auth.login("specialist")
    page = client.get("/").get_data(as_text=True)
    select = page[page.index('id="status"'):]
    offered = re.findall(r'<option value="(\d+)"', select[:select.index("</select>")])
    assert offered == ["2", "4", "5", "6", "7", "9"]  # not 1, 3, 8 or 10: no step waits then


def test_htmx_gets_the_list_alone(client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    _receive_two(sqlite_core)
    auth.login("specialist")
    page = client.get("/?q=bich", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in page and len(_task_ids(page)) == 1


def test_a_task_claimed_from_the_list_moves_to_my_tasks_and_shows_who_to_the_group(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    from engine.services import accounts

    accounts.create_user(sqlite_core, username="specialist2", password="pw",
                         full_name="Chuyên viên Hai", roles=["specialist"])
    first, _ = _receive_two(sqlite_core)
    auth.login("specialist2")
    assert 'data-testid="no-tasks"' in client.get("/?view=mine").get_data(as_text=True)
    [task_id, _other] = _task_ids(client.get("/?view=group").get_data(as_text=True))
    response = auth.post(f"/tasks/{task_id}/claim", {"next": "/?view=group"}, page="/")
    assert response.headers["Location"] == "/?view=group"  # type: ignore[attr-defined]
    assert _task_ids(client.get("/?view=mine").get_data(as_text=True)) == [task_id]
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    page = client.get("/?view=group").get_data(as_text=True)
    assert "Chuyên viên Hai" in page and f"/tasks/{task_id}/claim" not in page
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'data-testid="claimed-by"' in task_page and 'data-testid="task-form"' not in task_page
    assert "/supervise/tasks/" not in task_page  # only a head or supervisor can take it over


def test_a_supervising_officer_can_take_over_a_task_claimed_by_someone_else(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    from engine.services import accounts, tasks
    from tests.engine.walk import ready_tasks, user

    boss = accounts.create_user(sqlite_core, username="boss", password="pw",
                                full_name="Trưởng nhóm", roles=["specialist", "supervisor"])
    first, _ = _receive_two(sqlite_core)
    [task] = ready_tasks(sqlite_core, first)
    tasks.claim_task(sqlite_core, user(sqlite_core, "specialist"), task.id, MONDAY_9AM)
    auth.login("boss")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"/supervise/tasks/{task.id}/reassign" in page
    auth.post(f"/supervise/tasks/{task.id}/reassign", {"officer": str(boss.id)},
              page=f"/tasks/{task.id}")
    assert 'data-testid="task-form"' in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_the_task_page_shows_the_tracking_sheet_and_history_beside_the_form(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    first, _ = _receive_two(sqlite_core)
    auth.login("specialist")
    [task_id] = _task_ids(client.get(f"/?q={first}").get_data(as_text=True))
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'data-testid="handoffs"' in page and 'data-testid="history"' in page
    assert 'data-testid="task-form"' in page and 'data-testid="urgency"' in page


def test_an_officer_adds_a_comment_and_an_empty_one_gets_a_message(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    path = f"/tasks/{task_id}"
    response = auth.post(f"{path}/comments", {"body": "Đã gọi điện cho người nộp."}, page=path)
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get(path).get_data(as_text=True)
    assert "Đã gọi điện cho người nộp." in page and "Specialist" in page
    response = auth.post(f"{path}/comments", {"body": "  "}, page=path)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field-error="body"' in response.get_data(as_text=True)  # type: ignore[attr-defined]


def _upload(auth: Auth, task_id: str, content: bytes, name: str) -> object:
    import io

    path = f"/tasks/{task_id}"
    return auth.client.post(f"{path}/files", data={
        "file": (io.BytesIO(content), name), "csrf_token": auth.csrf(path)},
        content_type="multipart/form-data")


def test_an_officer_uploads_a_file_and_downloads_it(client: FlaskClient, auth: Auth,
                                                     sqlite_core: Core) -> None:
    import re
    from urllib.parse import quote

    dossier = receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    response = _upload(auth, task_id, PDF, "Công văn xác minh.pdf")
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    [link] = re.findall(rf'href="(/tasks/files/{re.escape(dossier.code)}/\d+)"', page)
    assert "Công văn xác minh.pdf" in page
    download = client.get(link)
    body = download.get_data()
    download.close()
    assert download.status_code == 200 and body == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('Công văn xác minh.pdf')}" in disposition


def test_a_file_of_the_wrong_type_is_refused_with_a_message_beside_the_field(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    receive(sqlite_core, MONDAY_9AM)
    auth.login("specialist")
    [task_id] = _task_ids(client.get("/").get_data(as_text=True))
    response = _upload(auth, task_id, b"MZ\x90\x00", "virus.exe")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="file"' in page and "Chỉ nhận tệp PDF" in page
    assert "virus.exe" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_files_are_served_only_to_officers_and_only_under_their_own_dossier(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    import re

    first, second = _receive_two(sqlite_core)
    auth.login("specialist")
    [task_id] = _task_ids(client.get(f"/?q={first}").get_data(as_text=True))
    _upload(auth, task_id, PDF, "a.pdf")
    [attachment_id] = re.findall(r'/tasks/files/[^/]+/(\d+)"',
                                 client.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert client.get(f"/tasks/files/{second}/{attachment_id}").status_code == 404
    assert client.get(f"/tasks/files/{first}/999").status_code == 404
    auth.post("/logout", {}, page="/")
    anonymous = client.get(f"/tasks/files/{first}/{attachment_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    auth.login("designer")
    assert client.get(f"/tasks/files/{first}/{attachment_id}").status_code == 403
    auth.post("/logout", {}, page="/login")
    auth.login("supervisor")
    allowed = client.get(f"/tasks/files/{first}/{attachment_id}")
    allowed.close()
    assert allowed.status_code == 200


@pytest.mark.parametrize("language", ["vi", "en"])
def test_timestamps_read_as_babel_writes_them_in_the_agencys_zone(app: Flask,
                                                                   language: str) -> None:
    from flask_babel import format_datetime

    from web.views import localtime

    moments = [datetime(2026, 11, 24, 17, 30, tzinfo=UTC),  # 00:30 the next day in Hà Nội
               datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC),
               datetime(2026, 11, 24, 17, 30),  # naive: UTC, as Babel takes it
               datetime(2027, 1, 1, 8, 5, tzinfo=timezone(timedelta(hours=7)))]
    with app.test_request_context(f"/?lang={language}"):
        assert [localtime(m) for m in moments] == [
            format_datetime(m, "dd/MM/yyyy HH:mm") for m in moments]
        assert localtime(moments[0]) == "25/11/2026 00:30" and localtime(None) == ""


def test_each_step_shows_what_the_earlier_ones_recorded_and_a_redraft_starts_from_the_last(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    from tests.engine.walk import complete

    dossier = receive(sqlite_core, MONDAY_9AM)
    complete(sqlite_core, dossier.code, "check_records", MONDAY_9AM + timedelta(hours=1))
    complete(sqlite_core, dossier.code, "draft_certificate", MONDAY_9AM + timedelta(hours=2), {
        "certificate_type": "no_2", "criminal_record_found": False, "copies_requested": 3,
        "draft_note": "Không có án tích"})
    auth.login("head")
    [review] = _task_ids(client.get("/").get_data(as_text=True))
    page = client.get(f"/tasks/{review}").get_data(as_text=True)
    recorded = page[page.index('data-testid="recorded"'):page.index('id="files"')]
    # The draft, newest first, in the form's words; then the check.
    assert recorded.index("Dự thảo Phiếu lý lịch tư pháp") < recorded.index("Kiểm tra hồ sơ")
    for shown in ("Loại Phiếu", "Phiếu lý lịch tư pháp số 2", "Số lượng Phiếu yêu cầu cấp",
                  ">3<", "Không có án tích", "Có án tích", "Không"):
        assert shown in recorded, shown
    clock.now = MONDAY_9AM + timedelta(hours=3)
    auth.post(f"/tasks/{review}/complete", {"review_approved": "false",
                                             "review_comment": "Ghi rõ số lượng 2 Phiếu"},
              page=f"/tasks/{review}")
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    [redraft] = _task_ids(client.get("/").get_data(as_text=True))
    page = client.get(f"/tasks/{redraft}").get_data(as_text=True)
    assert "Ghi rõ số lượng 2 Phiếu" in page  # why it came back
    form = page[page.index('data-testid="task-form"'):page.index("</form>",
                                                                 page.index('data-testid="task-form"'))]
    assert 'value="no_2" selected' in form and 'value="3"' in form
    assert "Không có án tích</textarea>" in form
    assert "checked" not in form  # yes/no answers are chosen afresh
    client.get("/lang/en")
    english = client.get(f"/tasks/{redraft}").get_data(as_text=True)
    assert "Recorded at earlier steps" in english and "Judicial record certificate no. 2" in english
    assert "Ghi rõ số lượng 2 Phiếu" in english
    dossier_page = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "Recorded at earlier steps" in dossier_page and "Ghi rõ số lượng 2 Phiếu" in dossier_page


def test_the_return_step_starts_from_how_the_applicant_asked_for_the_result(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    from tests.engine.walk import complete, ready_tasks

    dossier = receive(sqlite_core, MONDAY_9AM, return_method="post",
                      return_address="5 Tràng Tiền, Hoàn Kiếm, Hà Nội")
    for hours, step in enumerate(["check_records", "draft_certificate", "review", "sign"]):
        complete(sqlite_core, dossier.code, step, MONDAY_9AM + timedelta(hours=hours + 1))
    [task] = ready_tasks(sqlite_core, dossier.code)
    auth.login("reception")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    form = page[page.index('data-testid="task-form"'):]
    assert 'value="post" selected' in form
    assert "5 Tràng Tiền, Hoàn Kiếm, Hà Nội" in form[:form.index("</form>")]
