"""The designers' drafts: open, save, validate, deploy as a new version, list the versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import InvalidInput, NotFound
from engine.models import Dossier, ProcedureVersion
from engine.services import design, design_list, design_meta
from engine.services.design import ProblemsFound
from tests.conftest import MONDAY_9AM
from tests.engine.walk import JUDICIAL_RECORD, receive

LATER = MONDAY_9AM + timedelta(hours=2)
NEW_TASK = """
    <bpmn:userTask id="check_fees" name="Kiểm tra lệ phí">%s
      <bpmn:incoming>flow_sign_to_fees</bpmn:incoming>
      <bpmn:outgoing>flow_sign_to_gateway</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_sign_to_fees" sourceRef="sign" targetRef="check_fees" />"""
PROPERTIES = """
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="review" />
          <spiffworkflow:property name="slaWorkingDays" value="0.5" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>"""


def with_fee_check(bpmn_xml: str, properties: str) -> str:
    """The judicial record BPMN with a leader's fee check between signing and returning."""
    sign_out = '<bpmn:outgoing>flow_sign_to_gateway</bpmn:outgoing>\n    </bpmn:userTask>\n\n'
    xml = bpmn_xml.replace(sign_out, sign_out.replace("flow_sign_to_gateway", "flow_sign_to_fees"))
    xml = xml.replace('sourceRef="sign" targetRef="gateway_signed"',
                      'sourceRef="check_fees" targetRef="gateway_signed"')
    xml = xml.replace("<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>\n"
                      "        <bpmn:flowNodeRef>check_fees</bpmn:flowNodeRef>")
    assert xml.count("flow_sign_to_fees") == 1
    return xml.replace("  </bpmn:process>", NEW_TASK % properties + "\n  </bpmn:process>")


def test_the_first_open_copies_the_latest_version(core: Core) -> None:
    draft = design.open_draft(core, JUDICIAL_RECORD, "designer", MONDAY_9AM)
    [entry] = [e for e in design_list.list_procedures_for_design(core)
               if e.code == JUDICIAL_RECORD]
    assert draft.base_version_id is not None and "check_records" in draft.forms
    assert (entry.version, entry.deployed_by, entry.draft_differs) == (1, "test", False)


def test_a_missing_procedure_has_no_draft(core: Core) -> None:
    with pytest.raises(NotFound):
        design.open_draft(core, "no_such_procedure", "designer", MONDAY_9AM)


def test_a_broken_draft_is_kept_and_its_problems_point_at_the_element(core: Core) -> None:
    draft = design.open_draft(core, JUDICIAL_RECORD, "designer", MONDAY_9AM)
    design.save_draft(core, JUDICIAL_RECORD, bpmn_xml=with_fee_check(draft.bpmn_xml, ""),
                      user="designer", now=LATER)
    problems = design.validate_draft(core, JUDICIAL_RECORD)
    assert ("error", "user_task_without_form", "check_fees") in {
        (p.severity, p.code, p.element_id) for p in problems}
    [entry] = [e for e in design_list.list_procedures_for_design(core)
               if e.code == JUDICIAL_RECORD]
    assert entry.draft_differs
    with pytest.raises(ProblemsFound) as refused:
        design.deploy_draft(core, JUDICIAL_RECORD, "Thêm bước kiểm tra lệ phí", "designer",
                            LATER)
    assert any(p.element_id == "check_fees" for p in refused.value.problems)
    assert len(design_list.versions(core, JUDICIAL_RECORD)) == 1


def test_a_diagram_over_the_size_limit_is_refused(core: Core) -> None:
    with pytest.raises(InvalidInput):
        design.save_draft(core, JUDICIAL_RECORD, bpmn_xml="x" * (2 * 1024 * 1024 + 1),
                          user="designer", now=LATER)


def test_deploying_needs_a_change_note_and_a_change(core: Core) -> None:
    with pytest.raises(InvalidInput) as no_note:
        design.deploy_draft(core, JUDICIAL_RECORD, "  ", "designer", LATER)
    assert "change_note" in no_note.value.fields
    with pytest.raises(InvalidInput) as unchanged:
        design.deploy_draft(core, JUDICIAL_RECORD, "Không đổi gì", "designer", LATER)
    assert unchanged.value.params == {"number": 1}


def test_new_dossiers_use_the_new_version_and_running_ones_keep_theirs(core: Core) -> None:
    before = receive(core, MONDAY_9AM)
    draft = design.open_draft(core, JUDICIAL_RECORD, "designer", MONDAY_9AM)
    design.save_draft(core, JUDICIAL_RECORD, bpmn_xml=with_fee_check(draft.bpmn_xml, PROPERTIES),
                      user="designer", now=LATER)
    assert design.validate_draft(core, JUDICIAL_RECORD) == []
    version = design.deploy_draft(core, JUDICIAL_RECORD, "Thêm bước kiểm tra lệ phí",
                                  "designer", LATER)
    after = receive(core, LATER + timedelta(minutes=5))
    with core.uow() as uow:
        numbers = {d.code: uow.session.get_one(ProcedureVersion, d.procedure_version_id).version
                   for d in uow.session.scalars(select(Dossier))}
    assert version.version == 2 and numbers == {before.code: 1, after.code: 2}
    history = design_list.versions(core, JUDICIAL_RECORD)
    assert [(v.number, v.deployed_by, v.change_note, v.running) for v in history] == [
        (2, "designer", "Thêm bước kiểm tra lệ phí", 1), (1, "test", "", 1)]
    stays = design.open_draft(core, JUDICIAL_RECORD, "designer", LATER)
    assert stays.base_version_id == version.id
    [entry] = [e for e in design_list.list_procedures_for_design(core)
               if e.code == JUDICIAL_RECORD]
    assert (entry.version, entry.draft_differs) == (2, False)


def test_a_new_procedure_starts_valid_and_deploys_as_version_one(core: Core) -> None:
    design.new_procedure(core, "copy_certification", "Chứng thực bản sao", "designer",
                         MONDAY_9AM)
    assert design.validate_draft(core, "copy_certification") == []
    with pytest.raises(InvalidInput):
        design.new_procedure(core, "copy_certification", "Lần nữa", "designer", MONDAY_9AM)
    with pytest.raises(InvalidInput):
        design.new_procedure(core, "Bad Code", "Tên", "designer", MONDAY_9AM)
    version = design.deploy_draft(core, "copy_certification", "Thủ tục mới", "designer", LATER)
    assert version.version == 1 and version.change_note == "Thủ tục mới"


def test_a_changed_code_in_the_metadata_blocks_deployment(core: Core) -> None:
    draft = design.open_draft(core, JUDICIAL_RECORD, "designer", MONDAY_9AM)
    design.save_draft(core, JUDICIAL_RECORD, meta={**draft.meta, "code": "other"},
                      user="designer", now=LATER)
    assert design.validate_draft(core, JUDICIAL_RECORD)[0].code == "code_changed"


def test_the_metadata_form_checks_numbers_and_the_escalation_table(core: Core) -> None:
    form = {"name": ["Tên mới"], "field": ["judicial_records"],
            "statutory_working_days": ["10"], "committed_working_days": ["12"],
            "fee_vnd": ["200.000"], "escalation": ["levels = ['nobody']"],
            "doc_name": ["Tờ khai", ""], "doc_name_en": ["Form", ""], "doc_copies": ["2", "1"],
            "doc_optional": ["no", "no"]}
    with pytest.raises(InvalidInput) as refused:
        design_meta.save_meta_form(core, JUDICIAL_RECORD, form, "designer", LATER)
    assert set(refused.value.fields) == {"committed_working_days", "escalation"}
    form.update(committed_working_days=["7.5"], escalation=["warn_at_fraction = 0.5"])
    design_meta.save_meta_form(core, JUDICIAL_RECORD, form, "designer", LATER)
    meta = design.open_draft(core, JUDICIAL_RECORD, "designer", LATER).meta
    assert (meta["name"], meta["committed_working_days"], meta["fee_vnd"]) == (
        "Tên mới", 7.5, 200000)
    assert meta["documents"] == [{"name": "Tờ khai", "name_en": "Form", "copies": 2}]
    assert meta["escalation"] == {"warn_at_fraction": 0.5} and meta["lanes"]


def test_a_form_must_be_json_but_may_be_an_unusable_schema(core: Core) -> None:
    with pytest.raises(InvalidInput):
        design_meta.save_form(core, JUDICIAL_RECORD, "fees", "{not json", "designer", LATER)
    design_meta.save_form(core, JUDICIAL_RECORD, "fees", '{"type": 5}', "designer", LATER)
    assert "form_invalid" in {p.code for p in design.validate_draft(core, JUDICIAL_RECORD)}
