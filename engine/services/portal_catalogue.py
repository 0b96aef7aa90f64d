"""The public catalogue: each procedure's documents, fees, deadlines and online level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.bootstrap import Core
from engine.services.catalogue import list_procedures
from workflows.intake import ChecklistItem, checklist
from workflows.procedure import Procedure, procedure_from_dict
from workflows.submission import accepts_online


@dataclass(frozen=True)
class CatalogueEntry:
    """One procedure as citizens see it."""

    meta: Procedure
    checklist: list[ChecklistItem]
    legal_basis_en: tuple[str, ...]

    @property
    def online(self) -> bool:
        """Whether it can be submitted online."""
        return accepts_online(self.meta.online_level)


@dataclass(frozen=True)
class Field:
    """A field (lĩnh vực) with its procedures."""

    code: str
    name: str
    name_en: str
    entries: list[CatalogueEntry]

    def title(self, lang: str) -> str:
        """The field's name in `lang`."""
        return self.name_en if lang == "en" and self.name_en else self.name


def _entry(raw: dict[str, Any]) -> CatalogueEntry:
    return CatalogueEntry(procedure_from_dict(raw), checklist(raw),
                          tuple(raw.get("legal_basis_en", ())))


def public_catalogue(core: Core) -> list[Field]:
    """Every procedure open to the public (not `internal = true`), by field."""
    fields: dict[str, Field] = {}
    for _, version in list_procedures(core):
        if version.meta.get("internal"):
            continue
        item = _entry(version.meta)
        meta = item.meta
        fields.setdefault(meta.field, Field(meta.field, meta.field_name, meta.field_name_en,
                                            [])).entries.append(item)
    return sorted(fields.values(), key=lambda f: f.name)


def entry(core: Core, code: str) -> CatalogueEntry | None:
    """One procedure of the catalogue, or None."""
    found = [v for p, v in list_procedures(core) if p.code == code]
    return _entry(found[0].meta) if found else None
