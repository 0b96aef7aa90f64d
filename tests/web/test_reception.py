"""The reception desk receives a dossier and shows its receipt."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.conftest import HANOI
from tests.web.conftest import Auth, Clock

APPLICANT = {"procedure": "judicial_record_certificate", "channel": "in_person",
             "name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội", "email": "", "birth_date": "1989-05-17",
             "return_method": "in_person",
             **{f"document_{i}": "1" for i in range(5)}}


def test_reception_receives_a_dossier_and_sees_its_code_and_appointment(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    response = auth.post("/dossiers/new", APPLICANT)
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "000.00.18.H57-261123-0001" in page
    assert "04/12/2026 09:00" in page  # the appointment date, in Hanoi time
    assert "Nguyễn Văn An" in page


def test_a_receipt_with_bad_details_is_refused_field_by_field(client: FlaskClient,
                                                              auth: Auth) -> None:
    auth.login("reception")
    response = auth.post("/dossiers/new", {**APPLICANT, "id_number": "12ab", "phone": ""},
                         page="/dossiers/new")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="id_number"' in page and 'data-field-error="phone"' in page
    assert 'value="Nguyễn Văn An"' in page  # what was typed is kept
    assert "H57-261123" not in client.get("/dossiers/").get_data(as_text=True)


def test_a_receipt_is_never_filed_under_a_procedure_other_than_the_one_shown(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    page = client.get("/dossiers/new").get_data(as_text=True)
    assert 'name="checklist_for" value="judicial_record_certificate"' in page
    assert 'form="receive-form"' in page  # the procedure list is part of the receipt form
    changed = {**APPLICANT, "procedure": "law_practice_registration",
               "checklist_for": "judicial_record_certificate"}
    response = auth.post("/dossiers/new", changed, page="/dossiers/new")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Đã đổi thủ tục nên chưa ghi nhận gì" in page
    assert 'name="checklist_for" value="law_practice_registration"' in page
    assert 'value="Nguyễn Văn An"' in page and 'value="001089012345"' in page
    assert "H57-261123" not in client.get("/dossiers/").get_data(as_text=True)


def test_choosing_another_procedure_keeps_what_was_typed(client: FlaskClient,
                                                         auth: Auth) -> None:
    auth.login("reception")
    response = auth.post("/dossiers/new", {**APPLICANT, "action": "choose",
                                           "procedure": "law_practice_registration",
                                           "checklist_for": "judicial_record_certificate"},
                         page="/dossiers/new")
    assert response.status_code == 200  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'name="checklist_for" value="law_practice_registration"' in page
    assert 'value="Nguyễn Văn An"' in page and "12 Lý Thường Kiệt" in page
    assert "H57-261123" not in client.get("/dossiers/").get_data(as_text=True)


def test_an_optional_document_named_if_any_is_not_marked_twice(client: FlaskClient,
                                                               auth: Auth) -> None:
    auth.login("reception")
    page = client.get("/dossiers/new?procedure=judicial_record_certificate").get_data(
        as_text=True)
    assert "hộ nghèo…), nếu có</label>" in page
    assert page.count('<span class="badge text-bg-light">nếu có</span>') == 1  # the other one


def test_only_reception_may_receive(client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    assert client.get("/dossiers/new").status_code == 403


def test_an_unknown_dossier_is_a_404_page(client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    assert client.get("/dossiers/000-000000-0000").status_code == 404


def test_the_tracking_sheet_agrees_with_the_receipt_in_page_print_and_json(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    code = auth.post("/dossiers/new", APPLICANT).headers["Location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    page = client.get(f"/dossiers/{code}/tracking").get_data(as_text=True)
    assert "04/12/2026 09:00" in page and "27/11/2026 09:00" in page  # appointment, step due
    printable = client.get(f"/dossiers/{code}/tracking?print=1").get_data(as_text=True)
    assert code in printable and "navbar" not in printable
    token = client.post("/api/v1/auth/token", json={"username": "reception", "password": "pw"})
    sheet = client.get(f"/api/v1/dossiers/{code}/tracking", headers={
        "Authorization": f"Bearer {token.get_json()['token']}"}).get_json()
    assert sheet["appointment_at"] == "2026-12-04T02:00:00+00:00"
    [handoff] = sheet["handoffs"]
    assert handoff["due_at"] == "2026-11-27T02:00:00+00:00"
    assert handoff["result"] == "within_deadline"


def test_receipt_tasklist_and_tracking_sheet_agree_across_tet(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    clock.now = datetime(2027, 2, 3, 15, 30, tzinfo=HANOI)  # after the cut-off, eve of Tết
    auth.login("reception")
    location = auth.post("/dossiers/new", APPLICANT).headers["Location"]  # type: ignore[attr-defined]
    code = location.rsplit("/", 1)[1]
    assert "23/02/2027 07:30" in client.get(location).get_data(as_text=True)
    tracking = client.get(f"/dossiers/{code}/tracking").get_data(as_text=True)
    assert "23/02/2027 07:30" in tracking and "16/02/2027 07:30" in tracking
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    tasks = client.get("/").get_data(as_text=True)
    assert "16/02/2027 07:30" in tasks  # the step's deadline


def test_a_clerk_registers_an_incoming_document_with_its_sender_not_a_citizen(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("clerk")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/dossiers/new">Vào sổ văn bản đến</a>' in home  # the clerk's way in
    page = client.get("/dossiers/new?procedure=incoming_document").get_data(as_text=True)
    assert "Số, ký hiệu văn bản" in page and "Số CCCD/CMND" not in page
    response = auth.post("/dossiers/new", {
        "procedure": "incoming_document", "channel": "post",
        "name": "Ủy ban nhân dân huyện Đông Anh", "id_number": "123/UBND-VP",
        "document_0": "1"},
        page="/dossiers/new?procedure=incoming_document")
    assert response.status_code == 302  # type: ignore[attr-defined]
    dossier = client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "123/UBND-VP" in dossier and "Ủy ban nhân dân huyện Đông Anh" in dossier
    # The sender's document number under its own label, not a citizen's ID card.
    assert "Số, ký hiệu văn bản</dt>" in dossier and "Số CCCD/CMND</dt>" not in dossier


PDF = b"%PDF-1.4\n% scan\n%%EOF\n"


def _code(response: object) -> str:
    return str(response.headers["Location"]).rsplit("/", 1)[1]  # type: ignore[attr-defined]


def test_a_receipt_keeps_its_checklist_and_uploads_and_prints_the_slip(
        client: FlaskClient, auth: Auth) -> None:
    import io
    auth.login("reception")
    response = client.post("/dossiers/new", content_type="multipart/form-data", data={
        **APPLICANT, "document_0_copies": "2", "return_method": "post",
        "return_address": "5 Tràng Tiền, Hà Nội", "csrf_token": auth.csrf("/dossiers/new"),
        "document_0_files": (io.BytesIO(PDF), "tờ khai.pdf")})
    assert response.status_code == 302, response.get_data(as_text=True)
    code = _code(response)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "tờ khai.pdf" in page and "5 Tràng Tiền, Hà Nội" in page
    assert f"/dossiers/{code}/slip.pdf" in page
    import re
    [link] = re.findall(rf'href="(/dossiers/{re.escape(code)}/files/\d+)"', page)
    assert client.get(link).data == PDF
    slip = client.get(f"/dossiers/{code}/slip.pdf")
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    assert slip.data.startswith(b"%PDF") and "inline" in slip.headers["Content-Disposition"]


def test_a_wrong_upload_or_a_missing_document_keeps_what_was_typed(
        client: FlaskClient, auth: Auth) -> None:
    import io
    auth.login("reception")
    form = {**APPLICANT, "csrf_token": auth.csrf("/dossiers/new"),
            "document_1_files": (io.BytesIO(b"MZ\x90"), "virus.exe")}
    del form["document_0"]
    response = client.post("/dossiers/new", content_type="multipart/form-data", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-field-error="document_1"' in page and 'value="001089012345"' in page
    response = auth.post("/dossiers/new", {k: v for k, v in APPLICANT.items()
                                           if k != "document_0"}, page="/dossiers/new")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="document_0"' in page and "phiếu yêu cầu bổ sung" in page
    assert "H57-261123" not in client.get("/dossiers/").get_data(as_text=True)


def test_the_desk_issues_a_supplement_request_and_a_refusal_as_pdfs(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    incomplete = {k: v for k, v in APPLICANT.items() if k != "document_1"}
    response = auth.post("/dossiers/new", {**incomplete, "action": "supplement",
                                           "supplement_note": "Ảnh 4x6"}, page="/dossiers/new")
    code = _code(response)
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Ảnh 4x6" in page and "slip.pdf" not in page
    [notice] = __import__("re").findall(rf"/dossiers/{code}/notices/\d+\.pdf", page)
    pdf = client.get(notice)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/dossiers/{code}/slip.pdf").status_code == 404
    response = auth.post("/dossiers/new", {**APPLICANT, "action": "refuse", "reason": ""},
                         page="/dossiers/new")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field-error="reason"' in response.get_data(as_text=True)  # type: ignore[attr-defined]
    refused = _code(auth.post("/dossiers/new", {**APPLICANT, "action": "refuse",
                                                "reason": "Không thuộc thẩm quyền"},
                              page="/dossiers/new"))
    assert "Không thuộc thẩm quyền" in client.get(f"/dossiers/{refused}").get_data(as_text=True)


def test_the_printed_forms_are_for_staff_only(client: FlaskClient, auth: Auth) -> None:
    auth.login("reception")
    code = _code(auth.post("/dossiers/new", APPLICANT))
    auth.post("/logout", {}, page="/")
    assert client.get(f"/dossiers/{code}/slip.pdf").status_code in (302, 401)
    auth.login("designer")
    assert client.get(f"/dossiers/{code}/slip.pdf").status_code == 403
    assert client.get(f"/dossiers/{code}/notices/1.pdf").status_code == 403


def test_the_online_queue_is_accepted_sent_back_or_refused(
        client: FlaskClient, auth: Auth, app: object) -> None:
    from tests.conftest import at
    from tests.engine.test_reception import submitted
    core = app.extensions["motcua"]  # type: ignore[attr-defined]
    first = submitted(core, at(19, 16), "000.00.18.H57-261119-0001")
    second = submitted(core, at(20, 16), "000.00.18.H57-261120-0001")
    third = submitted(core, at(20, 17), "000.00.18.H57-261120-0002")
    auth.login("reception")
    index = client.get("/dossiers/").get_data(as_text=True)
    queue = index[index.index('data-testid="submission-queue"'):]
    assert queue.index(first) < queue.index(second) < queue.index(third)
    page = client.get(f"/dossiers/{first}").get_data(as_text=True)
    assert 'data-testid="submission-actions"' in page
    auth.post(f"/dossiers/{first}/accept", {}, page=f"/dossiers/{first}")
    page = client.get(f"/dossiers/{first}").get_data(as_text=True)
    assert "04/12/2026 09:00" in page and "slip.pdf" in page
    auth.post(f"/dossiers/{second}/supplement-request", {"items": "Bản chụp CCCD"},
              page=f"/dossiers/{second}")
    auth.post(f"/dossiers/{third}/refusal", {"reason": "Không cư trú tại tỉnh"},
              page=f"/dossiers/{third}")
    index = client.get("/dossiers/").get_data(as_text=True)
    assert 'data-testid="queue-empty"' in index
    assert "Bản chụp CCCD" in client.get(f"/dossiers/{second}").get_data(as_text=True)
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    response = auth.post(f"/dossiers/{third}/accept", {}, page=f"/dossiers/{third}")
    assert response.status_code == 403  # type: ignore[attr-defined]


def test_an_answered_desk_supplement_is_received_only_with_its_documents_ticked(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    from engine.services.supplement_answers import answer_supplement
    from tests.conftest import at
    auth.login("reception")
    code = _code(auth.post("/dossiers/new", {**APPLICANT, "document_2": "",
                                             "action": "supplement"}, page="/dossiers/new"))
    answer_supplement(sqlite_core, code, note="Đã bổ sung giấy tạm trú", files=[],
                      now=at(24, 10))
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "chờ tiếp nhận · 24/11/2026 10:00" in page  # when it came back to the queue
    assert 'name="document_2"' in page and 'name="document_0"' not in page
    auth.post(f"/dossiers/{code}/accept", {}, page=f"/dossiers/{code}")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert "Thiếu giấy tờ bắt buộc: Bản chụp giấy tờ chứng minh nơi thường trú" in page
    assert 'data-testid="submission-actions"' in page  # still waiting, nothing recorded
    auth.post(f"/dossiers/{code}/accept", {"document_2": "1"}, page=f"/dossiers/{code}")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-testid="submission-actions"' not in page and "slip.pdf" in page
    assert "chưa nộp" not in page.split('data-testid="checklist"')[1].split("</ul>")[0]


def test_a_waiting_or_refused_submission_does_not_also_read_not_received(
        client: FlaskClient, auth: Auth, app: object) -> None:
    from tests.conftest import at
    from tests.engine.test_reception import submitted
    core = app.extensions["motcua"]  # type: ignore[attr-defined]
    waiting = submitted(core, at(19, 16), "000.00.18.H57-261119-0001")
    refused = submitted(core, at(20, 16), "000.00.18.H57-261120-0001")
    auth.login("reception")
    auth.post(f"/dossiers/{refused}/refusal", {"reason": "Không cư trú tại tỉnh"},
              page=f"/dossiers/{refused}")
    sent_back = _code(auth.post("/dossiers/new", {**APPLICANT, "document_2": "",
                                                  "action": "supplement"}))
    for code, status in [(waiting, "Mới nộp trực tuyến</dd>"),
                         (refused, "Từ chối tiếp nhận</dd>"),
                         (sent_back, "Yêu cầu bổ sung · Không tiếp nhận</dd>")]:
        page = client.get(f"/dossiers/{code}").get_data(as_text=True)
        assert f'data-testid="dossier-status">{status}' in page
    assert "không tiếp nhận" not in client.get("/dossiers/").get_data(as_text=True)


def test_returning_by_post_asks_for_the_tracking_number_beside_the_field(
        client: FlaskClient, auth: Auth, app: object) -> None:
    from tests.conftest import MONDAY_9AM
    from tests.engine.walk import complete, ready_tasks
    core = app.extensions["motcua"]  # type: ignore[attr-defined]
    auth.login("reception")
    code = _code(auth.post("/dossiers/new", APPLICANT))
    for step in ["check_records", "draft_certificate", "review", "sign"]:
        complete(core, code, step, MONDAY_9AM)
    [task] = ready_tasks(core, code)
    response = auth.post(f"/tasks/{task.id}/complete", {
        "return_method": "post", "receiver_name": "Nguyễn Văn An",
        "returned_date": "2026-11-23"}, page=f"/tasks/{task.id}")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'data-field-error="postal_tracking"' in page
    assert 'data-field-error="postal_address"' in page
    auth.post(f"/tasks/{task.id}/complete", {
        "return_method": "post", "receiver_name": "Nguyễn Văn An", "returned_date": "2026-11-23",
        "postal_address": "5 Tràng Tiền, Hà Nội", "postal_tracking": "EB123456789VN"},
        page=f"/tasks/{task.id}")
    page = client.get(f"/dossiers/{code}").get_data(as_text=True)
    assert 'data-testid="tracking-number">EB123456789VN' in page
    assert "5 Tràng Tiền, Hà Nội" in page


def test_reception_reads_the_applicants_answer_to_a_supplement_request(
        client: FlaskClient, auth: Auth, sqlite_core: Core) -> None:
    from engine.services.supplement_answers import answer_supplement
    from tests.conftest import MONDAY_9AM, at
    from tests.engine.walk import complete, ready_tasks, receive

    dossier = receive(sqlite_core, MONDAY_9AM)
    complete(sqlite_core, dossier.code, "check_records", at(23, 10),
             {"dossier_complete": False, "missing_documents": "Bản chụp CCCD",
              "residence_history": "one_province", "needs_verification": False})
    answer_supplement(sqlite_core, dossier.code, note="CCCD mới cấp, gửi bản chụp hai mặt",
                      files=[], now=at(23, 14))
    auth.login("reception")
    page = client.get(f"/dossiers/{dossier.code}").get_data(as_text=True)
    assert "Trả lời của người nộp" in page and "CCCD mới cấp, gửi bản chụp hai mặt" in page
    [step] = ready_tasks(sqlite_core, dossier.code)
    task_page = client.get(f"/tasks/{step.id}").get_data(as_text=True)
    assert "Bản chụp CCCD" in task_page  # what was asked for
    assert "CCCD mới cấp, gửi bản chụp hai mặt" in task_page  # and the answer
