"""In-app notifications of officers: the list, the unread count, marking them read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from engine.bootstrap import Core
from engine.models import Dossier, Notification, User


def unread_count(core: Core, user: User) -> int:
    """How many notifications the user has not read."""
    with core.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def latest(core: Core, user: User, limit: int = 100) -> list[tuple[Notification, str | None]]:
    """The user's latest notifications with their dossier codes, newest first."""
    with core.uow() as uow:
        rows = uow.session.execute(
            select(Notification, Dossier.code)
            .outerjoin(Dossier, Dossier.id == Notification.dossier_id)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        ).all()
        return [(n, code) for n, code in rows]


def mark_all_read(core: Core, user: User, now: datetime) -> None:
    """Mark every unread notification of the user as read."""
    with core.uow() as uow:
        uow.session.execute(update(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=now))
        uow.commit()
