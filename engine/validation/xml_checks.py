"""The BPMN file as XML: size, refused DOCTYPEs and entities, well-formedness, BPMN schema."""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.validation.problems import Problem, problem

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_SCHEMA_PROBLEMS = 50
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# A BPMN file never needs a DTD: refusing any declaration before parsing means that no entity
# is ever expanded (billion laughs) and no external file or URL is ever read (XXE).
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_SCHEMA_LOCK = threading.Lock()  # the shared XMLSchema keeps its error log between calls


def encoded(bpmn_xml: str | bytes) -> bytes:
    """The file as UTF-8 bytes (text that cannot be encoded is replaced, then refused)."""
    if isinstance(bpmn_xml, bytes):
        return bpmn_xml
    return str(bpmn_xml).encode("utf-8", errors="replace")


def parse_xml(data: bytes) -> tuple[Any, list[Problem]]:
    """The parsed root of a BPMN file, or None with the problems that prevent parsing."""
    if len(data) > MAX_BPMN_BYTES:
        return None, [problem("file_too_large", size=len(data), limit=MAX_BPMN_BYTES)]
    declaration = _DECLARATION.search(data)
    if declaration:
        return None, [problem("xml_entity_refused",
                              line=data.count(b"\n", 0, declaration.start()) + 1)]
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        where = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        detail = _short(str(exc.msg or exc))
        return None, [problem("xml_not_well_formed", line=where, detail=detail)]
    except ValueError as exc:
        return None, [problem("xml_not_well_formed", detail=_short(str(exc)))]
    if root is None:
        return None, [problem("xml_not_well_formed", detail="the document is empty")]
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        return None, [problem("xml_entity_refused", line=1)]
    return root, []


def schema_problems(data: bytes) -> tuple[Any, list[Problem]]:
    """XSD errors (the BPMN 2.0 schema with SpiffWorkflow's extensions), each with its line.

    Returns a fresh tree prepared the way SpiffWorkflow's own validator prepares it, for the
    engine's parser to read.
    """
    root = etree.fromstring(data, parser=_safe_parser())
    VALIDATOR.preprocess(root)
    with _SCHEMA_LOCK:
        VALIDATOR.validator.validate(root)
        entries = list(VALIDATOR.validator.error_log)
    by_line = _elements_by_line(root)
    found = []
    for entry in entries[:MAX_SCHEMA_PROBLEMS]:
        line = entry.line if entry.line > 0 else None
        element = _element_at(root, entry.path)
        if element is None and line:
            element = by_line.get(line)
        found.append(problem("bpmn_schema", element, line=line, detail=_short(entry.message)))
    return root, found


def _element_at(root: Any, path: str | None) -> Any:
    # libxml2 gives the XPath of the offending element; the line alone is ambiguous when a
    # tool writes the whole file on one line.
    if not path:
        return None
    prefixes = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    try:
        found = root.getroottree().xpath(path, namespaces=prefixes)
    except (etree.XPathError, TypeError, ValueError):
        return None
    return found[0] if isinstance(found, list) and found else None


def _elements_by_line(root: Any) -> dict[int, Any]:
    lines: dict[int, Any] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.sourceline:
            lines.setdefault(element.sourceline, element)
    return lines


def _safe_parser() -> etree.XMLParser:
    # A parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_comments=True, load_dtd=False, dtd_validation=False)


def _short(text: str, limit: int = 300) -> str:
    text = text.replace(f"{{{BPMN_NS}}}", "bpmn:")
    return text if len(text) <= limit else text[: limit - 1] + "…"
