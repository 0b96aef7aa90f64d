"""The applicant's satisfaction rating, once per dossier, after the result is returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.bootstrap import Core
from engine.errors import N_, Conflict, InvalidInput, NotFound
from engine.models import Dossier, Event, Rating
from engine.services.portal import NOT_FOUND
from workflows.forms import field_errors
from workflows.rating import QUESTIONS, RATING_SCHEMA
from workflows.statuses import DossierStatus

ALREADY_RATED = N_("This dossier has already been rated. Thank you for your opinion.")


def rate(core: Core, code: str, answers: dict[str, Any], now: datetime,
         lang: str = "vi") -> Rating:
    """Record the rating of a dossier whose result was returned; refuse a second one."""
    answers = {k: v.strip() if isinstance(v, str) else v for k, v in answers.items()
               if v not in ("", None)}
    errors = field_errors(RATING_SCHEMA, answers, lang)
    with core.uow() as uow:
        session = uow.session
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        if dossier is None:
            raise NotFound(NOT_FOUND)
        if dossier.status != DossierStatus.RESULT_RETURNED:
            raise Conflict(N_("A dossier can be rated once its result has been returned."))
        if session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id)):
            raise Conflict(ALREADY_RATED)
        if errors:
            raise InvalidInput(N_("The rating was not saved: correct the fields marked."),
                               errors)
        rating = Rating(dossier_id=dossier.id, created_at=now,
                        answers={q: answers[q] for q, _, _ in QUESTIONS if q in answers},
                        overall=answers["overall"], comment=answers.get("comment"))
        session.add(rating)
        session.add(Event(dossier_id=dossier.id, at=now, actor=None, kind="rated",
                          data={"overall": rating.overall}))
        try:
            uow.commit()
        except IntegrityError as exc:  # rated meanwhile from another browser
            raise Conflict(ALREADY_RATED) from exc
        return rating
