"""Officers' internal comments on a dossier: never shown to the applicant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.lookups import dossier_by_code
from engine.models import Comment, Dossier, Task, User
from engine.projections import event, write_events
from engine.services.dossiers import check_scope

MAX_LENGTH = 4000


@dataclass(frozen=True)
class CommentRow:
    """A comment with its author's name."""

    comment: Comment
    author_name: str


def _dossier(session: Session, code: str) -> Dossier:
    dossier = dossier_by_code(session, code)
    return dossier


def add_comment(core: Core, user: User, code: str, body: str, now: datetime, *,
                task_id: str | None = None, lang: str = "vi") -> Comment:
    """Add an officer's comment to the dossier, at one of its steps if `task_id` is given."""
    text = body.strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidInput(N_("The comment was not added: correct the fields marked."), {
            "body": (f"Comment must have 1 to {MAX_LENGTH} characters." if lang == "en" else
                     f"Ý kiến phải có từ 1 đến {MAX_LENGTH} ký tự.")})
    check_scope(core, user, code)
    with core.uow() as uow:
        dossier = _dossier(uow.session, code)
        if task_id is not None:
            task = uow.session.get(Task, task_id)
            if task is None or task.dossier_id != dossier.id:
                raise NotFound(N_("This task does not exist. Reload your task list."),
                               task_id=task_id)
        comment = Comment(dossier_id=dossier.id, task_id=task_id, author=user.username,
                          body=text, created_at=now)
        uow.session.add(comment)
        uow.session.flush()
        write_events(uow.session.connection(), [event(
            dossier.id, "commented", now, user.username, task_id, None,
            {"comment_id": comment.id})])
        uow.commit()
        return comment


def list_comments(core: Core, code: str) -> list[CommentRow]:
    """The dossier's comments, oldest first, with their authors' names (one query)."""
    with core.uow() as uow:
        dossier = _dossier(uow.session, code)
        rows = uow.session.execute(
            select(Comment, User.full_name).outerjoin(User, User.username == Comment.author)
            .where(Comment.dossier_id == dossier.id).order_by(Comment.created_at, Comment.id)
        ).all()
        return [CommentRow(comment, name or comment.author) for comment, name in rows]
