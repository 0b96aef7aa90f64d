"""A lean SpiffWorkflow serializer: instances reference their version's spec by hash.

The default serializer copies the whole spec into every instance; here the spec lives
once per version (procedure_version) and is taken from the SpecCache on restore.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.specs import ParsedVersion

SERIALIZER_VERSION = "motcua-1/spiff-1.5"
SPEC_KEY = "spec_hash"

SpecLoader = Callable[[str], ParsedVersion]


class _LeanWorkflowConverter(BpmnWorkflowConverter):
    """Writes the version's content hash where the default writes the whole spec."""

    spec_loader: SpecLoader

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct[SPEC_KEY] = workflow.spec_hash
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        from uuid import UUID

        parsed = self.spec_loader(dct.pop(SPEC_KEY))
        workflow = self.target_class(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.spec_hash = parsed.content_hash
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class LeanSerializer:
    """Turns workflows into bytes and back, with the spec taken from `spec_loader`."""

    version = SERIALIZER_VERSION

    def __init__(self, spec_loader: SpecLoader) -> None:
        config = dict(SPIFF_CONFIG)
        converter = type("LeanWorkflowConverter", (_LeanWorkflowConverter,),
                         {"spec_loader": staticmethod(spec_loader)})
        config[BpmnWorkflow] = converter
        self._inner = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))

    def dumps(self, workflow: BpmnWorkflow) -> bytes:
        """Serialize a workflow (which must carry `spec_hash`) to UTF-8 JSON bytes."""
        return self._inner.serialize_json(workflow).encode()

    def loads(self, state: bytes) -> BpmnWorkflow:
        """Restore a workflow serialized by `dumps`."""
        return self._inner.deserialize_json(state.decode())


def new_workflow(parsed: ParsedVersion) -> BpmnWorkflow:
    """A fresh workflow of a parsed version, tagged with the version's hash."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.spec_hash = parsed.content_hash
    return workflow
