"""Apology letters in the browser pages: drafted at the desk, approved by the leader."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.bootstrap import Core
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import receive
from tests.web.conftest import Auth, Clock


def test_the_desk_drafts_the_leader_approves_and_the_letter_prints(
        client: FlaskClient, auth: Auth, sqlite_core: Core, clock: Clock) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    clock.now = at(3, 9, month=12)
    auth.login("reception")
    page = client.get(f"/apologies/new/{dossier.code}").get_data(as_text=True)
    assert 'value="2026-12-09"' in page  # the proposed date
    response = auth.post(f"/apologies/new/{dossier.code}", {"reason": "ngắn", "new_date": ""},
                         page=f"/apologies/new/{dossier.code}")
    assert response.status_code == 422  # type: ignore[attr-defined]
    saturday = auth.post(f"/apologies/new/{dossier.code}",
                         {"reason": "Chờ kết quả xác minh của Công an tỉnh",
                          "new_date": "2026-12-05"}, page=f"/apologies/new/{dossier.code}")
    assert saturday.status_code == 422  # type: ignore[attr-defined]
    assert ("Ngày 05/12/2026 không phải ngày làm việc" in saturday.get_data(  # type: ignore[attr-defined]
        as_text=True) and "07/12/2026" in saturday.get_data(as_text=True))  # type: ignore[attr-defined]
    auth.post(f"/apologies/new/{dossier.code}",
              {"reason": "Chờ kết quả xác minh của Công an tỉnh", "new_date": "2026-12-09"},
              page=f"/apologies/new/{dossier.code}")
    assert "Chờ lãnh đạo phê duyệt" in client.get(f"/dossiers/{dossier.code}").get_data(
        as_text=True)
    auth.post("/logout", {}, page="/")
    auth.login("leader")
    waiting = client.get("/apologies/").get_data(as_text=True)
    [apology_id] = re.findall(r'data-apology-id="(\d+)"', waiting)
    auth.post(f"/apologies/{apology_id}/decide", {"decision": "approve", "note": ""},
              page="/apologies/")
    letter = client.get(f"/apologies/{apology_id}/letter").get_data(as_text=True)
    assert dossier.code in letter and "09/12/2026 11:30" in letter  # due that morning
    assert "Chờ kết quả xác minh của Công an tỉnh" in letter
