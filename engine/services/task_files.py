"""Files officers attach to a dossier while working on one of its tasks."""

from __future__ import annotations

from datetime import datetime
from typing import IO, BinaryIO, cast

from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import N_, Conflict, NotFound
from engine.models import Attachment, Dossier, User
from engine.projections import event, write_events
from engine.services.attachments import attach, store_file
from engine.services.tasks import get_task


def attach_to_task(core: Core, user: User, task_id: str, stream: IO[bytes], filename: str,
                   now: datetime, *, lang: str = "vi", field: str = "file") -> Attachment:
    """Check and store a file, and attach it to the task's dossier (purpose "task")."""
    task = get_task(core, user, task_id).task
    if task.state != "ready":
        raise Conflict(N_("This task has already been completed. Reload your task list."),
                       state=task.state)
    if task.claimed_by is not None and task.claimed_by != user.id:
        raise Conflict(N_("Another officer has claimed this task."))
    stored = store_file(core, cast(BinaryIO, stream), filename, field=field, lang=lang)
    with core.uow() as uow:
        attachment = attach(uow.session, task.dossier_id, stored, purpose="task",
                            actor=user.username, now=now, task_id=task.id)
        uow.session.flush()
        write_events(uow.session.connection(), [event(
            task.dossier_id, "attached", now, user.username, task.id, task.name,
            {"attachment_id": attachment.id, "filename": attachment.filename})])
        uow.commit()
        return attachment


def dossier_attachments(core: Core, code: str) -> list[Attachment]:
    """The files of the dossier with this code, oldest first."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Dossier.id, Attachment).outerjoin(Attachment,
                                                     Attachment.dossier_id == Dossier.id)
            .where(Dossier.code == code).order_by(Attachment.id)).all()
    if not rows:
        raise NotFound(N_("No dossier has the code %(code)s. Check the code and try again."),
                       code=code)
    return [attachment for _, attachment in rows if attachment is not None]

