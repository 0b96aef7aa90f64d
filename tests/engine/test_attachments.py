"""Attachments are checked before they land, stored by checksum, and refused when damaged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from engine.bootstrap import Core
from engine.errors import InvalidInput, NotFound
from engine.services import attachments
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive

PDF = b"%PDF-1.4\n% a scanned request form\n%%EOF\n"


def test_a_pdf_is_stored_under_its_checksum_and_attached(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    stored = attachments.store_file(core, io.BytesIO(PDF), "to khai.pdf")
    with core.uow() as uow:
        attachments.attach(uow.session, dossier.id, stored, purpose="intake",
                           actor="reception", now=MONDAY_9AM, document_index=0)
        uow.commit()
    [row] = attachments.list_attachments(core, dossier.id)
    found, path = attachments.open_attachment(core, dossier.code, row.id)
    assert (found.filename, found.size, found.content_type) == ("to khai.pdf", len(PDF),
                                                                "application/pdf")
    assert path.read_bytes() == PDF and path.name.startswith(stored.sha256)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("virus.exe", b"MZ\x90\x00", "PDF, JPG"),
    ("page.pdf", b"<html><script>alert(1)</script>", "content does not match"),
    ("empty.png", b"", "empty"),
])
def test_a_file_of_the_wrong_kind_is_refused_with_a_message(
        core: Core, name: str, content: bytes, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        attachments.store_file(core, io.BytesIO(content), name, field="doc_0", lang="en")
    assert words in caught.value.fields["doc_0"]
    assert not [p for p in Path(core.settings.upload_dir).rglob("*") if p.is_file()]


def test_a_file_over_the_limit_is_refused_and_leaves_nothing_behind(core: Core) -> None:
    big = io.BytesIO(b"%PDF-" + b"0" * core.settings.max_upload_bytes)
    with pytest.raises(InvalidInput) as caught:
        attachments.store_file(core, big, "scan.pdf", lang="vi")
    assert "MB" in caught.value.fields["file"]
    assert not [p for p in Path(core.settings.upload_dir).rglob("*") if p.is_file()]


def test_a_file_damaged_in_the_store_is_not_served(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    stored = attachments.store_file(core, io.BytesIO(PDF), "a.pdf")
    with core.uow() as uow:
        row = attachments.attach(uow.session, dossier.id, stored, purpose="intake",
                                 actor=None, now=MONDAY_9AM)
        uow.commit()
        row_id = row.id
    (Path(core.settings.upload_dir) / stored.storage_key).write_bytes(b"%PDF-tampered")
    with pytest.raises(NotFound):
        attachments.open_attachment(core, dossier.code, row_id)
    with pytest.raises(NotFound):
        attachments.open_attachment(core, "000.00.18.H57-000000-9999", row_id)
