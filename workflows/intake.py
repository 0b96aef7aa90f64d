"""What reception records about an applicant when a dossier is received."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """How a dossier reached the agency."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    POST = "post"


APPLICANT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "Thông tin người nộp hồ sơ",
    "x-title-en": "Applicant",
    "additionalProperties": False,
    "required": ["name", "id_number", "birth_date", "phone", "address"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 200,
                 "title": "Họ và tên", "x-title-en": "Full name"},
        "id_number": {"type": "string", "pattern": "^([0-9]{9}|[0-9]{12})$",
                      "title": "Số CCCD/CMND", "x-title-en": "ID card number",
                      "x-help": "9 hoặc 12 chữ số", "x-help-en": "9 or 12 digits"},
        "birth_date": {"type": "string", "format": "date", "maxLength": 10,
                       "title": "Ngày sinh", "x-title-en": "Date of birth"},
        "phone": {"type": "string", "pattern": "^\\+?[0-9 .]{9,15}$",
                  "title": "Số điện thoại", "x-title-en": "Phone"},
        "email": {"type": "string", "format": "email", "maxLength": 200,
                  "title": "Thư điện tử", "x-title-en": "E-mail"},
        "address": {"type": "string", "minLength": 3, "maxLength": 500,
                    "title": "Địa chỉ", "x-title-en": "Address", "x-widget": "textarea"},
    },
}

# Official correspondence: the "applicant" is the agency that sent or drafts the document.
ORGANISATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "Cơ quan, đơn vị gửi văn bản",
    "x-title-en": "Sending agency or unit",
    "additionalProperties": False,
    "required": ["name", "id_number"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 200,
                 "title": "Tên cơ quan, đơn vị", "x-title-en": "Agency or unit"},
        "id_number": {"type": "string", "minLength": 1, "maxLength": 20,
                      "title": "Số, ký hiệu văn bản", "x-title-en": "Document number and symbol",
                      "x-help": "Ví dụ: 123/UBND-VP", "x-help-en": "For example: 123/UBND-VP"},
        "phone": {"type": "string", "pattern": "^\\+?[0-9 .]{9,15}$",
                  "title": "Số điện thoại", "x-title-en": "Phone"},
        "email": {"type": "string", "format": "email", "maxLength": 200,
                  "title": "Thư điện tử", "x-title-en": "E-mail"},
        "address": {"type": "string", "maxLength": 500,
                    "title": "Địa chỉ", "x-title-en": "Address", "x-widget": "textarea"},
    },
}


# Callers that predate the checklist (scripts, the demo, older API clients) send no date of
# birth; the desk, the portal and the API with a checklist always require it.
_APPLICANT_WITHOUT_BIRTH_DATE: dict[str, Any] = {
    **APPLICANT_SCHEMA,
    "required": [k for k in APPLICANT_SCHEMA["required"] if k != "birth_date"],
}


def intake_schema(applicant_kind: str, *, birth_date_required: bool = True) -> dict[str, Any]:
    """What reception records about the applicant of a procedure: a person or an agency."""
    if applicant_kind == "organisation":
        return ORGANISATION_SCHEMA
    return APPLICANT_SCHEMA if birth_date_required else _APPLICANT_WITHOUT_BIRTH_DATE


def birth_date_error(value: Any, today: date, lang: str) -> str | None:
    """A message if a date of birth (yyyy-mm-dd, already format-checked) lies in the future."""
    try:
        born = date.fromisoformat(str(value))
    except ValueError:
        return None  # the schema's format check reports it
    if born > today:
        return ("Ngày sinh không được sau ngày hôm nay." if lang != "en"
                else "The date of birth cannot be after today.")
    return None


class ReturnMethod(StrEnum):
    """How the applicant wants the result back."""

    IN_PERSON = "in_person"
    POST = "post"


RETURN_TITLES: dict[ReturnMethod, tuple[str, str]] = {
    ReturnMethod.IN_PERSON: ("Trực tiếp tại Bộ phận Một cửa", "In person at the reception desk"),
    ReturnMethod.POST: ("Qua dịch vụ bưu chính công ích", "By public post"),
}


def return_errors(method: str | None, address: str, lang: str) -> dict[str, str]:
    """Messages for the return method and, when by post, the recipient's address."""
    en = lang == "en"
    if method not in {m.value for m in ReturnMethod}:
        return {"return_method": "Please choose how the result is returned." if en
                else "Vui lòng chọn hình thức nhận kết quả."}
    if method == ReturnMethod.POST and len(address.strip()) < 3:
        return {"return_address": "Give the address the post must deliver the result to."
                if en else "Vui lòng nhập địa chỉ nhận kết quả qua bưu chính."}
    return {}


# How the names of optional documents already end ("…, nếu có", "… (if any)").
_SAYS_OPTIONAL = ("nếu có", "if any", "if applicable")


@dataclass(frozen=True)
class ChecklistItem:
    """One document of a procedure's checklist; optional ones are needed only in some cases."""

    name: str
    name_en: str
    copies: int
    optional: bool

    def title(self, lang: str) -> str:
        """The document's name in `lang`."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def needs_optional_mark(self, lang: str) -> bool:
        """Whether an "if applicable" mark must be added: optional, and its name not saying so."""
        ending = self.title(lang).rstrip(" .)").casefold()
        return self.optional and not ending.endswith(_SAYS_OPTIONAL)


def checklist(meta: Mapping[str, Any]) -> list[ChecklistItem]:
    """The required documents of a procedure's metadata (procedure.toml's [[documents]])."""
    return [ChecklistItem(str(d["name"]), str(d.get("name_en", "")), int(d.get("copies", 1)),
                          bool(d.get("optional", False)))
            for d in meta.get("documents", ())]


def document_field(index: int) -> str:
    """The field name of the checklist's item `index` (in forms and in error messages)."""
    return f"document_{index}"


def checklist_errors(items: Sequence[ChecklistItem], received: Any,
                     lang: str) -> dict[str, str]:
    """Messages for a checklist as received: [{"index": i, "copies": n}], n >= 1."""
    en = lang == "en"
    if not isinstance(received, list) or not all(
            isinstance(r, dict) and isinstance(r.get("index"), int)
            and isinstance(r.get("copies"), int) for r in received):
        return {"documents_received": 'Send the checklist as [{"index": i, "copies": n}].'
                if en else 'Danh mục giấy tờ phải có dạng [{"index": i, "copies": n}].'}
    errors: dict[str, str] = {}
    seen = set()
    for row in received:
        index, copies = row["index"], row["copies"]
        if not 0 <= index < len(items) or index in seen:
            errors["documents_received"] = (f"Unknown or repeated document number {index}."
                                            if en else f"Số thứ tự giấy tờ {index} không có "
                                            "hoặc bị lặp.")
        elif not 1 <= copies <= 99:
            errors[document_field(index)] = ("Copies: from 1 to 99." if en
                                             else "Số bản: từ 1 đến 99.")
        seen.add(index)
    for name in missing_documents(items, received, lang):
        index = next(i for i, item in enumerate(items) if item.title(lang) == name)
        errors.setdefault(document_field(index), (
            "This required document is missing: request a supplement instead of receiving."
            if en else "Thiếu giấy tờ bắt buộc này: hãy lập phiếu yêu cầu bổ sung thay vì "
            "tiếp nhận."))
    return errors


def missing_documents(items: Sequence[ChecklistItem], received: Sequence[Mapping[str, Any]],
                      lang: str = "vi") -> list[str]:
    """The names of the required (not optional) documents the checklist lacks."""
    have = {r.get("index") for r in received}
    return [item.title(lang) for i, item in enumerate(items)
            if not item.optional and i not in have]


CHANNEL_TITLES: dict[Channel, tuple[str, str]] = {
    Channel.IN_PERSON: ("Trực tiếp", "In person"),
    Channel.ONLINE: ("Trực tuyến", "Online"),
    Channel.POST: ("Bưu chính công ích", "Public post"),
}


# The checklist as received, in JSON (the API's request bodies and the OpenAPI document).
DOCUMENTS_RECEIVED_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "the procedure's documents handed in: their index in the procedure's "
                   "checklist and the number of copies",
    "items": {"type": "object", "required": ["index", "copies"], "additionalProperties": False,
              "properties": {"index": {"type": "integer", "minimum": 0},
                             "copies": {"type": "integer", "minimum": 1, "maximum": 99}}},
}
