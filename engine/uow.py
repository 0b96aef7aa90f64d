"""Unit of work: one transaction around one use case."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.db import ends_unchanged

log = logging.getLogger(__name__)


class UnitOfWork:
    """`with uow:` opens a session; `uow.commit()` commits; leaving without it rolls back."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back what was not committed and detaches objects without expiring
        # them, so that what a service returns stays readable. A PostgreSQL transaction that
        # changed nothing (a lost race, a form with errors, reads) commits instead, which
        # keeps the connection's prepared statements (engine.db.ends_unchanged).
        try:
            if ends_unchanged(self.session):
                try:
                    self.session.commit()
                except Exception:  # it changed nothing: close() rolls back instead
                    log.warning("a unit of work that changed nothing failed to commit",
                                exc_info=True)
        finally:
            self.session.close()

    def commit(self) -> None:
        """Commit the transaction."""
        self.session.commit()

    def rollback(self) -> None:
        """Roll the transaction back."""
        self.session.rollback()
