"""Task forms: JSON Schema documents, validated with a message per field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

_MESSAGES: dict[str, dict[str, str]] = {
    "required": {"vi": "Vui lòng nhập trường này.", "en": "Please fill in this field."},
    "type": {
        "vi": "Giá trị không đúng kiểu: cần {kind}.",
        "en": "Wrong kind of value: {kind} needed.",
    },
    "maxLength": {"vi": "Tối đa {limit} ký tự.", "en": "At most {limit} characters."},
    "minLength": {"vi": "Cần ít nhất {limit} ký tự.", "en": "At least {limit} characters needed."},
    "minimum": {
        "vi": "Giá trị nhỏ nhất là {limit}.",
        "en": "The smallest allowed value is {limit}.",
    },
    "maximum": {
        "vi": "Giá trị lớn nhất là {limit}.",
        "en": "The largest allowed value is {limit}.",
    },
    "enum": {
        "vi": "Vui lòng chọn một giá trị trong danh sách.",
        "en": "Please choose a value from the list.",
    },
    "format": {"vi": "Định dạng không hợp lệ ({limit}).", "en": "Invalid format ({limit})."},
    "pattern": {
        "vi": "Giá trị không đúng định dạng.",
        "en": "The value does not have the expected form.",
    },
    "additionalProperties": {
        "vi": "Trường không có trong biểu mẫu: {limit}.",
        "en": "Field not in the form: {limit}.",
    },
}
_KINDS = {
    "boolean": {"vi": "có/không", "en": "yes/no"},
    "integer": {"vi": "số nguyên", "en": "a whole number"},
    "number": {"vi": "số", "en": "a number"},
    "string": {"vi": "văn bản", "en": "text"},
    "object": {"vi": "đối tượng", "en": "an object"},
}
FORM_ERROR_KEY = "_form"


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise jsonschema.SchemaError if `schema` is not a valid JSON Schema."""
    Draft202012Validator.check_schema(schema)


_VALIDATORS: dict[int, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    # Forms are parsed once per deployed version and never mutated: one validator each.
    # The schema is kept alongside so that its id cannot be reused by another object.
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_VALIDATORS) > 1000:  # schemas built per call would otherwise pile up
            _VALIDATORS.clear()
        cached = (schema, Draft202012Validator(schema, format_checker=FormatChecker()))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def field_errors(schema: Mapping[str, Any], data: Any, lang: str = "vi") -> dict[str, str]:
    """Validate `data` against a form schema; return {field: message} in `lang` (empty if valid)."""
    validator = _validator(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        for name, message in _describe(error, lang):
            errors.setdefault(name, message)
    return errors


# Dates a form records as facts cannot lie ahead ("x-not-after-today": the day a result was
# returned, a document signed); deadlines it sets cannot lie behind ("x-not-before-today").
_DAY_LIMITS = {
    "x-not-after-today": ({"vi": "Ngày này không được sau hôm nay ({today}).",
                           "en": "This date must not be after today ({today})."}, 1),
    "x-not-before-today": ({"vi": "Ngày này không được trước hôm nay ({today}).",
                            "en": "This date must not be before today ({today})."}, -1),
}


def submitted(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form data as the web form submits it: text trimmed, blank answers left out (so that
    a required field filled with spaces is missing, whoever sends it)."""
    out = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        out[name] = value
    return out


def day_errors(schema: Mapping[str, Any], data: Mapping[str, Any], today: date,
               lang: str = "vi") -> dict[str, str]:
    """The date fields whose value lies on the wrong side of `today` (the agency's day)."""
    lang = lang if lang == "en" else "vi"
    errors: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        value = data.get(name)
        if not isinstance(value, str) or not isinstance(prop, Mapping):
            continue
        for keyword, (message, side) in _DAY_LIMITS.items():
            if not prop.get(keyword):
                continue
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue  # the format check says so
            if (day > today) if side > 0 else (day < today):
                errors[name] = message[lang].format(today=today.strftime("%d/%m/%Y"))
    return errors


def _describe(error: ValidationError, lang: str) -> list[tuple[str, str]]:
    lang = lang if lang == "en" else "vi"
    kind = str(error.validator)
    schema: Any = error.schema
    template = _MESSAGES.get(kind)
    if kind == "required" and isinstance(error.instance, dict):
        required: Any = error.validator_value
        missing = [p for p in required if p not in error.instance]
        return [(p, _MESSAGES["required"][lang]) for p in missing]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = ", ".join(sorted(k for k in error.instance if k not in allowed))
        return [(FORM_ERROR_KEY, _MESSAGES[kind][lang].format(limit=extra))]
    name = str(error.path[0]) if error.path else FORM_ERROR_KEY
    if template is None:
        return [(name, error.message)]
    help_key = "x-help-en" if lang == "en" else "x-help"
    if kind == "pattern" and isinstance(schema, dict) and schema.get(help_key):
        return [(name, f"{template[lang].rstrip('.')}: {schema[help_key]}.")]
    if kind == "type":
        expected = str(error.validator_value)
        return [(name, template[lang].format(kind=_KINDS.get(expected, {}).get(lang, expected)))]
    return [(name, template[lang].format(limit=error.validator_value))]


def coerce_form(schema: Mapping[str, Any], submitted: Mapping[str, str]) -> dict[str, Any]:
    """Turn an HTML form's strings into the typed values the schema describes.

    Empty inputs are left out, so that `required` reports them; values that do not
    convert are kept as strings, so that `type` reports them.
    """
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        raw = submitted.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        value = str(raw).strip()
        kind = prop.get("type")
        if kind == "boolean":
            lowered = value.lower()
            data[name] = (
                True
                if lowered in {"true", "on", "1", "yes"}
                else False
                if lowered in {"false", "off", "0", "no"}
                else value
            )
        elif kind in {"integer", "number"}:
            try:
                data[name] = int(value) if kind == "integer" else float(value)
            except ValueError:
                data[name] = value
        else:
            data[name] = value
    return data


def label(schema_or_property: Mapping[str, Any], lang: str) -> str:
    """The title of a form or a field in `lang`, falling back to the Vietnamese title."""
    if lang == "en" and schema_or_property.get("x-title-en"):
        return str(schema_or_property["x-title-en"])
    return str(schema_or_property.get("title", ""))
