"""Citizens get e-mail when their dossier is received, sent back, late (the apology) and ready."""

from __future__ import annotations

from sqlalchemy import select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import OutboxMessage
from engine.services import apologies
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import APPLICANT, complete, receive, user


def _mail(core: Core) -> list[tuple[str, str]]:
    with core.uow() as uow:
        return [(m.key.split(":", 1)[1], m.subject) for m in uow.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def test_the_applicant_is_told_each_turn_of_the_dossier_once(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM, applicant={**APPLICANT, "email": "an@example.vn"})
    complete(core, dossier.code, "check_records", at(23, 10),
             step_data("check_records", "2026-11-23", complete=False))
    complete(core, dossier.code, "receive_supplement", at(24, 10))
    letter = apologies.draft(core, user(core, "head"), dossier.code,
                             "Chờ kết quả xác minh của Công an tỉnh", at(14, 9, month=12),
                             at(25, 9))
    apologies.decide(core, user(core, "leader"), letter.id, True, "", at(25, 10))
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign"]:
        complete(core, dossier.code, bpmn_id, at(26, 9))
    kinds = [kind for kind, _ in _mail(core)]
    assert kinds == ["received", "supplement:1", f"{letter.id}", "resolved"]
    assert all(subject.startswith("[") and dossier.code in subject for _, subject in _mail(core))


def test_no_mail_without_an_address(core: Core) -> None:
    receive(core, MONDAY_9AM)
    assert _mail(core) == []
