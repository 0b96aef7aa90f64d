"""The applicant answers a supplement request online: a note and the missing documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from engine.bootstrap import Core
from engine.errors import CHANGED_MEANWHILE, N_, Conflict, InvalidInput, NotFound
from engine.models import Dossier, DossierNotice, Event, Notification, User
from engine.services.attachments import attach
from engine.services.portal import NOT_FOUND, Upload, store_uploads
from workflows.statuses import DossierStatus, transition

NOTE_LIMIT = 2000
RECEPTION = "reception"


def answer_supplement(core: Core, code: str, *, note: str, files: list[Upload],
                      now: datetime, lang: str = "vi") -> DossierNotice:
    """Record the answer; a dossier not yet received goes back to reception's queue."""
    english = lang == "en"
    note = note.strip()
    errors: dict[str, str] = {}
    if len(note) > NOTE_LIMIT:
        errors["note"] = (f"At most {NOTE_LIMIT} characters." if english
                          else f"Tối đa {NOTE_LIMIT} ký tự.")
    if not note and not files:
        errors["files"] = ("Attach the documents asked for, or write a note explaining your "
                           "answer." if english else
                           "Vui lòng đính kèm giấy tờ được yêu cầu hoặc ghi nội dung trả lời.")
    with core.uow() as uow:
        session = uow.session
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        if dossier is None:
            raise NotFound(NOT_FOUND)
        notice = session.scalars(select(DossierNotice).where(
            DossierNotice.dossier_id == dossier.id, DossierNotice.kind == "supplement",
            DossierNotice.answered_at.is_(None)).order_by(DossierNotice.id.desc())).first()
        if dossier.status != DossierStatus.SUPPLEMENT_REQUESTED or notice is None:
            raise Conflict(N_("This dossier has no supplement request waiting for an answer."))
        if notice.answer_note is not None:
            raise Conflict(N_("You have already answered this supplement request; the "
                              "reception desk is checking it. Bring anything you forgot to "
                              "the reception desk."))
        stored, file_errors = store_uploads(core, [("files", f) for f in files], lang)
        errors.update({k: v for k, v in file_errors.items() if k not in errors})
        if errors:
            raise InvalidInput(N_("The answer was not sent: correct the fields marked and "
                                  "attach the files again."), errors)
        for _, file in stored:
            attach(session, dossier.id, file, purpose="supplement", actor=None, now=now)
        notice.answer_note = note
        events = [Event(dossier_id=dossier.id, at=now, actor=None, kind="supplement_answered",
                        data={"notice_id": notice.id, "files": len(stored)})]
        if dossier.instance_id is None:
            # Sent back by reception before acceptance: back into reception's queue.
            notice.answered_at = now
            target = transition(DossierStatus(dossier.status), DossierStatus.SUBMITTED_ONLINE)
            events.append(Event(dossier_id=dossier.id, at=now, actor=None,
                                kind="status_changed",
                                data={"from": dossier.status, "to": int(target)}))
            moved = session.execute(
                update(Dossier).where(Dossier.id == dossier.id,
                                      Dossier.status == int(DossierStatus.SUPPLEMENT_REQUESTED))
                .values(status=int(target)).execution_options(synchronize_session=False))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(CHANGED_MEANWHILE)
        else:
            # The BPMN step "receive_supplement" waits: reception completes it, which ends
            # the clock's pause. Tell every reception officer.
            for user in session.scalars(select(User).where(User.active.is_(True))):
                if RECEPTION in user.role_set:
                    session.add(Notification(
                        user_id=user.id, dossier_id=dossier.id, kind="supplement_answered",
                        data={"code": dossier.code, "files": len(stored)}, created_at=now))
        session.add_all(events)
        uow.commit()
        return notice
