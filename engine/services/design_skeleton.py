"""The package a new procedure starts from: one lane, one user task with its form."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import quoteattr

from engine.specs import Package

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,59}")
FIRST_LANE = "Bộ phận Một cửa"

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" \
xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" \
id="definitions_{code}" targetNamespace="http://motcua.local/bpmn/{code}" exporter="MotCua" \
exporterVersion="1.0">
  <bpmn:collaboration id="collaboration_{code}">
    <bpmn:participant id="participant_{code}" name={name} processRef="{code}" />
  </bpmn:collaboration>
  <bpmn:process id="{code}" name={name} isExecutable="true">
    <bpmn:laneSet id="lane_set">
      <bpmn:lane id="lane_reception" name={lane}>
        <bpmn:flowNodeRef>received</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>handle</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="received" name="Hồ sơ đã được tiếp nhận">
      <bpmn:outgoing>flow_received_to_handle</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="handle" name="Giải quyết hồ sơ">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="handle" />
          <spiffworkflow:property name="slaWorkingDays" value="1" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_received_to_handle</bpmn:incoming>
      <bpmn:outgoing>flow_handle_to_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done" name="Đã giải quyết">
      <bpmn:incoming>flow_handle_to_done</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_received_to_handle" sourceRef="received" targetRef="handle" />
    <bpmn:sequenceFlow id="flow_handle_to_done" sourceRef="handle" targetRef="done" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{code}">
    <bpmndi:BPMNPlane id="plane_{code}" bpmnElement="collaboration_{code}">
      <bpmndi:BPMNShape id="participant_{code}_di" bpmnElement="participant_{code}" \
isHorizontal="true">
        <dc:Bounds x="160" y="80" width="600" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_reception_di" bpmnElement="lane_reception" isHorizontal="true">
        <dc:Bounds x="190" y="80" width="570" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="received_di" bpmnElement="received">
        <dc:Bounds x="242" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="handle_di" bpmnElement="handle">
        <dc:Bounds x="370" y="140" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done">
        <dc:Bounds x="582" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_received_to_handle_di" bpmnElement="flow_received_to_handle">
        <di:waypoint x="278" y="180" />
        <di:waypoint x="370" y="180" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_handle_to_done_di" bpmnElement="flow_handle_to_done">
        <di:waypoint x="470" y="180" />
        <di:waypoint x="582" y="180" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

FIRST_FORM = {
    "type": "object",
    "title": "Kết quả giải quyết",
    "required": ["result"],
    "properties": {
        "result": {"type": "string", "title": "Kết quả", "x-widget": "textarea",
                   "maxLength": 2000},
    },
}


def new_form(title: str) -> dict[str, Any]:
    """A form to start from: one text field, which the designer replaces."""
    return {"type": "object", "title": title, "required": ["note"],
            "properties": {"note": {"type": "string", "title": "Ghi chú", "x-widget": "textarea",
                                    "maxLength": 2000}}}


def skeleton(code: str, name: str) -> Package:
    """A minimal valid package for a new procedure named `name`."""
    bpmn = _BPMN.format(code=code, name=quoteattr(name), lane=quoteattr(FIRST_LANE))
    meta = {"code": code, "process_id": code, "name": name, "name_en": "", "field": "other",
            "field_name": "Khác", "statutory_working_days": 5, "committed_working_days": 5,
            "online_level": "none", "fee_vnd": 0, "applicant_kind": "person",
            "lanes": {FIRST_LANE: {"role": "reception"}}, "documents": []}
    return Package(bpmn_xml=bpmn, forms={"handle": FIRST_FORM}, meta=meta)
