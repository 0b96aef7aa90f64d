"""Online submissions reception has not accepted are counted nowhere in Biểu II.06a."""

from __future__ import annotations

import io

from sqlalchemy import update

from engine.bootstrap import Core
from engine.models import Dossier
from engine.services import online_submission, reports
from engine.services.online_submission import Submission, submit_online
from engine.services.portal import Upload
from tests.conftest import at
from tests.engine.walk import APPLICANT, receive

PDF = b"%PDF-1.4\n%%EOF\n"


def _submit(core: Core, day: int) -> str:
    files = {i: [Upload(io.BytesIO(PDF), "scan.pdf")] for i in range(5)}
    return submit_online(core, Submission(
        "judicial_record_certificate", {**APPLICANT, "birth_date": "1990-01-01"}, files,
        "in_person", "", True), at(day, 9)).code


def _judicial_row(core: Core, first: str, last: str) -> reports.ReportRow:
    report = reports.summary(core, first=first, last=last, by="procedure")
    [row] = [r for r in report.rows if r.key == "judicial_record_certificate"]
    return row


def test_online_submissions_not_yet_received_are_not_counted(core: Core) -> None:
    assert online_submission.NOT_RECEIVED == reports.NOT_RECEIVED
    _submit(core, 23)                                   # waits in reception's queue
    receive(core, at(23, 10), channel="online")         # received: counted
    _submit(core, 30)                                   # later period, still waiting
    row = _judicial_row(core, "2026-11-23", "2026-11-27")
    assert (row.online, row.in_person_post, row.carried_over) == (1, 0, 0)
    assert (row.within_deadline, row.overdue) == (1, 0)
    later = _judicial_row(core, "2026-11-30", "2026-12-04")
    assert (later.online, later.carried_over, later.within_deadline + later.overdue) == (0, 1, 1)


def test_a_submission_counts_once_reception_accepts_it(core: Core) -> None:
    code = _submit(core, 23)
    assert _judicial_row(core, "2026-11-23", "2026-11-27").online == 0
    with core.uow() as uow:  # what reception's acceptance does to the marker
        uow.session.execute(update(Dossier).where(Dossier.code == code).values(outcome=None))
        uow.commit()
    assert _judicial_row(core, "2026-11-23", "2026-11-27").online == 1
