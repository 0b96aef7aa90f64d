"""A dossier stopped on a version's error moves to the corrected version; its retry runs it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Dossier, ProcedureVersion, ProcessInstance
from engine.services import catalogue, dossiers, incidents, migration
from engine.services.incidents import ProcedureIncident
from engine.specs import Package, read_package
from tests.conftest import CATALOGUE, MONDAY_9AM
from tests.engine.walk import APPLICANT, complete, ready_tasks, user

LAW = "law_practice_registration"
CHECK = "check_practice_dossier"
CONDITION = "dossier_complete == False</"
BROKEN = "dossier_complete == False and khong_co_bien &gt; 1</"  # unknown at run time only
FIXED = "not dossier_complete</"
INCOMPLETE = {"dossier_complete": False, "organisation_form": "law_office",
              "organisation_name": "Văn phòng luật sư An Bình", "practice_eligible": True,
              "missing_documents": "Giấy tờ chứng minh trụ sở"}
SCRIPTED = Path(__file__).resolve().parent.parent / "fixtures" / "scripted_review"


def law_with(condition: str) -> Package:
    package = read_package(CATALOGUE / LAW)
    return replace(package, bpmn_xml=package.bpmn_xml.replace(CONDITION, condition))


def stopped_on_version_two(core: Core) -> str:
    """Steps 1–3 of the report: v2's condition fails once the specialist has examined."""
    catalogue.deploy(core, law_with(BROKEN), "designer", MONDAY_9AM + timedelta(minutes=1))
    code = dossiers.receive_dossier(core, procedure_code=LAW, applicant=APPLICANT,
                                    channel="in_person", actor="reception",
                                    now=MONDAY_9AM + timedelta(minutes=2)).code
    with pytest.raises(ProcedureIncident):
        complete(core, code, CHECK, MONDAY_9AM + timedelta(minutes=3), INCOMPLETE)
    return code


def _instance(core: Core, code: str) -> tuple[int, ProcessInstance]:
    """The version number the dossier runs on, and its process instance."""
    with core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        instance = uow.session.get_one(ProcessInstance, dossier.instance_id)
        number = uow.session.get_one(ProcedureVersion, instance.procedure_version_id).version
        assert dossier.procedure_version_id == instance.procedure_version_id
        uow.session.expunge(instance)
        return number, instance


def deploy(core: Core, package: Package, minutes: int) -> None:
    catalogue.deploy(core, package, "designer", MONDAY_9AM + timedelta(minutes=minutes))


def test_a_stopped_dossier_moves_to_the_fixed_version_and_its_retry_goes_on(
        core: Core) -> None:
    code = stopped_on_version_two(core)
    deploy(core, law_with(FIXED), 4)
    [row] = migration.preview(core, LAW, 3).candidates
    assert (row.code, row.version, row.can_move) == (code, 2, True)
    assert "khong_co_bien" in (row.incident or "")
    [outcome] = migration.migrate(core, LAW, 3, {code: row.revision}, "designer",
                                  MONDAY_9AM + timedelta(minutes=5))
    assert outcome.moved and outcome.incident
    number, instance = _instance(core, code)
    # Still stopped on v2's error, with the examination kept, until someone retries.
    assert (number, instance.status) == (3, "incident")
    assert "khong_co_bien" in (instance.incident or "")
    assert [(t.bpmn_id, t.state) for t in dossiers.get_dossier(core, code).tasks] == [
        (CHECK, "completed")]
    assert [r.dossier_code for r in incidents.list_incidents(core)] == [code]
    retried = incidents.retry_incident(core, user(core, "designer"), code,
                                       MONDAY_9AM + timedelta(minutes=6))
    assert retried.cleared
    assert (_instance(core, code)[1].status, _instance(core, code)[1].incident) == (
        "running", None)
    assert [t.bpmn_id for t in ready_tasks(core, code)] == ["receive_supplement"]
    detail = dossiers.get_dossier(core, code)
    assert detail.dossier.status == 5  # supplement requested: the fixed condition's way
    kinds = [e.kind for e in detail.events]
    assert kinds.index("incident") < kinds.index("migrated") < kinds.index("incident_resolved")


def test_a_moved_dossier_whose_new_version_still_fails_stays_stopped_on_the_new_error(
        core: Core) -> None:
    code = stopped_on_version_two(core)
    deploy(core, law_with("not dossier_complete and con_thieu &gt; 0</"), 4)
    [outcome] = migration.migrate(core, LAW, 3, {code: None}, "designer",
                                  MONDAY_9AM + timedelta(minutes=5))
    assert outcome.moved
    again = incidents.retry_incident(core, user(core, "designer"), code,
                                     MONDAY_9AM + timedelta(minutes=6))
    assert not again.cleared
    assert "con_thieu" in (again.error or "") and "khong_co_bien" not in (again.error or "")
    number, instance = _instance(core, code)
    assert (number, instance.status) == (3, "incident")
    assert "con_thieu" in (instance.incident or "")
    assert [(t.bpmn_id, t.state) for t in dossiers.get_dossier(core, code).tasks] == [
        (CHECK, "completed")]


def test_a_retry_without_a_move_runs_the_old_version_again(core: Core) -> None:
    code = stopped_on_version_two(core)
    deploy(core, law_with(FIXED), 4)
    again = incidents.retry_incident(core, user(core, "designer"), code,
                                     MONDAY_9AM + timedelta(minutes=5))
    assert not again.cleared and "khong_co_bien" in (again.error or "")
    assert again.newer_version == 3  # what the page tells: move it there, then retry


def test_a_stopped_dossier_whose_path_changed_cannot_move(core: Core) -> None:
    code = stopped_on_version_two(core)
    # Version 3 puts a step between the examination and the failed gateway.
    package = law_with(FIXED)
    xml = package.bpmn_xml.replace(
        '<bpmn:sequenceFlow id="flow_check_to_gateway" sourceRef="check_practice_dossier" '
        'targetRef="gateway_dossier_complete" />',
        '<bpmn:sequenceFlow id="flow_check_to_gateway" sourceRef="check_practice_dossier" '
        'targetRef="note_check" />\n'
        '    <bpmn:scriptTask id="note_check" name="Ghi nhận"><bpmn:incoming>'
        'flow_check_to_gateway</bpmn:incoming><bpmn:outgoing>flow_note_to_gateway'
        '</bpmn:outgoing><bpmn:script>checked = True</bpmn:script></bpmn:scriptTask>\n'
        '    <bpmn:sequenceFlow id="flow_note_to_gateway" sourceRef="note_check" '
        'targetRef="gateway_dossier_complete" />')
    xml = xml.replace('<bpmn:incoming>flow_check_to_gateway</bpmn:incoming>\n'
                      '      <bpmn:outgoing>flow_incomplete',
                      '<bpmn:incoming>flow_note_to_gateway</bpmn:incoming>\n'
                      '      <bpmn:outgoing>flow_incomplete')
    deploy(core, replace(package, bpmn_xml=xml), 4)
    [row] = migration.preview(core, LAW, 3).candidates
    assert not row.can_move and row.incident
    assert row.reasons[0].message == "its completed step '%(name)s' was changed (%(what)s)"
    [outcome] = migration.migrate(core, LAW, 3, {code: row.revision}, "designer",
                                  MONDAY_9AM + timedelta(minutes=5))
    assert not outcome.moved and not outcome.conflict
    assert _instance(core, code)[0] == 2


def test_a_retry_after_the_preview_makes_the_move_fail_cleanly(core: Core) -> None:
    code = stopped_on_version_two(core)
    deploy(core, law_with(FIXED), 4)
    [row] = migration.preview(core, LAW, 3).candidates
    incidents.retry_incident(core, user(core, "supervisor"), code,
                             MONDAY_9AM + timedelta(minutes=5))  # fails again, meanwhile
    [outcome] = migration.migrate(core, LAW, 3, {code: row.revision}, "designer",
                                  MONDAY_9AM + timedelta(minutes=6))
    assert outcome.conflict and not outcome.moved
    assert _instance(core, code)[0] == 2


def _stopped_on_the_fee_script(core: Core) -> tuple[Package, str]:
    package = read_package(SCRIPTED)
    deploy(core, package, 0)
    code = dossiers.receive_dossier(core, procedure_code="scripted_review",
                                    applicant=APPLICANT, channel="in_person",
                                    actor="reception", now=MONDAY_9AM).code
    with pytest.raises(ProcedureIncident):
        complete(core, code, "review", MONDAY_9AM + timedelta(minutes=10), {"copies": 0})
    return package, code


def _corrected(package: Package) -> str:
    return package.bpmn_xml.replace("fee_per_copy = 200000 // copies",
                                    "fee_per_copy = 200000 // copies if copies else 0")


def test_a_dossier_stopped_on_a_script_moves_to_the_corrected_script(core: Core) -> None:
    package, code = _stopped_on_the_fee_script(core)
    deploy(core, replace(package, bpmn_xml=_corrected(package)), 11)
    [outcome] = migration.migrate(core, "scripted_review", 2, {code: None}, "designer",
                                  MONDAY_9AM + timedelta(minutes=12))
    assert outcome.moved and outcome.incident
    assert incidents.retry_incident(core, user(core, "designer"), code,
                                    MONDAY_9AM + timedelta(minutes=13)).cleared
    [approve] = ready_tasks(core, code)
    assert approve.bpmn_id == "approve"
    complete(core, code, "approve", MONDAY_9AM + timedelta(minutes=14), {"note": "ok"})
    assert _instance(core, code)[1].status == "completed"


def test_a_step_after_the_failed_one_may_be_removed_by_the_correction(core: Core) -> None:
    package, code = _stopped_on_the_fee_script(core)
    # The new version also drops the approval the dossier never reached.
    xml = re.sub(r'<bpmn:userTask id="approve".*?</bpmn:userTask>', "", _corrected(package),
                 flags=re.S)
    xml = re.sub(r'<bpmn:sequenceFlow id="f4"[^>]*/>', "", xml)
    xml = re.sub(r'<bpmndi:BPMN(Shape|Edge) id="(approve|f4)_di".*?</bpmndi:BPMN(Shape|Edge)>',
                 "", xml, flags=re.S)
    for old, new in (('<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>', ""),
                     ('sourceRef="compute_fee" targetRef="approve"',
                      'sourceRef="compute_fee" targetRef="done"'),
                     ('<bpmn:incoming>f4</bpmn:incoming>', '<bpmn:incoming>f3</bpmn:incoming>')):
        xml = xml.replace(old, new)
    deploy(core, replace(package, bpmn_xml=xml), 11)
    [row] = migration.preview(core, "scripted_review", 2).candidates
    assert row.can_move, row.reasons  # its predicted branch is predicted again
    migration.migrate(core, "scripted_review", 2, {code: row.revision}, "designer",
                      MONDAY_9AM + timedelta(minutes=12))
    assert incidents.retry_incident(core, user(core, "designer"), code,
                                    MONDAY_9AM + timedelta(minutes=13)).cleared
    assert ready_tasks(core, code) == []
    assert _instance(core, code)[1].status == "completed"
