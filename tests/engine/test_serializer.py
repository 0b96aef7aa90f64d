"""Long-running procedures live in the database: saving and restoring changes nothing."""

from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.demo import step_data
from engine.runtime import Runtime
from engine.serializer import LeanSerializer
from engine.specs import ParsedVersion, SpecCache, read_package
from tests.conftest import CATALOGUE, MONDAY_9AM


def _runtime() -> tuple[Runtime, ParsedVersion]:
    cache = SpecCache()
    parsed = cache.load(read_package(CATALOGUE / "judicial_record_certificate"))
    return Runtime(cache, LeanSerializer(lambda h: cache.get(h) or parsed)), parsed


def _snapshot(runtime: Runtime, workflow: object) -> list[tuple[str, str, int, str]]:
    return sorted((str(t.id), t.task_spec.name, t.state, repr(sorted(t.data.items())))
                  for t in workflow.get_tasks())  # type: ignore[attr-defined]


def test_save_and_restore_at_every_step_changes_nothing() -> None:
    runtime, parsed = _runtime()
    workflow = runtime.start(parsed, {"dossier_code": "X"}, MONDAY_9AM)
    for bpmn_id in ["check_records", "draft_certificate", "review", "sign", "return_result"]:
        before = _snapshot(runtime, workflow)
        workflow = runtime.restore(runtime.dump(workflow))
        assert _snapshot(runtime, workflow) == before
        [ready] = runtime.ready_tasks(workflow)
        assert ready.bpmn_id == bpmn_id
        runtime.complete(workflow, ready.id, step_data(bpmn_id, "2026-11-23"), MONDAY_9AM)
    restored = runtime.restore(runtime.dump(workflow))
    assert restored.is_completed() and restored.data["certificate_number"] == "123/PLLTP"


def test_the_lean_state_is_smaller_than_the_default_serialization() -> None:
    runtime, parsed = _runtime()
    content_hash = parsed.content_hash
    workflow = runtime.start(parsed, {}, MONDAY_9AM)
    lean = runtime.dump(workflow)
    default = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    full = default.serialize_json(workflow).encode()
    assert len(lean) < len(full) / 2
    assert content_hash.encode() in lean
    assert [t.task_spec.bpmn_id for t in runtime.restore(lean).get_tasks(
        state=TaskState.READY, manual=True)] == ["check_records"]


def test_the_catalogue_folder_is_a_valid_package() -> None:
    package = read_package(Path(CATALOGUE) / "judicial_record_certificate")
    assert set(package.forms) == {"check_records", "receive_supplement",
                                  "request_police_verification", "draft_certificate",
                                  "review", "sign", "return_result"}
