"""The catalogue's other procedures: each package is well formed, and every path of each is walked
to its end on a real database (each gateway branch at least once)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import Task, User
from engine.services import catalogue, dossiers, tasks
from engine.specs import parse_package, read_package, user_task_properties
from tests.conftest import CATALOGUE, MONDAY_9AM
from tests.engine.walk import form_of
from workflows.forms import check_schema, field_errors
from workflows.statuses import DossierStatus

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
APPLICANT = {"name": "Nguyễn Thị Hoa", "id_number": "001190012345", "phone": "0912345678",
             "address": "25 Trần Hưng Đạo, Hà Nội"}
SENDER = {"name": "Văn phòng Ủy ban nhân dân tỉnh", "id_number": "000000001",
          "phone": "0243825 1234", "address": "12 Lê Lai, Hà Nội"}
DAY = "2026-11-23"

SUPPLEMENT = {"supplement_received_date": DAY, "supplement_documents": "Giấy tờ chứng minh trụ sở",
              "supplement_channel": "in_person"}
REFUSAL = {"refusal_reason": "Người thành lập chưa đủ điều kiện theo quy định.",
           "refusal_legal_basis": "Luật chuyên ngành"}
REVIEW = {"review_approved": True, "review_comment": "Đủ điều kiện trình ký"}
SIGN = {"signed": True, "document_number": "15/TP-ĐKHĐ", "signed_date": DAY}
RETURN = {"return_method": "in_person", "receiver_name": "Nguyễn Thị Hoa", "returned_date": DAY,
          "fee_receipt_number": "0001234"}

# For each public procedure: its examination step, its two drafts, the eligibility flag, and the
# form data of each step on the main path.
PUBLIC: dict[str, dict[str, Any]] = {
    "law_practice_registration": {
        "check": "check_practice_dossier", "draft": "draft_practice_registration",
        "refusal": "draft_practice_refusal", "eligible": "practice_eligible",
        "data": {
            "check_practice_dossier": {
                "dossier_complete": True, "organisation_form": "law_office",
                "organisation_name": "Văn phòng luật sư Hòa Bình", "practice_eligible": True,
                "examination_note": "Luật sư có 05 năm hành nghề liên tục"},
            "draft_practice_registration": {
                "head_office_address": "25 Trần Hưng Đạo, Hà Nội",
                "legal_representative": "Nguyễn Thị Hoa", "lawyer_count": 1,
                "practice_areas": "Tố tụng, tư vấn pháp luật"},
        },
    },
    "notary_office_registration": {
        "check": "check_notary_office_dossier", "draft": "draft_notary_office_registration",
        "refusal": "draft_notary_office_refusal", "eligible": "office_eligible",
        "data": {
            "check_notary_office_dossier": {
                "dossier_complete": True, "office_name": "Văn phòng công chứng Hồng Hà",
                "establishment_decision_number": "1234/QĐ-UBND",
                "establishment_decision_date": "2026-11-02", "office_eligible": True},
            "draft_notary_office_registration": {
                "office_address": "8 Hàng Bài, Hà Nội", "office_head": "Nguyễn Thị Hoa",
                "notary_count": 2, "notary_cards_issued": 2},
        },
    },
    "auction_enterprise_registration": {
        "check": "check_auction_dossier", "draft": "draft_auction_registration",
        "refusal": "draft_auction_refusal", "eligible": "auction_eligible",
        "data": {
            "check_auction_dossier": {
                "dossier_complete": True, "enterprise_form": "partnership",
                "enterprise_name": "Công ty đấu giá hợp danh Thăng Long", "auction_eligible": True},
            "draft_auction_registration": {
                "enterprise_address": "3 Phố Huế, Hà Nội", "enterprise_director": "Nguyễn Thị Hoa",
                "auctioneer_count": 3},
        },
    },
}
for _spec in PUBLIC.values():
    _spec["data"] |= {"receive_supplement": SUPPLEMENT, _spec["refusal"]: REFUSAL, "review": REVIEW,
                      "sign": SIGN, "return_result": RETURN}

INCOMING: dict[str, dict[str, Any]] = {
    "register_incoming": {
        "incoming_number": 1024, "incoming_date": DAY, "sender_agency": "Văn phòng UBND tỉnh",
        "document_symbol": "345/UBND-NC", "document_date": "2026-11-20",
        "document_type": "official_letter",
        "document_summary": "Về việc rà soát thủ tục hành chính",
        "urgency": "normal", "page_count": 2},
    "assign_handling": {
        "handling_required": True, "handling_department": "judicial_administration",
        "handling_deadline": "2026-11-30", "leader_instruction": "Phòng HCTP chủ trì, báo cáo"},
    "handle_document": {
        "handling_result": "Đã rà soát 12 thủ tục hành chính",
        "reply_recipient": "Văn phòng UBND tỉnh",
        "reply_summary": "Báo cáo kết quả rà soát thủ tục hành chính"},
    "review_reply": {"reply_approved": True},
    "issue_reply": {"reply_number": "512/STP-HCTP", "reply_issued_date": DAY,
                    "reply_delivery_method": "electronic"},
}
OUTGOING: dict[str, dict[str, Any]] = {
    "draft_outgoing": {
        "outgoing_type": "plan",
        "outgoing_summary": "Kế hoạch phổ biến, giáo dục pháp luật năm 2027",
        "outgoing_recipients": "Các phòng, đơn vị thuộc Sở; UBND các xã",
        "outgoing_urgency": "normal",
        "attachment_count": 1},
    "review_outgoing": {"draft_approved": True},
    "sign_outgoing": {"outgoing_signed": True, "signer_title": "deputy_director"},
    "issue_outgoing": {"outgoing_number": "88/KH-STP", "outgoing_issued_date": DAY,
                       "outgoing_delivery_method": "electronic", "copies_issued": 40},
}
DATA = {code: spec["data"] for code, spec in PUBLIC.items()} | {
    "incoming_document": INCOMING, "outgoing_document": OUTGOING}
NEW = sorted(DATA)

# The main path of each procedure: its step SLAs must fit in the committed time.
MAIN_PATHS = {
    code: [spec["check"], spec["draft"], "review", "sign", "return_result"]
    for code, spec in PUBLIC.items()
} | {
    "incoming_document": ["register_incoming", "assign_handling", "handle_document", "review_reply",
                          "issue_reply"],
    "outgoing_document": ["draft_outgoing", "review_outgoing", "sign_outgoing", "issue_outgoing"],
}

Step = tuple[str, dict[str, Any]]


@pytest.fixture
def clerk_core(core: Core) -> Core:
    """The core, whose users include a clerk (văn thư), who registers and issues documents."""
    return core


def _user(core: Core, username: str) -> User:
    with core.uow() as uow:
        return uow.session.scalars(select(User).where(User.username == username)).one()


def _ready(core: Core, code: str) -> list[Task]:
    return [t for t in dossiers.get_dossier(core, code).tasks if t.state == "ready"]


def _walk(core: Core, procedure: str, steps: list[Step], applicant: dict[str, str] | None = None,
          actor: str = "reception") -> dossiers.DossierDetail:
    """Receive a dossier and complete `steps` in order (each the only ready task), data checked
    against its form first; return the dossier at the end."""
    now = MONDAY_9AM
    dossier = dossiers.receive_dossier(core, procedure_code=procedure,
                                       applicant=applicant or APPLICANT, channel="in_person",
                                       actor=actor, now=now)
    for bpmn_id, overrides in steps:
        now += timedelta(minutes=30)
        [task] = _ready(core, dossier.code)
        assert task.bpmn_id == bpmn_id
        data = DATA[procedure][bpmn_id] | overrides
        assert task.form_key
        form = form_of(core, dossier.code, task.form_key)
        assert field_errors(form, data) == {}, (bpmn_id, field_errors(form, data))
        tasks.complete_task(core, _user(core, task.role), task.id, data, now)
    detail = dossiers.get_dossier(core, dossier.code)
    assert not _ready(core, dossier.code)
    assert [t.bpmn_id for t in detail.tasks if t.state == "completed"] == [s[0] for s in steps]
    return detail


def _statuses(detail: dossiers.DossierDetail) -> list[int]:
    return [e.data["to"] for e in detail.events if e.kind == "status_changed"]


# --- the packages ----------------------------------------------------------------------------

@pytest.mark.parametrize("code", NEW)
def test_each_package_is_complete_and_its_main_path_fits_the_committed_time(code: str) -> None:
    package = read_package(CATALOGUE / code)
    parsed = parse_package(package)
    procedure = parsed.procedure
    assert procedure.code == procedure.process_id == code
    assert procedure.committed_working_days <= procedure.statutory_working_days
    assert package.meta["notes"].strip()
    names: dict[str, str] = {}
    for key, form in package.forms.items():
        check_schema(form)
        assert form["title"] and form["x-title-en"]
        for name, field in form["properties"].items():
            assert names.setdefault(name, key) == key, f"{name} is in {names[name]} and {key}"
            assert field["title"] and field["x-title-en"]
            if "enum" in field:
                assert len(field["x-enum-titles"]) == len(field["x-enum-titles-en"]) == len(
                    field["enum"])
    properties = {}
    for spec in parsed.spec.task_specs.values():
        if getattr(spec, "manual", False):
            props = user_task_properties(spec)
            assert props["formKey"] in package.forms and float(props["slaWorkingDays"]) > 0
            properties[spec.bpmn_id] = props
    assert set(properties) == set(package.forms)
    sla = sum(float(properties[step]["slaWorkingDays"]) for step in MAIN_PATHS[code])
    assert sla <= procedure.committed_working_days
    statuses = {k: p.get("dossierStatus") for k, p in properties.items() if p.get("dossierStatus")}
    if code in PUBLIC:
        assert statuses == {"receive_supplement": "5", "return_result": "9"}
        assert procedure.online_level in {"full", "partial"} and procedure.fee_vnd > 0
        assert procedure.documents
    else:
        assert statuses == {}
        assert (procedure.online_level, procedure.fee_vnd, procedure.field) == ("none", 0,
                                                                                "documents")
        assert "clerk" in {lane.role for lane in procedure.lanes.values()}


@pytest.mark.parametrize("code", NEW)
def test_every_gateway_has_a_default_and_tests_required_booleans(code: str) -> None:
    package = read_package(CATALOGUE / code)
    root = etree.fromstring(package.bpmn_xml.encode())
    required = {name: field["type"] for form in package.forms.values()
                for name, field in form["properties"].items() if name in form["required"]}
    flows = {f.get("id"): f for f in root.iter(f"{BPMN}sequenceFlow")}
    gateways = list(root.iter(f"{BPMN}exclusiveGateway"))
    assert gateways
    for gateway in gateways:
        default = gateway.get("default")
        outgoing = [o.text for o in gateway.findall(f"{BPMN}outgoing")]
        assert default in outgoing and len(outgoing) == 2
        for flow_id in outgoing:
            condition = flows[flow_id].find(f"{BPMN}conditionExpression")
            if flow_id == default:
                assert condition is None
                continue
            assert condition is not None
            variable, _, value = condition.text.partition(" == ")
            assert required.get(variable) == "boolean" and value in {"True", "False"}
    shapes = {s.get("bpmnElement") for s in root.iter(
        "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(
        "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    nodes = {n.get("id") for n in root.find(f"{BPMN}process") if n.get("id")} - set(flows)
    assert nodes - {"lane_set"} <= shapes and set(flows) <= edges
    assert root.find(f"{BPMN}process/{BPMN}startEvent").get("id") == "received"


# --- the public procedures -------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(PUBLIC))
def test_an_eligible_dossier_walks_the_main_path_to_result_returned(core: Core, code: str
                                                                    ) -> None:
    detail = _walk(core, code, [(step, {}) for step in MAIN_PATHS[code]])
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED
    assert detail.dossier.outcome == "early"
    assert _statuses(detail) == [4, 9, 10]
    roles = [t.role for t in detail.tasks]
    assert roles == ["specialist", "specialist", "head", "leader", "reception"]


@pytest.mark.parametrize("code", sorted(PUBLIC))
def test_a_supplement_then_a_refusal_redrafted_after_review(core: Core, code: str) -> None:
    spec = PUBLIC[code]
    check, refusal, eligible = spec["check"], spec["refusal"], spec["eligible"]
    detail = _walk(core, code, [
        (check, {"dossier_complete": False, "missing_documents": "Giấy tờ chứng minh trụ sở"}),
        ("receive_supplement", {}),
        (check, {eligible: False}),
        (refusal, {}),
        ("review", {"review_approved": False, "review_comment": "Nêu rõ căn cứ từ chối"}),
        (refusal, {"refusal_legal_basis": "Điều 35 Luật Luật sư"}),
        ("review", {}),
        ("sign", {}),
        ("return_result", {}),
    ])
    assert (detail.dossier.status, detail.dossier.supplement_rounds) == (10, 1)
    assert _statuses(detail) == [4, 5, 4, 9, 10]


@pytest.mark.parametrize("code", sorted(PUBLIC))
def test_a_rejected_registration_draft_goes_back_to_the_same_draft(core: Core, code: str) -> None:
    draft = PUBLIC[code]["draft"]
    detail = _walk(core, code, [
        (PUBLIC[code]["check"], {}), (draft, {}), ("review", {"review_approved": False}),
        (draft, {}), ("review", {}), ("sign", {}), ("return_result", {}),
    ])
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED


@pytest.mark.parametrize("code", sorted(PUBLIC))
def test_a_document_the_leader_does_not_sign_goes_back_to_drafting(core: Core, code: str
                                                                   ) -> None:
    draft = PUBLIC[code]["draft"]
    not_signed = {"signed": False, "sign_comment": "Sửa lại căn cứ pháp lý"}
    detail = _walk(core, code, [
        (PUBLIC[code]["check"], {}), (draft, {}), ("review", {}), ("sign", not_signed),
        (draft, {}), ("review", {}), ("sign", {}), ("return_result", {}),
    ])
    # Not resolved at the refused signature: resolved once, when it was signed.
    assert _statuses(detail) == [4, 9, 10]
    assert detail.dossier.outcome == "early"


@pytest.mark.parametrize("code", sorted(PUBLIC) + ["judicial_record_certificate"])
def test_the_leader_signs_with_a_number_and_a_date_or_says_why_not(core: Core, code: str
                                                                  ) -> None:
    number = "certificate_number" if code == "judicial_record_certificate" else "document_number"
    dossier = dossiers.receive_dossier(core, procedure_code=code, applicant=APPLICANT,
                                       channel="in_person", actor="reception", now=MONDAY_9AM)
    form = form_of(core, dossier.code, "sign")
    assert set(field_errors(form, {"signed": True})) == {number, "signed_date"}
    assert set(field_errors(form, {"signed": False})) == {"sign_comment"}
    assert field_errors(form, {"signed": False, "sign_comment": "Sai số"}) == {}
    assert set(field_errors(form, {})) == {"signed"}


@pytest.mark.parametrize("code", sorted(PUBLIC) + ["judicial_record_certificate"])
def test_an_incomplete_dossier_needs_the_list_of_what_is_missing(core: Core, code: str) -> None:
    check = PUBLIC[code]["check"] if code in PUBLIC else "check_records"
    dossier = dossiers.receive_dossier(core, procedure_code=code, applicant=APPLICANT,
                                       channel="in_person", actor="reception", now=MONDAY_9AM)
    form = form_of(core, dossier.code, check)
    data = DATA[code][check] if code in DATA else step_data(check, "2026-11-23")
    incomplete = data | {"dossier_complete": False}
    incomplete.pop("missing_documents", None)
    assert set(field_errors(form, incomplete)) == {"missing_documents"}
    assert field_errors(form, incomplete | {"missing_documents": "Bản sao CCCD"}) == {}


# --- the internal procedures -----------------------------------------------------------------

def test_an_incoming_document_is_handled_and_its_reply_issued_after_a_rejection(
        clerk_core: Core) -> None:
    detail = _walk(clerk_core, "incoming_document", [
        ("register_incoming", {}), ("assign_handling", {}), ("handle_document", {}),
        ("review_reply", {"reply_approved": False, "reply_review_comment": "Bổ sung số liệu"}),
        ("handle_document", {"handling_result": "Đã rà soát 12 thủ tục, bổ sung số liệu"}),
        ("review_reply", {}), ("issue_reply", {}),
    ], applicant=SENDER, actor="clerk")
    assert [t.role for t in detail.tasks] == ["clerk", "leader", "specialist", "head",
                                             "specialist", "head", "clerk"]
    # The process completed: the engine marks the dossier resolved, then returned.
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED
    assert _statuses(detail) == [4, 9, 10]


def test_an_incoming_document_for_information_ends_after_the_assignment(clerk_core: Core
                                                                        ) -> None:
    detail = _walk(clerk_core, "incoming_document", [
        ("register_incoming", {"urgency": "urgent"}),
        ("assign_handling", {"handling_required": False, "handling_department": "office"}),
    ], applicant=SENDER, actor="clerk")
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED
    assert detail.dossier.resolved_at == MONDAY_9AM + timedelta(hours=1)


def test_an_outgoing_document_is_drafted_reviewed_signed_and_issued(clerk_core: Core) -> None:
    detail = _walk(clerk_core, "outgoing_document", [
        ("draft_outgoing", {}), ("review_outgoing", {}), ("sign_outgoing", {}),
        ("issue_outgoing", {}),
    ], applicant=SENDER, actor="specialist")
    assert [t.role for t in detail.tasks] == ["specialist", "head", "leader", "clerk"]
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED
    assert detail.dossier.outcome == "early"


def test_a_rejected_draft_and_a_refused_signature_both_go_back_to_drafting(clerk_core: Core
                                                                           ) -> None:
    detail = _walk(clerk_core, "outgoing_document", [
        ("draft_outgoing", {}),
        ("review_outgoing", {"draft_approved": False, "draft_review_comment": "Sai thể thức"}),
        ("draft_outgoing", {"drafting_note": "Đã sửa thể thức"}),
        ("review_outgoing", {}),
        ("sign_outgoing", {"outgoing_signed": False, "signing_comment": "Bổ sung nơi nhận"}),
        ("draft_outgoing", {"outgoing_recipients": "Các phòng, đơn vị thuộc Sở; UBND các xã; "
                                                   "Bộ Tư pháp"}),
        ("review_outgoing", {}), ("sign_outgoing", {}), ("issue_outgoing", {}),
    ], applicant=SENDER, actor="specialist")
    assert detail.dossier.status == DossierStatus.RESULT_RETURNED


def test_a_clerk_task_is_refused_to_other_roles(clerk_core: Core) -> None:
    from engine.errors import Forbidden

    dossier = dossiers.receive_dossier(clerk_core, procedure_code="incoming_document",
                                       applicant=SENDER, channel="post", actor="clerk",
                                       now=MONDAY_9AM)
    [task] = _ready(clerk_core, dossier.code)
    assert task.role == "clerk"
    with pytest.raises(Forbidden):
        tasks.complete_task(clerk_core, _user(clerk_core, "reception"), task.id,
                            INCOMING["register_incoming"], MONDAY_9AM + timedelta(hours=1))


def test_the_whole_catalogue_is_deployed(core: Core) -> None:
    from engine.services import catalogue

    codes = {p.code for p, _ in catalogue.list_procedures(core)}
    assert set(NEW) | {"judicial_record_certificate"} <= codes
    assert all((Path(CATALOGUE) / code / "procedure.toml").is_file() for code in NEW)


def test_the_deployed_procedures_are_those_of_the_catalogue_by_name(core: Core) -> None:
    names = [p.name for p in catalogue.deployed_procedures(core)]
    assert names == [p.name for p, _version in catalogue.list_procedures(core)]
    assert len(names) == len(list(CATALOGUE.glob("*/procedure.toml")))
