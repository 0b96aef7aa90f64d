"""Versions: what changed between two, and export/import of files that keeps the content."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import InvalidInput, NotFound
from engine.models import ProcedureDraft
from engine.services import catalogue, versions
from tests.conftest import MONDAY_9AM
from tests.engine.variants import REVIEW_RENAMED, STAMP_NAME, judicial_record, version_two

CODE = "judicial_record_certificate"


def _deploy_two(core: Core) -> None:
    catalogue.deploy(core, version_two(), "designer", MONDAY_9AM + timedelta(days=1))


def test_the_diff_names_the_steps_added_removed_and_renamed(sqlite_core: Core) -> None:
    _deploy_two(sqlite_core)
    diff = versions.diff_versions(sqlite_core, CODE, 1, 2)
    added = {(e.id, e.name, e.type) for e in diff.added}
    assert ("stamp", STAMP_NAME, "userTask") in added
    assert ("flow_stamp_to_return", "", "sequenceFlow") in added
    removed = {e.id: e for e in diff.removed}
    assert removed["request_police_verification"].type == "userTask"
    assert removed["request_police_verification"].name.startswith("Gửi yêu cầu xác minh")
    changed = {e.id: e for e in diff.changed}
    assert changed["review"].name == REVIEW_RENAMED and changed["review"].changes == ["name"]
    assert changed["flow_signed"].changes == ["targetRef"]
    assert changed["flow_needs_verification"].changes == ["targetRef"]
    assert "judicial_record_certificate" not in changed  # the process only holds them
    assert diff.forms_removed == ["request_police_verification"]
    assert not diff.forms_added and not diff.forms_changed and not diff.meta_changed


def test_the_diff_of_a_version_with_itself_is_empty(sqlite_core: Core) -> None:
    assert versions.diff_versions(sqlite_core, CODE, 1, 1).empty


def test_a_missing_version_is_not_found(sqlite_core: Core) -> None:
    with pytest.raises(NotFound):
        versions.diff_versions(sqlite_core, CODE, 1, 7)


def test_metadata_and_form_changes_are_listed_by_key() -> None:
    before = judicial_record()
    after = versions.Package(before.bpmn_xml, {**before.forms, "sign": {"type": "object"},
                                               "extra": {}},
                             {**before.meta, "committed_working_days": 7})
    diff = versions.diff_packages(CODE, 1, 2, before, after)
    assert (diff.forms_added, diff.forms_changed) == (["extra"], ["sign"])
    assert diff.meta_changed == ["committed_working_days"]
    assert not diff.added and not diff.removed and not diff.changed


def test_exporting_and_importing_a_folder_keeps_the_content_hash(sqlite_core: Core) -> None:
    with sqlite_core.uow() as uow:
        version = versions.get_version(uow.session, CODE, 1)
        package = versions.package_of(version)
    data = versions.export_zip(package, CODE)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"{CODE}/procedure.toml" in names and f"{CODE}/forms/sign.json" in names
    back = versions.import_zip(data, CODE)
    assert back == package
    assert back.content_hash == version.content_hash


def test_importing_a_bpmn_file_replaces_only_the_diagram() -> None:
    base = judicial_record()
    new = version_two()
    imported = versions.import_bpmn(new.bpmn_xml.encode(), base)
    assert imported.bpmn_xml == new.bpmn_xml and imported.forms == base.forms


@pytest.mark.parametrize("xml", [
    b"<root><a/></root>",
    b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
    b'<process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p"/>',
])
def test_xml_that_is_not_a_bpmn_diagram_is_refused(xml: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a BPMN diagram"):
        versions.import_bpmn(xml, judicial_record())


def test_an_imported_folder_becomes_the_draft(sqlite_core: Core) -> None:
    package = version_two()
    versions.replace_draft(sqlite_core, CODE, package, "designer", MONDAY_9AM)
    versions.replace_draft(sqlite_core, CODE, package, "designer", MONDAY_9AM)  # replaces
    with sqlite_core.uow() as uow:
        [draft] = uow.session.scalars(select(ProcedureDraft)).all()
        assert draft.base_version_id is not None and draft.bpmn_xml == package.bpmn_xml
    assert versions.current_package(sqlite_core, CODE) == (package, "draft")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../procedure.toml", "/etc/procedure.toml",
                                  "a/../../procedure.toml", "C:/procedure.toml"])
def test_a_zip_with_a_path_outside_its_folder_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="outside its folder"):
        versions.import_zip(_zip({name: b"code = 'x'"}), CODE)


def test_a_zip_bomb_is_refused_without_unpacking_it() -> None:
    bomb = _zip({f"{CODE}/process.bpmn": b"\0" * (versions.MAX_UNPACKED_BYTES + 1)})
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput, match="unpacks to more than"):
        versions.import_zip(bomb, CODE)


def test_a_zip_lying_about_its_sizes_is_refused() -> None:
    data = bytearray(_zip({"a.json": b"\0" * (versions.MAX_UNPACKED_BYTES + 10)}))
    # Rewrite the declared uncompressed size (central directory) to a small number.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(InvalidInput):
        versions.import_zip(bytes(data), CODE)


def test_a_zip_with_too_many_members_is_refused() -> None:
    many = _zip({f"{CODE}/forms/f{i}.json": b"{}" for i in range(versions.MAX_MEMBERS + 1)})
    with pytest.raises(InvalidInput, match="more than"):
        versions.import_zip(many, CODE)


def test_a_folder_of_another_procedure_or_broken_files_is_refused() -> None:
    files = {f"{CODE}/{name}": content
             for name, content in versions.export_files(judicial_record()).items()}
    with pytest.raises(InvalidInput, match="not"):
        versions.import_zip(_zip(files), "law_practice_registration")
    with pytest.raises(InvalidInput, match="not well-formed"):
        versions.import_zip(_zip({**files, f"{CODE}/process.bpmn": b"<bpmn"}), CODE)
    with pytest.raises(InvalidInput, match="not a zip"):
        versions.import_zip(b"not a zip", CODE)
    with pytest.raises(InvalidInput, match="not well-formed"):
        versions.import_bpmn(b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;",
                             judicial_record())
