"""Reading a parsed BPMN tree: the processes to check, their elements and extensions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.validation.xml_checks import BPMN_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_BPMN = f"{{{BPMN_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
USER_TASKS = ("userTask", "manualTask")
SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")


def bpmn_name(element: Any) -> str | None:
    """The local name of a BPMN element ("userTask"), or None for anything else."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_BPMN):
        return tag[len(_BPMN):]
    return None


def children(element: Any, *names: str) -> list[Any]:
    """The BPMN children of an element with one of these local names."""
    return [child for child in element if bpmn_name(child) in names]


def descendants(element: Any, *names: str) -> Iterator[Any]:
    """The BPMN elements under an element (itself excluded) with one of these local names."""
    for found in element.iter():
        if found is not element and bpmn_name(found) in names:
            yield found


def process_ids(root: Any) -> list[str]:
    """The ids of the processes a file defines, in document order."""
    return [str(p.get("id")) for p in children(root, "process") if p.get("id")]


def processes_to_check(root: Any, process_id: str | None) -> list[Any]:
    """The named process and the processes it calls; every executable one if it is unknown."""
    by_id = {p.get("id"): p for p in children(root, "process")}
    if process_id not in by_id:
        executable = [p for p in by_id.values() if p.get("isExecutable") != "false"]
        return executable or list(by_id.values())
    selected: list[Any] = []
    waiting = [process_id]
    while waiting:
        process = by_id.get(waiting.pop())
        if process is None or process in selected:
            continue
        selected.append(process)
        waiting.extend(call.get("calledElement") for call in descendants(process, "callActivity"))
    return selected


def spiff_properties(element: Any) -> dict[str, str]:
    """The spiffworkflow:property name/value pairs of an element's own extensions."""
    found: dict[str, str] = {}
    for extensions in children(element, "extensionElements"):
        for prop in extensions.iter(_SPIFF + "property"):
            if prop.get("name"):
                found[str(prop.get("name"))] = str(prop.get("value") or "")
    return found


def spiff_texts(element: Any, name: str) -> list[Any]:
    """The spiffworkflow:<name> elements of an element's own extensions (preScript, …)."""
    return [found for extensions in children(element, "extensionElements")
            for found in extensions.iter(_SPIFF + name)]


def element_by_id(root: Any, element_id: str) -> Any:
    """The element with this id, or None."""
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") == element_id:
            return element
    return None


def text(element: Any) -> str:
    """An element's text content, stripped."""
    return "".join(element.itertext()).strip()
