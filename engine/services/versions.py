"""Versions of a procedure: what changed between two, export to files, import from files.

A version exports as its `.bpmn` text or as a zip of the procedure folder (procedure.toml,
process.bpmn, forms/*.json), the layout of `bpmn/`; importing either gives a draft.
"""

from __future__ import annotations

import io
import json
import tomllib
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import tomli_w
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import Procedure, ProcedureDraft, ProcedureVersion
from engine.specs import Package

MAX_UPLOAD_BYTES = 5 * 1024 * 1024        # a procedure folder is some tens of kilobytes
MAX_UNPACKED_BYTES = 10 * 1024 * 1024     # and never this much once unpacked
MAX_MEMBERS = 200
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                              remove_comments=True)


@dataclass(frozen=True)
class ElementChange:
    """A BPMN element (task, event, gateway, flow, lane) added, removed or changed."""

    id: str
    name: str
    type: str
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionDiff:
    """What changed from one version of a procedure to another."""

    code: str
    from_version: int
    to_version: int
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]
    forms_added: list[str]
    forms_removed: list[str]
    forms_changed: list[str]
    meta_changed: list[str]

    @property
    def empty(self) -> bool:
        """Whether the two versions have the same content."""
        return not (self.added or self.removed or self.changed or self.forms_added
                    or self.forms_removed or self.forms_changed or self.meta_changed)


def get_version(session: Session, code: str, number: int | None = None) -> ProcedureVersion:
    """A version of a procedure by its number (None: the latest)."""
    procedure = session.scalars(select(Procedure).where(Procedure.code == code)).first()
    if procedure is None:
        raise NotFound(N_("There is no procedure with code %(code)s."), code=code)
    query = select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id)
    query = (query.where(ProcedureVersion.version == number) if number is not None
             else query.order_by(ProcedureVersion.version.desc()))
    version = session.scalars(query).first()
    if version is None:
        raise NotFound(N_("Procedure %(code)s has no version %(number)s."), code=code,
                       number=number or 0)
    return version


def list_versions(core: Core, code: str) -> list[ProcedureVersion]:
    """Every version of a procedure, newest first."""
    with core.uow() as uow:
        latest = get_version(uow.session, code)
        return list(uow.session.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == latest.procedure_id)
            .order_by(ProcedureVersion.version.desc())))


def package_of(version: ProcedureVersion | ProcedureDraft) -> Package:
    """The package (BPMN, forms, metadata) of a version or a draft."""
    return Package(bpmn_xml=version.bpmn_xml, forms=dict(version.forms), meta=dict(version.meta))


def diff_versions(core: Core, code: str, old: int, new: int) -> VersionDiff:
    """Elements, forms and metadata keys added, removed or changed from `old` to `new`."""
    with core.uow() as uow:
        before = package_of(get_version(uow.session, code, old))
        after = package_of(get_version(uow.session, code, new))
    return diff_packages(code, old, new, before, after)


def diff_packages(code: str, old: int, new: int, before: Package, after: Package
                  ) -> VersionDiff:
    """The difference between two packages (see `diff_versions`)."""
    first, second = _elements(before.bpmn_xml), _elements(after.bpmn_xml)
    changed = []
    for key in sorted(first.keys() & second.keys()):
        (name, kind, attrs, body), (name2, kind2, attrs2, body2) = first[key], second[key]
        changes = sorted(k for k in attrs.keys() | attrs2.keys() if attrs.get(k) != attrs2.get(k))
        if kind != kind2:
            changes.insert(0, "type")
        changes += sorted(k for k in body.keys() | body2.keys() if body.get(k) != body2.get(k))
        if changes:
            changed.append(ElementChange(key, name2 or name, kind2, changes))
    return VersionDiff(
        code=code, from_version=old, to_version=new,
        added=[ElementChange(k, second[k][0], second[k][1])
               for k in sorted(second.keys() - first.keys())],
        removed=[ElementChange(k, first[k][0], first[k][1])
                 for k in sorted(first.keys() - second.keys())],
        changed=changed,
        forms_added=sorted(after.forms.keys() - before.forms.keys()),
        forms_removed=sorted(before.forms.keys() - after.forms.keys()),
        forms_changed=sorted(k for k in before.forms.keys() & after.forms.keys()
                             if before.forms[k] != after.forms[k]),
        meta_changed=sorted(k for k in before.meta.keys() | after.meta.keys()
                            if before.meta.get(k) != after.meta.get(k)))


_Element = tuple[str, str, dict[str, str], dict[str, list[str]]]


def _elements(bpmn_xml: str) -> dict[str, _Element]:
    """Every BPMN model element with an id: name, type, attributes and own content.

    The content is grouped by the children's tag (incoming, outgoing, extensionElements,
    flowNodeRef, conditionExpression, …), which then names what changed. Children with an
    id of their own are elements of their own, so that adding a task does not also report
    its process as changed. Diagram layout (BPMNDI) is left out.
    """
    root = etree.fromstring(bpmn_xml.encode(), parser=_XML_PARSER)
    found: dict[str, _Element] = {}
    for element in root.iter(f"{{{_BPMN_NS}}}*"):
        key = element.get("id")
        if not key or element is root:
            continue
        attrs = {k: v for k, v in element.attrib.items() if k != "id"}
        body: dict[str, list[str]] = {}
        for child in element:
            if not isinstance(child.tag, str) or (
                    child.get("id") and etree.QName(child).namespace == _BPMN_NS):
                continue
            body.setdefault(etree.QName(child).localname, []).append(
                etree.tostring(child, encoding="unicode", with_tail=False).strip())
        if (element.text or "").strip():
            body["text"] = [(element.text or "").strip()]
        found[key] = (element.get("name") or "", etree.QName(element).localname, attrs, body)
    return found


def export_files(package: Package) -> dict[str, bytes]:
    """The files of a procedure folder: procedure.toml, process.bpmn, forms/<key>.json."""
    files = {"procedure.toml": tomli_w.dumps(package.meta, multiline_strings=True).encode(),
             "process.bpmn": package.bpmn_xml.encode()}
    for key, form in sorted(package.forms.items()):
        files[f"forms/{key}.json"] = (json.dumps(form, ensure_ascii=False, indent=2)
                                      + "\n").encode()
    return files


def export_zip(package: Package, folder: str) -> bytes:
    """A zip of the procedure folder, its files under `folder/`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in export_files(package).items():
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def _refuse(message: str, **params: object) -> InvalidInput:
    error = InvalidInput(message, {})
    error.params = params
    return error


def import_bpmn(data: bytes, base: Package) -> Package:
    """`base` with its BPMN replaced by an uploaded `.bpmn` file."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(N_("The file is larger than %(limit)s MB."),
                      limit=MAX_UPLOAD_BYTES // 2**20)
    text = _text(data, "process.bpmn")
    _check_xml(text)
    return Package(bpmn_xml=text, forms=base.forms, meta=base.meta)


def import_zip(data: bytes, code: str) -> Package:
    """A package from a zip of a procedure folder (the layout `export_zip` writes).

    Refuses archives that could harm the server: too large, too many members, members
    that unpack to more than they claim, and names that are absolute or climb with '..'.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(N_("The file is larger than %(limit)s MB."),
                      limit=MAX_UPLOAD_BYTES // 2**20)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(N_("The file is not a zip archive.")) from exc
    if len(members) > MAX_MEMBERS:
        raise _refuse(N_("The archive holds more than %(limit)s files."), limit=MAX_MEMBERS)
    files: dict[str, bytes] = {}
    budget = MAX_UNPACKED_BYTES
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in member.filename:
            raise _refuse(N_("The archive holds a file outside its folder: %(name)s."),
                          name=member.filename)
        if member.file_size > budget:
            raise _refuse(N_("The archive unpacks to more than %(limit)s MB."),
                          limit=MAX_UNPACKED_BYTES // 2**20)
        try:
            with archive.open(member) as stream:
                content = stream.read(budget + 1)  # never trust the size the header claims
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise _refuse(N_("The archive is damaged or encrypted.")) from exc
        if len(content) > budget:
            raise _refuse(N_("The archive unpacks to more than %(limit)s MB."),
                          limit=MAX_UNPACKED_BYTES // 2**20)
        budget -= len(content)
        files["/".join(path.parts)] = content
    return _package_from_files(_strip_folder(files), code)


def _strip_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files relative to the folder holding procedure.toml (the zip's top folder)."""
    tops = [name[: -len("procedure.toml")] for name in files
            if name == "procedure.toml" or name.endswith("/procedure.toml")]
    if len(tops) != 1:
        raise _refuse(N_("The archive must hold exactly one procedure.toml."))
    top = tops[0]
    return {name[len(top):]: content for name, content in files.items() if name.startswith(top)}


def _package_from_files(files: dict[str, bytes], code: str) -> Package:
    if "process.bpmn" not in files:
        raise _refuse(N_("The archive has no process.bpmn next to procedure.toml."))
    try:
        meta = tomllib.loads(_text(files["procedure.toml"], "procedure.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise _refuse(N_("procedure.toml is not valid TOML: %(detail)s"), detail=str(exc)) from exc
    if meta.get("code") != code:
        raise _refuse(N_("The archive is procedure %(found)s, not %(code)s."),
                      found=str(meta.get("code")), code=code)
    bpmn = _text(files["process.bpmn"], "process.bpmn")
    _check_xml(bpmn)
    forms = {}
    for name, content in sorted(files.items()):
        path = PurePosixPath(name)
        if path.parent == PurePosixPath("forms") and path.suffix == ".json":
            try:
                forms[path.stem] = json.loads(_text(content, name))
            except json.JSONDecodeError as exc:
                raise _refuse(N_("%(name)s is not valid JSON: %(detail)s"), name=name,
                              detail=str(exc)) from exc
    return Package(bpmn_xml=bpmn, forms=forms, meta=meta)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(N_("%(name)s is not UTF-8 text."), name=name) from exc


def _check_xml(text: str) -> None:
    try:
        root = etree.fromstring(text.encode(), parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise _refuse(N_("process.bpmn is not well-formed XML: %(detail)s"),
                      detail=str(exc)) from exc
    # Any other XML would replace the draft with something the modeler cannot open.
    if root.tag != f"{{{_BPMN_NS}}}definitions" or root.find(f"{{{_BPMN_NS}}}process") is None:
        raise _refuse(N_("The file is not a BPMN diagram: its root must be bpmn:definitions "
                         "holding a bpmn:process. Export the diagram as .bpmn from a BPMN "
                         "modeler and import that file."))


def current_package(core: Core, code: str) -> tuple[Package, str]:
    """The draft of a procedure if there is one, else its latest version; and which."""
    with core.uow() as uow:
        draft = uow.session.scalars(select(ProcedureDraft).where(
            ProcedureDraft.code == code)).first()
        if draft is not None:
            return package_of(draft), "draft"
        version = get_version(uow.session, code)
        return package_of(version), str(version.version)


def replace_draft(core: Core, code: str, package: Package, user: str, now: datetime
                  ) -> ProcedureDraft:
    """Make `package` the procedure's draft (created from its latest version if none)."""
    with core.uow() as uow:
        session = uow.session
        draft = session.scalars(select(ProcedureDraft).where(ProcedureDraft.code == code)
                                ).first()
        if draft is None:
            procedure = session.scalars(select(Procedure).where(Procedure.code == code)).first()
            draft = ProcedureDraft(code=code, base_version_id=procedure.latest_version_id
                                   if procedure else None)
            session.add(draft)
        draft.bpmn_xml, draft.forms, draft.meta = package.bpmn_xml, package.forms, package.meta
        draft.updated_by, draft.updated_at = user, now
        uow.commit()
        return draft
