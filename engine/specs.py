"""Procedure packages: parsing BPMN safely, hashing content, caching parsed specs."""

from __future__ import annotations

import hashlib
import json
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from workflows.procedure import Procedure, ProcedureError, procedure_from_dict

# Entities and network access are refused: a BPMN upload must never read the server's files.
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


class PackageError(ValueError):
    """A procedure package (BPMN, forms, metadata) cannot be deployed; says why."""


@dataclass(frozen=True)
class Package:
    """A procedure as deployed: its BPMN text, its forms and its metadata."""

    bpmn_xml: str
    forms: dict[str, Any]
    meta: dict[str, Any]

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical content: equal packages have equal hashes."""
        canonical = json.dumps(
            {"bpmn": self.bpmn_xml, "forms": self.forms, "meta": self.meta},
            sort_keys=True, ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ParsedVersion:
    """A parsed package, shared by every instance of its version."""

    content_hash: str
    procedure: Procedure
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, Any]
    has_timers: bool = False


def read_package(folder: Path) -> Package:
    """Read a catalogue folder: procedure.toml, process.bpmn and forms/*.json."""
    try:
        meta = tomllib.loads((folder / "procedure.toml").read_text(encoding="utf-8"))
        bpmn = (folder / "process.bpmn").read_text(encoding="utf-8")
        forms = {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((folder / "forms").glob("*.json"))
        }
    except (OSError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{folder.name}: {exc}") from exc
    return Package(bpmn_xml=bpmn, forms=forms, meta=meta)


def parse_package(package: Package) -> ParsedVersion:
    """Parse and check a package; raise PackageError with the reason if it is unusable."""
    try:
        procedure = procedure_from_dict(package.meta)
    except ProcedureError as exc:
        raise PackageError(str(exc)) from exc
    try:
        root = etree.fromstring(package.bpmn_xml.encode(), parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"process.bpmn is not well-formed XML: {exc}") from exc
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename="process.bpmn")
        spec = parser.get_spec(procedure.process_id)
        subprocess_specs = parser.get_subprocess_specs(procedure.process_id)
    except ValidationException as exc:
        raise PackageError(f"process.bpmn: {exc}") from exc
    _check_user_tasks(spec, procedure, package.forms)
    return ParsedVersion(package.content_hash, procedure, spec, subprocess_specs, package.forms,
                         has_timers=_has_timers(spec, subprocess_specs))


def _has_timers(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> bool:
    return any(
        isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
        for process in (spec, *subprocess_specs.values())
        for task_spec in process.task_specs.values()
    )


def _check_user_tasks(spec: BpmnProcessSpec, procedure: Procedure, forms: dict[str, Any]) -> None:
    for task_spec in spec.task_specs.values():
        if not getattr(task_spec, "manual", False):
            continue
        name = f"{task_spec.bpmn_name or task_spec.bpmn_id}"
        if task_spec.lane not in procedure.lanes:
            raise PackageError(f"user task '{name}' is in lane '{task_spec.lane}', "
                               "which procedure.toml does not map to a role")
        props = user_task_properties(task_spec)
        form_key = props.get("formKey")
        if form_key and form_key not in forms:
            raise PackageError(f"user task '{name}' names form '{form_key}', which is missing")


def user_task_properties(task_spec: Any) -> dict[str, str]:
    """The spiffworkflow:properties of a task spec (formKey, slaWorkingDays, …)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


class SpecCache:
    """Parsed versions by content hash; parsing happens once per version per process."""

    def __init__(self) -> None:
        self._parsed: dict[str, ParsedVersion] = {}
        self._lock = threading.Lock()

    def get(self, content_hash: str) -> ParsedVersion | None:
        """The parsed version with this hash, if cached."""
        return self._parsed.get(content_hash)

    def add(self, parsed: ParsedVersion) -> ParsedVersion:
        """Cache a parsed version, keeping the first one parsed for its hash."""
        with self._lock:
            return self._parsed.setdefault(parsed.content_hash, parsed)

    def load(self, package: Package) -> ParsedVersion:
        """The parsed version of a package, parsing it on first use."""
        cached = self.get(package.content_hash)
        return cached if cached is not None else self.add(parse_package(package))
