"""Hostile scripts that reached a deployed version stop their dossier in incident.

The designer's validation refuses them before deployment (tests/engine/test_validation.py);
these tests deploy them anyway, as a version deployed before a rule existed would be, and
check that the runtime still stops each one: the dossier is kept as it was, in incident, with
the reason, and nothing escapes into the server.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Dossier, ProcessInstance
from engine.scripting import SCRIPT_ENGINE
from engine.services import catalogue, dossiers
from engine.services.incidents import ProcedureIncident
from engine.specs import read_package
from tests.conftest import MONDAY_9AM
from tests.engine.walk import APPLICANT, complete

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "scripted_review"
ORIGINAL = "fee_per_copy = 200000 // copies"
LATER = MONDAY_9AM + timedelta(minutes=10)

HOSTILE = {
    "import os\nos.system('touch /tmp/motcua-pwned')": "imports are not allowed",
    "x = ().__class__.__mro__": "is not allowed",
    "x = open('/etc/passwd').read()": "calling 'open' is not allowed",
    "while True:\n    copies = copies + 1": "runs too long",
    "x = 'x' * 10 ** 10": "at most 1,000,000 items",
    "s = 'ab'\nfor i in range(64):\n    s = s + s": "at most 1,000,000 items",
}


@pytest.mark.parametrize("source", list(HOSTILE))
def test_a_hostile_script_stops_its_dossier_in_incident(core: Core, source: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The infinite loop stops after 50 ms instead of a second.
    monkeypatch.setattr(SCRIPT_ENGINE.environment, "time_limit", 0.05)
    package = read_package(FIXTURE)
    assert ORIGINAL in package.bpmn_xml
    hostile = dataclasses.replace(package, bpmn_xml=package.bpmn_xml.replace(
        ORIGINAL, source.replace("<", "&lt;")))
    catalogue.deploy(core, hostile, "test", MONDAY_9AM)
    code = dossiers.receive_dossier(core, procedure_code="scripted_review", applicant=APPLICANT,
                                    channel="in_person", actor="reception", now=MONDAY_9AM).code

    with pytest.raises(ProcedureIncident):
        complete(core, code, "review", LATER, {"copies": 2})

    with core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        instance = uow.session.get_one(ProcessInstance, dossier.instance_id)
    assert instance.status == "incident"
    assert HOSTILE[source] in (instance.incident or "")
    assert dossier.status == 4  # still processing: nothing half moved
    assert not Path("/tmp/motcua-pwned").exists()
