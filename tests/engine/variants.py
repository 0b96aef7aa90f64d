"""Later versions of the judicial record procedure, as a designer would draw them."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from engine.specs import Package, read_package

CATALOGUE = Path(__file__).resolve().parent.parent.parent / "bpmn"
STAMP_NAME = "Đóng dấu, vào sổ"
REVIEW_RENAMED = "Kiểm tra dự thảo, trình ký"


def judicial_record() -> Package:
    """Version 1: the procedure as the catalogue has it."""
    return read_package(CATALOGUE / "judicial_record_certificate")


def with_stamp(package: Package) -> Package:
    """A new step `stamp` (the leader's office stamps and registers) once the leader has
    signed, before the result goes back."""
    xml = package.bpmn_xml
    xml = xml.replace('<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>\n'
                      '        <bpmn:flowNodeRef>stamp</bpmn:flowNodeRef>')
    xml = xml.replace('<bpmn:incoming>flow_signed</bpmn:incoming>',
                      '<bpmn:incoming>flow_stamp_to_return</bpmn:incoming>')
    xml = xml.replace(
        '<bpmn:userTask id="return_result"',
        f'<bpmn:userTask id="stamp" name="{STAMP_NAME}">\n'
        '      <bpmn:incoming>flow_signed</bpmn:incoming>\n'
        '      <bpmn:outgoing>flow_stamp_to_return</bpmn:outgoing>\n'
        '    </bpmn:userTask>\n\n    <bpmn:userTask id="return_result"')
    xml = xml.replace(
        'sourceRef="gateway_signed" targetRef="return_result">',
        'sourceRef="gateway_signed" targetRef="stamp">')
    xml = xml.replace(
        '  </bpmn:process>',
        '  <bpmn:sequenceFlow id="flow_stamp_to_return" sourceRef="stamp" '
        'targetRef="return_result" />\n  </bpmn:process>')
    xml = re.sub(r'<bpmndi:BPMNEdge id="flow_signed_di".*?</bpmndi:BPMNEdge>',
                 '<bpmndi:BPMNShape id="stamp_di" bpmnElement="stamp">\n'
                 '        <dc:Bounds x="1440" y="670" width="100" height="80" />\n'
                 '      </bpmndi:BPMNShape>\n'
                 '      <bpmndi:BPMNEdge id="flow_signed_di" bpmnElement="flow_signed">\n'
                 '        <di:waypoint x="1415" y="710" />\n'
                 '        <di:waypoint x="1440" y="710" />\n'
                 '      </bpmndi:BPMNEdge>\n'
                 '      <bpmndi:BPMNEdge id="flow_stamp_to_return_di" '
                 'bpmnElement="flow_stamp_to_return">\n'
                 '        <di:waypoint x="1490" y="670" />\n'
                 '        <di:waypoint x="1490" y="210" />\n'
                 '      </bpmndi:BPMNEdge>', xml, flags=re.S)
    return replace(package, bpmn_xml=xml)


def without_police_verification(package: Package) -> Package:
    """`request_police_verification` removed: the 'verification needed' flow goes on to the
    draft (the specialist verifies by other means)."""
    xml = package.bpmn_xml
    xml = re.sub(r'\s*<bpmn:flowNodeRef>request_police_verification</bpmn:flowNodeRef>', '', xml)
    xml = re.sub(r'\s*<bpmn:userTask id="request_police_verification".*?</bpmn:userTask>', '',
                 xml, flags=re.S)
    xml = re.sub(r'\s*<bpmn:sequenceFlow id="flow_verification_to_draft"[^>]*/>', '', xml)
    xml = re.sub(r'\s*<bpmn:incoming>flow_verification_to_draft</bpmn:incoming>',
                 '\n      <bpmn:incoming>flow_needs_verification</bpmn:incoming>', xml)
    xml = xml.replace('sourceRef="gateway_needs_verification" '
                      'targetRef="request_police_verification"',
                      'sourceRef="gateway_needs_verification" targetRef="draft_certificate"')
    xml = re.sub(r'\s*<bpmndi:BPMN(Shape|Edge) id="(request_police_verification|'
                 r'flow_verification_to_draft)_di".*?</bpmndi:BPMN\1>', '', xml, flags=re.S)
    forms = {k: v for k, v in package.forms.items() if k != "request_police_verification"}
    return replace(package, bpmn_xml=xml, forms=forms)


def with_review_renamed(package: Package) -> Package:
    """The step `review` under a new name."""
    return replace(package, bpmn_xml=package.bpmn_xml.replace(
        'id="review" name="Kiểm tra, trình ký"', f'id="review" name="{REVIEW_RENAMED}"'))


def version_two() -> Package:
    """Version 2: `stamp` added after `sign`, police verification removed, review renamed."""
    return with_review_renamed(without_police_verification(with_stamp(judicial_record())))
