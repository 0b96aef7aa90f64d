"""Validation before deployment: each rule, broken by a small edit of a real package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.specs import Package, parse_package, read_package
from engine.validation import MAX_BPMN_BYTES, RULES, Problem, blocking, validate_package
from tests.conftest import CATALOGUE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
INVALID = FIXTURES / "bpmn_invalid"
JUDICIAL = read_package(CATALOGUE / "judicial_record_certificate")
TIMED = read_package(FIXTURES / "timed_review")
NOTE_FORM = TIMED.forms["note"]


def judicial(old: str = "", new: str = "", *, forms: dict[str, Any] | None = None,
             meta: dict[str, Any] | None = None) -> Package:
    """The judicial record certificate package with `old` replaced by `new` in its BPMN."""
    xml = JUDICIAL.bpmn_xml
    if old:
        assert old in xml, old
        xml = xml.replace(old, new)
    return Package(xml, JUDICIAL.forms if forms is None else forms,
                   JUDICIAL.meta if meta is None else meta)


def line_of(xml: str, needle: str) -> int:
    """The line (1-based) of the first occurrence of `needle`."""
    return xml[: xml.index(needle)].count("\n") + 1


def only(problems: list[Problem], code: str) -> Problem:
    """The single problem of this rule."""
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


def small(name: str, process_id: str) -> Package:
    """A package around a small BPMN file of tests/fixtures/bpmn_invalid."""
    meta = dict(TIMED.meta, code=process_id, process_id=process_id)
    return Package((INVALID / name).read_text(encoding="utf-8"), {"note": NOTE_FORM}, meta)


@pytest.mark.parametrize("folder", sorted(p.name for p in CATALOGUE.iterdir() if p.is_dir()))
def test_every_catalogue_package_validates_without_errors(folder: str) -> None:
    problems = validate_package(read_package(CATALOGUE / folder))
    assert not blocking(problems), [p.text() for p in problems]


def test_errors_come_first_and_only_errors_block() -> None:
    problems = validate_package(judicial(' name="Ký Phiếu lý lịch tư pháp"', "",
                                         meta=dict(JUDICIAL.meta, process_id="nope")))
    assert [p.severity for p in problems] == sorted((p.severity for p in problems),
                                                    key=lambda s: s != "error")
    warnings = [p for p in problems if p.severity == "warning"]
    assert warnings and not blocking(warnings) and blocking(problems)


def test_every_message_is_filled_by_its_params() -> None:
    problems = validate_package(small("script_syntax.bpmn", "scripted"))
    problems += validate_package(judicial('value="3"', 'value="0.3"'))
    for p in problems:
        assert p.message == RULES[p.code][1]
        assert "%(" not in p.message % p.params


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    padding = "<!-- " + "x" * MAX_BPMN_BYTES + " -->"
    problems = validate_package(judicial("</bpmn:definitions>", padding + "</bpmn:definitions>"))
    assert only(problems, "file_too_large").severity == "error"
    assert codes(problems) == {"file_too_large"}


@pytest.mark.parametrize("name", ["billion_laughs.bpmn", "xxe.bpmn"])
def test_doctypes_and_entities_are_refused_without_expanding_them(name: str) -> None:
    package = small(name, "laughs")
    problems = validate_package(package)
    refused = only(problems, "xml_entity_refused")
    assert (refused.severity, refused.line, refused.element_id) == ("error", 2, None)
    assert "lollol" not in repr(problems) and "root:" not in repr(problems)


def test_xml_that_is_not_well_formed_gives_its_line() -> None:
    package = judicial('<bpmn:userTask id="review" name="Kiểm tra, trình ký">',
                       '<bpmn:userTask id="review" name="Kiểm tra, trình ký>')
    problem = only(validate_package(package), "xml_not_well_formed")
    assert problem.severity == "error"
    assert problem.line is not None and problem.line >= line_of(package.bpmn_xml, 'id="review"')


def test_schema_errors_give_their_line_and_element() -> None:
    package = judicial("<bpmn:incoming>flow_draft_to_review</bpmn:incoming>", "<bpmn:bogus />")
    problem = only(validate_package(package), "bpmn_schema")
    assert (problem.severity, problem.element_id) == ("error", "review")
    assert problem.line == line_of(package.bpmn_xml, "<bpmn:bogus />")
    assert "bpmn:bogus" in problem.params["detail"]


def test_schema_errors_find_their_element_in_a_file_on_one_line() -> None:
    package = judicial("<bpmn:incoming>flow_draft_to_review</bpmn:incoming>", "<bpmn:bogus />")
    one_line = Package(package.bpmn_xml.replace("\n", " "), package.forms, package.meta)
    problem = only(validate_package(one_line), "bpmn_schema")
    assert (problem.element_id, problem.line) == ("review", 1)


def test_a_process_id_that_names_no_process_lists_the_ids_found() -> None:
    meta = dict(JUDICIAL.meta, process_id="participant_department_of_justice")
    problem = only(validate_package(judicial(meta=meta)), "process_not_found")
    assert problem.severity == "error"
    assert problem.params["found"] == "judicial_record_certificate"


def test_engine_parse_errors_carry_their_element_and_line() -> None:
    package = judicial('isExecutable="true"', 'isExecutable="false"')
    problem = only(validate_package(package), "spiff_parse")
    assert (problem.severity, problem.element_id) == ("error", "judicial_record_certificate")
    assert problem.line == line_of(package.bpmn_xml, '<bpmn:process id=')


def test_invalid_procedure_metadata_is_reported() -> None:
    meta = dict(JUDICIAL.meta, committed_working_days=12)
    problem = only(validate_package(judicial(meta=meta)), "procedure_toml")
    assert (problem.severity, problem.element_id) == ("error", None)
    assert "committed_working_days" in problem.params["detail"]


def test_a_user_task_in_no_lane() -> None:
    package = judicial("<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>", "")
    problem = only(validate_package(package), "user_task_without_lane")
    assert (problem.severity, problem.element_id) == ("error", "sign")
    assert problem.line == line_of(package.bpmn_xml, '<bpmn:userTask id="sign"')


def test_a_lane_not_mapped_to_a_role() -> None:
    package = judicial('name="Lãnh đạo Sở"', 'name="Giám đốc Sở"')
    problem = only(validate_package(package), "lane_without_role")
    assert (problem.severity, problem.element_id) == ("error", "lane_leader")
    assert problem.params["name"] == "Giám đốc Sở"
    assert problem.line == line_of(package.bpmn_xml, 'id="lane_leader"')


def test_a_user_task_without_a_form() -> None:
    package = judicial('<spiffworkflow:property name="formKey" value="sign" />', "")
    problem = only(validate_package(package), "user_task_without_form")
    assert (problem.severity, problem.element_id) == ("error", "sign")


def test_a_user_task_naming_a_missing_form() -> None:
    forms = {k: v for k, v in JUDICIAL.forms.items() if k != "review"}
    problem = only(validate_package(judicial(forms=forms)), "form_missing")
    assert (problem.severity, problem.element_id, problem.params["form"]) == (
        "error", "review", "review")


@pytest.mark.parametrize("schema", [{"type": "objekt", "properties": {"a": {}}},
                                    {"type": "object"}, {"type": "object", "properties": {}},
                                    ["not", "an", "object"]])
def test_an_invalid_form(schema: Any) -> None:
    forms = dict(JUDICIAL.forms, review=schema)
    problem = only(validate_package(judicial(forms=forms)), "form_invalid")
    assert (problem.severity, problem.element_id, problem.params["form"]) == (
        "error", "review", "review")


@pytest.mark.parametrize(("schema", "fields"), [
    ({"type": "object", "required": ["zzz"], "properties": {"a": {"type": "string"}}}, "zzz"),
    ({"type": "object", "properties": {"a": {"type": "boolean"}},
      "allOf": [{"if": {"properties": {"a": {"const": True}}, "required": ["a"]},
                 "then": {"required": ["b", "c"]}, "else": {"required": ["a"]}}]}, "b, c"),
])
def test_a_form_requiring_a_field_it_does_not_define_blocks_deployment(
        schema: dict[str, Any], fields: str) -> None:
    forms = dict(JUDICIAL.forms, review=schema)
    problems = validate_package(judicial(forms=forms))
    problem = only(problems, "form_required_undefined")
    assert (problem.severity, problem.element_id, problem.params["form"],
            problem.params["fields"], blocking(problems)) == (
        "error", "review", "review", fields, True)


@pytest.mark.parametrize("value", ["0.3", "0", "-1", "abc", ""])
def test_an_invalid_step_deadline(value: str) -> None:
    package = judicial('name="slaWorkingDays" value="3"', f'name="slaWorkingDays" value="{value}"')
    problem = only(validate_package(package), "sla_invalid")
    assert (problem.severity, problem.element_id) == ("error", "check_records")


def test_a_user_task_without_a_step_deadline_is_a_warning() -> None:
    sign = '<spiffworkflow:property name="formKey" value="sign" />'
    sla = '\n          <spiffworkflow:property name="slaWorkingDays" value="1" />'
    problems = validate_package(judicial(sign + sla, sign))
    problem = only(problems, "user_task_without_sla")
    assert (problem.severity, problem.element_id, blocking(problems)) == ("warning", "sign", False)


def test_an_unnamed_user_task_is_a_warning() -> None:
    problems = validate_package(judicial(' name="Ký Phiếu lý lịch tư pháp"', ""))
    problem = only(problems, "unnamed_user_task")
    assert (problem.severity, problem.element_id, blocking(problems)) == ("warning", "sign", False)


@pytest.mark.parametrize("expression", ["PT2H", "P1D", "R3/PT1H", "2026-12-01T08:00:00", "7200",
                                        "", "'PT2H", "[\"PT2H\"]"])
def test_an_unquoted_timer(expression: str) -> None:
    package = Package(TIMED.bpmn_xml.replace('"PT2H"', expression), TIMED.forms, TIMED.meta)
    problem = only(validate_package(package), "timer_unquoted")
    assert (problem.severity, problem.element_id) == ("error", "two_hours")
    assert problem.line == line_of(package.bpmn_xml, "<bpmn:timeDuration>")


@pytest.mark.parametrize("expression", ['"PT2H"', "'PT2H'", "f'PT{hours}H'", "review_due"])
def test_quoted_timers_and_expressions_are_accepted(expression: str) -> None:
    package = Package(TIMED.bpmn_xml.replace('"PT2H"', expression), TIMED.forms, TIMED.meta)
    assert "timer_unquoted" not in codes(validate_package(package))


def test_a_condition_that_is_not_python() -> None:
    package = judicial("review_approved == True", "review_approved = = True")
    problem = only(validate_package(package), "condition_syntax")
    assert (problem.severity, problem.element_id) == ("error", "flow_approved")
    assert problem.line == line_of(package.bpmn_xml, "review_approved = = True")
    assert problem.params["expression"] == "review_approved = = True"


def test_a_conditional_event_whose_condition_is_not_python() -> None:
    wait = ('sourceRef="sign" targetRef="wait_signed" />'
            '<bpmn:intermediateCatchEvent id="wait_signed" name="Chờ ký số">'
            "<bpmn:conditionalEventDefinition><bpmn:condition>signed ==</bpmn:condition>"
            "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>"
            '<bpmn:sequenceFlow id="flow_wait" sourceRef="wait_signed" '
            'targetRef="gateway_signed" />')
    package = judicial('sourceRef="sign" targetRef="gateway_signed" />', wait)
    problem = only(validate_package(package), "condition_syntax")
    assert (problem.severity, problem.element_id) == ("error", "wait_signed")
    assert problem.params["expression"] == "signed =="


def test_scripts_that_are_not_python() -> None:
    package = small("script_syntax.bpmn", "scripted")
    problems = [p for p in validate_package(package) if p.code == "script_syntax"]
    assert [(p.severity, p.element_id) for p in problems] == [("error", "compute_fee"),
                                                              ("error", "review")]
    assert problems[0].line == line_of(package.bpmn_xml, "fee = 200000")
    assert problems[0].params["script_line"] == "2"


def test_valid_scripts_pass() -> None:
    xml = small("script_syntax.bpmn", "scripted").bpmn_xml
    xml = xml.replace(" if\n", "\n").replace('f"{fee:,} VND<', 'f"{fee:,} VND"<')
    package = Package(xml, {"note": NOTE_FORM}, dict(TIMED.meta, process_id="scripted"))
    assert "script_syntax" not in codes(validate_package(package))


def test_a_gateway_without_default_with_an_unconditioned_flow() -> None:
    package = judicial(' default="flow_rejected"', "")
    problem = only(validate_package(package), "gateway_uncovered")
    assert (problem.severity, problem.element_id) == ("error", "gateway_review_approved")
    assert problem.params["flows"] == "Không đồng ý"
    assert "spiff_parse" not in codes(validate_package(package))  # the same problem, once


def test_a_gateway_with_every_flow_conditioned_but_no_default_is_a_warning() -> None:
    xml = judicial(' default="flow_rejected"', "").bpmn_xml.replace(
        'sourceRef="gateway_review_approved" targetRef="draft_certificate" />',
        'sourceRef="gateway_review_approved" targetRef="draft_certificate">'
        "<bpmn:conditionExpression>review_approved == False</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>")
    problems = validate_package(Package(xml, JUDICIAL.forms, JUDICIAL.meta))
    problem = only(problems, "gateway_no_default")
    assert (problem.severity, problem.element_id) == ("warning", "gateway_review_approved")
    assert not blocking(problems)


def test_a_merging_gateway_needs_no_condition() -> None:
    package = judicial('sourceRef="sign" targetRef="gateway_signed" />',
                       'sourceRef="sign" targetRef="merge" /><bpmn:exclusiveGateway id="merge" />'
                       '<bpmn:sequenceFlow id="flow_merge" sourceRef="merge" '
                       'targetRef="gateway_signed" />')
    assert validate_package(package) == []
    parse_package(package)


def test_an_element_that_cannot_be_reached() -> None:
    orphan = ('<bpmn:task id="orphan" name="Lưu trữ"><bpmn:outgoing>flow_orphan</bpmn:outgoing>'
              '</bpmn:task><bpmn:sequenceFlow id="flow_orphan" sourceRef="orphan" '
              'targetRef="result_returned" />\n  </bpmn:process>')
    package = judicial("</bpmn:process>", orphan)
    problems = validate_package(package)
    problem = only(problems, "unreachable")
    assert (problem.severity, problem.element_id) == ("error", "orphan")
    assert problem.line == line_of(package.bpmn_xml, 'id="orphan"')
    assert codes(problems) == {"unreachable"}


def test_elements_from_which_no_end_can_be_reached() -> None:
    package = small("dead_loop.bpmn", "dead_loop")
    problems = validate_package(package)
    dead = {p.element_id: p for p in problems if p.code == "dead_end"}
    assert set(dead) == {"start", "review", "again"}
    assert dead["review"].line == line_of(package.bpmn_xml, '<bpmn:userTask id="review"')
    assert only(problems, "unreachable").element_id == "done"
    assert all(p.severity == "error" for p in dead.values())


def test_a_dangling_task_is_a_dead_end() -> None:
    package = judicial('<bpmn:sequenceFlow id="flow_return_to_end" sourceRef="return_result" '
                       'targetRef="result_returned" />', "")
    problems = validate_package(package)
    assert "return_result" in {p.element_id for p in problems if p.code == "dead_end"}
    assert only(problems, "unreachable").element_id == "result_returned"


def test_a_process_without_start_or_end_events() -> None:
    xml = JUDICIAL.bpmn_xml.replace("bpmn:startEvent", "bpmn:task")
    xml = xml.replace("bpmn:endEvent", "bpmn:task")
    problems = validate_package(Package(xml, JUDICIAL.forms, JUDICIAL.meta))
    assert only(problems, "no_start_event").element_id == "judicial_record_certificate"
    assert only(problems, "no_end_event").element_id == "judicial_record_certificate"


def test_a_check_that_breaks_becomes_a_problem_not_a_server_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(processes: list[Any]) -> list[Problem]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("engine.validation.graph_problems", broken)
    problem = only(validate_package(judicial()), "check_failed")
    assert (problem.severity, problem.params["check"]) == ("error", "graph")


def test_a_condition_the_restricted_engine_would_refuse_is_an_error_before_deployment() -> None:
    problems = validate_package(judicial("dossier_complete == False",
                                         '__import__("os").system("id")'))
    found = only(problems, "condition_syntax")
    assert (found.severity, found.element_id) == ("error", "flow_incomplete")
    assert "__import__" in found.params["detail"]


@pytest.mark.parametrize("value", ["0.3", "0", "-1", "abc", ""])
def test_an_invalid_appointment_extension(value: str) -> None:
    package = judicial('name="appointmentWorkingDays" value="15"',
                       f'name="appointmentWorkingDays" value="{value}"')
    problem = only(validate_package(package), "appointment_days_invalid")
    assert (problem.severity, problem.element_id) == ("error", "request_police_verification")


def test_the_judicial_record_procedure_extends_its_appointment_for_verification() -> None:
    assert not [p for p in validate_package(JUDICIAL) if p.code == "appointment_days_invalid"]
