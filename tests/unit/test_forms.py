"""Task forms: field-level messages in Vietnamese or English; HTML values coerced."""

from __future__ import annotations

from workflows.forms import FORM_ERROR_KEY, coerce_form, field_errors

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["complete", "copies"],
    "properties": {"complete": {"type": "boolean"},
                   "copies": {"type": "integer", "minimum": 1},
                   "note": {"type": "string", "maxLength": 5},
                   "day": {"type": "string", "format": "date"}},
}


def test_missing_fields_are_reported_one_by_one_in_vietnamese() -> None:
    assert field_errors(SCHEMA, {}) == {"complete": "Vui lòng nhập trường này.",
                                        "copies": "Vui lòng nhập trường này."}


def test_messages_are_in_english_when_asked() -> None:
    errors = field_errors(SCHEMA, {"complete": True, "copies": 0, "note": "too long"}, "en")
    assert errors == {"copies": "The smallest allowed value is 1.",
                      "note": "At most 5 characters."}


def test_an_impossible_date_and_an_unknown_field_are_refused() -> None:
    errors = field_errors(SCHEMA, {"complete": True, "copies": 1, "day": "2026-02-30", "x": 1})
    assert set(errors) == {"day", FORM_ERROR_KEY}


def test_html_values_become_typed_and_blanks_are_left_out() -> None:
    data = coerce_form(SCHEMA, {"complete": "false", "copies": "2", "note": "  ", "day": ""})
    assert data == {"complete": False, "copies": 2}
    assert coerce_form(SCHEMA, {"copies": "two"}) == {"copies": "two"}


def test_a_pattern_error_repeats_the_fields_help() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]{12}$",
                                                      "x-help": "12 chữ số",
                                                      "x-help-en": "12 digits"}}}
    assert field_errors(schema, {"id": "12ab"}) == {
        "id": "Giá trị không đúng định dạng: 12 chữ số."}
    assert field_errors(schema, {"id": "12ab"}, "en")["id"].endswith(": 12 digits.")
