"""Attachments: files kept outside the database, named by checksum, checked before they land."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput, NotFound
from engine.models import Attachment, Dossier

# What a dossier may hold: scans and office documents. The first bytes must agree with the
# name's extension, so a renamed executable or HTML page is refused.
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              (b"PK\x03\x04",)),
}
PURPOSES = frozenset({"intake", "supplement", "task", "result"})
_CHUNK = 1 << 16


@dataclass(frozen=True)
class StoredFile:
    """A checked file written to the store, not yet attached to a dossier."""

    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


def _message(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def store_file(core: Core, stream: IO[bytes], filename: str, *, field: str = "file",
               lang: str = "vi") -> StoredFile:
    """Check a file's size and type and write it to the store under its SHA-256."""
    name = Path(filename or "").name.strip()
    extension = Path(name).suffix.lower()
    limit = core.settings.max_upload_bytes
    if not name or extension not in ALLOWED:
        raise InvalidInput(N_("The file was not accepted: correct the fields marked."), {
            field: _message(lang, "Chỉ nhận tệp PDF, JPG, PNG, DOCX hoặc XLSX.",
                            "Only PDF, JPG, PNG, DOCX or XLSX files are accepted.")})
    content_type, magics = ALLOWED[extension]
    root = Path(core.settings.upload_dir)
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.NamedTemporaryFile(dir=root, prefix=".upload-", delete=False) as tmp:
        try:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(N_("The file was not accepted: correct the fields "
                                          "marked."), {field: _message(
                        lang, f"Tệp lớn hơn {limit // (1024 * 1024)} MB: hãy nén hoặc chia nhỏ.",
                        f"The file is larger than {limit // (1024 * 1024)} MB: compress or "
                        "split it.")})
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                tmp.write(chunk)
            if size == 0 or not head.startswith(magics):
                raise InvalidInput(N_("The file was not accepted: correct the fields marked."),
                                   {field: _message(
                                       lang, "Tệp rỗng hoặc nội dung không đúng loại tệp.",
                                       "The file is empty or its content does not match its "
                                       "type.")})
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    sha256 = digest.hexdigest()
    key = f"{sha256[:2]}/{sha256}{extension}"
    (root / sha256[:2]).mkdir(exist_ok=True)
    os.replace(tmp.name, root / key)  # same content, same key: a second upload is harmless
    return StoredFile(filename=name[-255:], content_type=content_type, size=size,
                      sha256=sha256, storage_key=key)


def attach(session: Session, dossier_id: int, stored: StoredFile, *, purpose: str,
           actor: str | None, now: datetime, task_id: str | None = None,
           document_index: int | None = None) -> Attachment:
    """Record a stored file as the dossier's, in the caller's transaction."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown attachment purpose {purpose!r}")
    attachment = Attachment(
        dossier_id=dossier_id, task_id=task_id, document_index=document_index, purpose=purpose,
        filename=stored.filename, content_type=stored.content_type, size=stored.size,
        sha256=stored.sha256, storage_key=stored.storage_key, uploaded_at=now,
        uploaded_by=actor)
    session.add(attachment)
    return attachment


def list_attachments(core: Core, dossier_id: int) -> list[Attachment]:
    """A dossier's attachments, oldest first."""
    with core.uow() as uow:
        return list(uow.session.scalars(
            select(Attachment).where(Attachment.dossier_id == dossier_id)
            .order_by(Attachment.id)))


def open_attachment(core: Core, dossier_code: str, attachment_id: int) -> tuple[Attachment, Path]:
    """An attachment of the named dossier and its file; the caller has checked permission."""
    with core.uow() as uow:
        row = uow.session.execute(
            select(Attachment).join(Dossier, Dossier.id == Attachment.dossier_id)
            .where(Attachment.id == attachment_id, Dossier.code == dossier_code)).scalar()
    path = Path(core.settings.upload_dir) / row.storage_key if row is not None else None
    if row is None or path is None or not path.is_file():
        raise NotFound(N_("This file does not exist or is no longer available."))
    with path.open("rb") as handle:  # the store is trusted only as far as its checksums
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != row.sha256:
        raise NotFound(N_("This file is damaged in the store: ask the administrator to "
                          "restore it from the backup."))
    return row, path
