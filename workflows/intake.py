"""What reception records about an applicant when a dossier is received."""

from __future__ import annotations

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
    "required": ["name", "id_number", "phone", "address"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 200,
                 "title": "Họ và tên", "x-title-en": "Full name"},
        "id_number": {"type": "string", "pattern": "^([0-9]{9}|[0-9]{12})$",
                      "title": "Số CCCD/CMND", "x-title-en": "ID card number",
                      "x-help": "9 hoặc 12 chữ số", "x-help-en": "9 or 12 digits"},
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


def intake_schema(applicant_kind: str) -> dict[str, Any]:
    """What reception records about the applicant of a procedure: a person or an agency."""
    return ORGANISATION_SCHEMA if applicant_kind == "organisation" else APPLICANT_SCHEMA


CHANNEL_TITLES: dict[Channel, tuple[str, str]] = {
    Channel.IN_PERSON: ("Trực tiếp", "In person"),
    Channel.ONLINE: ("Trực tuyến", "Online"),
    Channel.POST: ("Bưu chính công ích", "Public post"),
}
