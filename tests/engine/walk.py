"""Walking a dossier of the judicial record procedure through its steps, for tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import Dossier, ProcedureVersion, Task, User
from engine.services import dossiers, tasks

JUDICIAL_RECORD = "judicial_record_certificate"
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001089012345", "phone": "0912345678",
             "address": "12 Lý Thường Kiệt, Hà Nội"}


def user(core: Core, username: str) -> User:
    """The user with this username."""
    with core.uow() as uow:
        return uow.session.scalars(select(User).where(User.username == username)).one()


def receive(core: Core, now: datetime, **overrides: Any) -> Dossier:
    """Receive a judicial record dossier in person."""
    arguments: dict[str, Any] = {"procedure_code": JUDICIAL_RECORD, "applicant": APPLICANT,
                                 "channel": "in_person", "actor": "reception", **overrides}
    return dossiers.receive_dossier(core, now=now, **arguments)


def ready_tasks(core: Core, code: str) -> list[Task]:
    """The dossier's ready tasks."""
    return [t for t in dossiers.get_dossier(core, code).tasks if t.state == "ready"]


def complete(core: Core, code: str, bpmn_id: str, now: datetime,
             data: dict[str, Any] | None = None) -> Dossier:
    """Complete the dossier's ready task `bpmn_id` as the user of its role."""
    [task] = [t for t in ready_tasks(core, code) if t.bpmn_id == bpmn_id]
    values = data if data is not None else step_data(bpmn_id, now.date().isoformat())
    return tasks.complete_task(core, user(core, task.role), task.id, values, now)


def form_of(core: Core, code: str, form_key: str) -> dict[str, Any]:
    """The form `form_key` of the version dossier `code` runs on (a dossier's detail leaves
    its version's forms unread)."""
    with core.uow() as uow:
        return dict(uow.session.scalars(
            select(ProcedureVersion.forms).join(Dossier,
                                                Dossier.procedure_version_id == ProcedureVersion.id)
            .where(Dossier.code == code)).one()[form_key])

