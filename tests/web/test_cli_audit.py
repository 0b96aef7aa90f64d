"""`motcua seal-audit` and `motcua verify-audit`: a row altered by hand is reported."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from engine.bootstrap import Core
from engine.models import Event
from tests.conftest import MONDAY_9AM
from tests.engine.walk import complete, receive
from web.cli_audit import seal_audit, verify_audit


def test_verify_audit_reports_the_first_row_altered_by_hand(app: Flask,
                                                            sqlite_core: Core) -> None:
    dossier = receive(sqlite_core, MONDAY_9AM)
    complete(sqlite_core, dossier.code, "check_records", MONDAY_9AM + timedelta(hours=1))
    runner = app.test_cli_runner()

    unsealed = runner.invoke(verify_audit)
    assert unsealed.exit_code == 0, unsealed.output
    assert "intact: 0 events sealed" in unsealed.output
    assert "not yet sealed" in unsealed.output

    sealed = runner.invoke(seal_audit)
    assert sealed.exit_code == 0 and "events sealed" in sealed.output
    intact = runner.invoke(verify_audit)
    assert intact.exit_code == 0 and "audit trail intact" in intact.output
    assert "not yet sealed" not in intact.output

    with sqlite_core.db.begin() as conn:
        target = conn.scalars(select(Event.id).order_by(Event.id).offset(2)).first()
        conn.execute(update(Event).where(Event.id == target).values(kind="refused"))
    broken = runner.invoke(verify_audit)
    assert broken.exit_code == 1
    assert (f"audit trail BROKEN at link 3 (event {target}): the event was altered after it "
            "was sealed") in broken.output
