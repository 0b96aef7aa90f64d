"""BPMN from other tools, garbage and fuzzed files: problems tied to elements, never exceptions."""

from __future__ import annotations

import os
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from engine.specs import Package, parse_package, read_package
from engine.validation import Problem, blocking, validate_package
from tests.conftest import CATALOGUE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FOREIGN = FIXTURES / "bpmn_foreign"
JUDICIAL = read_package(CATALOGUE / "judicial_record_certificate")
APPROVE_FORM = {"type": "object", "properties": {"approved": {"type": "boolean"}}}


def foreign(name: str, process_id: str, lanes: dict[str, str] | None = None) -> list[Problem]:
    """Validate a foreign tool's file with a minimal procedure.toml around it."""
    meta = {"code": process_id, "process_id": process_id, "name": "Foreign", "field": "testing",
            "statutory_working_days": 5, "committed_working_days": 5,
            "lanes": {lane: {"role": role} for lane, role in (lanes or {"-": "x"}).items()}}
    xml = (FOREIGN / name).read_text(encoding="utf-8")
    return validate_package(Package(xml, {"approve": APPROVE_FORM}, meta))


def by_code(problems: list[Problem]) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = {}
    for p in problems:
        found.setdefault(p.code, set()).add(p.element_id)
    return found


def test_camunda_7_file_gets_element_level_errors() -> None:
    found = by_code(foreign("camunda7.bpmn", "Process_leave_request"))
    assert found["user_task_without_lane"] == {"Activity_review"}
    assert found["user_task_without_form"] == {"Activity_review"}  # camunda:formKey is not ours
    assert found["timer_unquoted"] == {"Event_reminder"}
    assert found["condition_syntax"] == {"Flow_yes"}  # ${approved} is JUEL, not Python
    assert found["gateway_uncovered"] == {"Gateway_approved"}
    assert found["spiff_parse"] == {"Activity_remind"}  # a service task needs an operator


def test_camunda_8_zeebe_file_gets_element_level_errors() -> None:
    found = by_code(foreign("zeebe.bpmn", "Process_invoice"))
    assert found["user_task_without_form"] == {"Activity_approve"}
    assert found["user_task_without_lane"] == {"Activity_approve"}
    assert found["condition_syntax"] == {"Flow_approved"}  # FEEL, not Python
    assert "gateway_uncovered" not in found


def test_bpmn_io_collaboration_with_lanes() -> None:
    problems = foreign("bpmn_io.bpmn", "Process_1", {"Clerk": "reception"})
    found = by_code(problems)
    assert found["lane_without_role"] == {"Lane_2officer"}
    assert found["user_task_without_form"] == {"Activity_0register", "Activity_1decide"}
    assert found["unnamed_user_task"] == {"Activity_1decide"}
    assert found["unreachable"] == {"Activity_2archive"}
    assert found["spiff_parse"] == {"Process_1"}  # isExecutable="false"
    assert "user_task_without_lane" not in found


def test_signavio_file_with_its_metadata() -> None:
    found = by_code(foreign("signavio.bpmn", "sid-process-licence"))
    assert found["lane_without_role"] == {"sid-lane-desk"}
    assert found["user_task_without_form"] == {"sid-check"}
    assert found["gateway_uncovered"] == {"sid-gateway"}
    assert "bpmn_schema" not in found


def test_spiffarena_file_needs_only_our_form_and_lane_mapping() -> None:
    problems = foreign("spiffarena.bpmn", "Process_approval_x7k2p1", {"Approver": "head"})
    found = by_code(problems)
    assert found == {"lane_without_role": {"Lane_requester"},
                     "user_task_without_form": {"Activity_request"},
                     "user_task_without_sla": {"Activity_request"}}
    mapped = foreign("spiffarena.bpmn", "Process_approval_x7k2p1",
                     {"Approver": "head", "Requester": "reception"})
    assert by_code(mapped).keys() == {"user_task_without_form", "user_task_without_sla"}


@pytest.mark.parametrize("name", sorted(p.name for p in FOREIGN.iterdir()))
def test_foreign_files_never_raise_and_tie_errors_to_elements(name: str) -> None:
    problems = foreign(name, "whatever")
    assert blocking(problems)
    assert by_code(problems)["process_not_found"] == {None}
    tied = [p for p in problems if p.code != "process_not_found" and p.severity == "error"]
    assert tied and all(p.element_id and p.line for p in tied)


GARBAGE: dict[str, Any] = {
    "empty": "",
    "whitespace": "   \n\t",
    "binary": os.urandom(4096),
    "binary text": bytes(range(256)).decode("latin-1") * 4,
    "nul bytes": "<bpmn:definitions>\x00\x00</bpmn:definitions>",
    "html": "<!doctype html><html><body><h1>Not BPMN</h1></body></html>",
    "html without doctype": "<html><body><p>Not BPMN</p><br></body></html>",
    "json": '{"bpmn": "no"}',
    "xpdl": (FIXTURES / "bpmn_invalid" / "xpdl.xml").read_text(encoding="utf-8"),
    "bpmn 1.0 style": '<?xml version="1.0"?><definitions xmlns="http://www.omg.org/bpmn10">'
                      '<process id="p"><task id="t"/></process></definitions>',
    "three megabytes": "<a>" + "x" * 3_000_000 + "</a>",
    "deep nesting": "<a>" * 5000 + "</a>" * 5000,
    "lone surrogate": "<a>\ud800</a>",
    "utf-16 declaration": '<?xml version="1.0" encoding="UTF-16"?><a/>',
    "none": None,
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_gives_problems_not_exceptions(name: str) -> None:
    package = Package(GARBAGE[name], JUDICIAL.forms, JUDICIAL.meta)
    problems = validate_package(package)
    assert blocking(problems)
    assert "check_failed" not in {p.code for p in problems}


@pytest.mark.parametrize("meta", [{}, {"process_id": 5}, {"process_id": ["a"]},
                                  {"lanes": "many"}, [],
                                  dict(JUDICIAL.meta, statutory_working_days="ten"),
                                  dict(JUDICIAL.meta, lanes={"A": "no table"})])
def test_broken_metadata_gives_problems_not_exceptions(meta: Any) -> None:
    problems = validate_package(Package(JUDICIAL.bpmn_xml, JUDICIAL.forms, meta))
    assert "procedure_toml" in {p.code for p in problems}
    assert "check_failed" not in {p.code for p in problems}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The judicial BPMN with a few random cuts, insertions and replacements."""
    xml = JUDICIAL.bpmn_xml
    pieces = st.sampled_from(["<", ">", "/>", '"', "&", "&amp;", "<bpmn:task id='x'/>",
                              "<bpmn:sequenceFlow id='y' sourceRef='review' targetRef='x'/>",
                              "default=\"z\" ", "PT1H", "\x00", "]]>", "<![CDATA[", "é"])
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(xml)))
        end = min(len(xml), start + draw(st.integers(0, 200)))
        insert = draw(st.one_of(pieces, st.text(max_size=20)))
        xml = xml[:start] + insert + xml[end:]
    return xml


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(xml=mutated())
def test_mutated_bpmn_never_raises(xml: str) -> None:
    problems = validate_package(Package(xml, JUDICIAL.forms, JUDICIAL.meta))
    assert all(isinstance(p, Problem) for p in problems)
    assert "check_failed" not in {p.code for p in problems}
    for p in problems:
        assert p.severity in {"error", "warning"}
        assert p.message % p.params
    if not blocking(problems):  # what validation lets through, the engine can deploy
        parse_package(Package(xml, JUDICIAL.forms, JUDICIAL.meta))


XML_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn")), max_size=12)


@st.composite
def rearranged(draw: st.DrawFn) -> str:
    """The judicial BPMN, well formed, with elements removed, copied, moved or re-pointed."""
    root = etree.fromstring(JUDICIAL.bpmn_xml.encode())
    ids = [e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")]
    for _ in range(draw(st.integers(1, 5))):
        elements = [e for e in root.iter() if isinstance(e.tag, str)][1:]
        if not elements:
            break
        element = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["remove", "copy", "move", "attribute", "text"]))
        parent = element.getparent()
        if action == "remove":
            parent.remove(element)
        elif action == "copy":
            parent.append(deepcopy(element))
        elif action == "move":
            target = draw(st.sampled_from(elements))
            if target is not element and element not in set(target.iterancestors()):
                target.append(element)
        elif action == "attribute":
            name = draw(st.sampled_from(["id", "sourceRef", "targetRef", "default", "name",
                                         "attachedToRef", "isExecutable", "value"]))
            element.set(name, draw(st.sampled_from(ids) | XML_TEXT))
        else:
            element.text = draw(st.sampled_from(ids) | XML_TEXT)
    return str(etree.tostring(root, encoding="unicode"))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(xml=rearranged())
def test_rearranged_bpmn_never_raises_and_what_passes_deploys(xml: str) -> None:
    package = Package(xml, JUDICIAL.forms, JUDICIAL.meta)
    problems = validate_package(package)
    assert "check_failed" not in {p.code for p in problems}
    if not blocking(problems):
        parse_package(package)


@settings(max_examples=40, deadline=None, database=None)
@given(forms=st.dictionaries(st.text(max_size=10), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3), max_leaves=10)))
def test_random_forms_never_raise(forms: dict[str, Any]) -> None:
    problems = validate_package(Package(JUDICIAL.bpmn_xml, forms, JUDICIAL.meta))
    assert "check_failed" not in {p.code for p in problems}
