"""The metadata form of a draft (procedure.toml fields) and its forms, checked on save."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import tomli_w

from engine.bootstrap import Core
from engine.errors import N_, InvalidInput
from engine.services.design import invalid, open_draft, save_draft
from engine.services.design_skeleton import new_form
from workflows.escalation import PolicyError, policies_from_table

TEXT_FIELDS = ("name", "name_en", "field", "field_name", "field_name_en", "agency", "fee_note",
               "fee_note_en")
CHOICES = {"online_level": ("full", "partial", "none"),
           "applicant_kind": ("person", "organisation")}
FORM_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
_NOT_SAVED = N_("The metadata was not saved: correct the fields marked in red.")


def escalation_text(meta: Mapping[str, Any]) -> str:
    """The [escalation] table of a draft's metadata as TOML text (empty if none)."""
    table = meta.get("escalation")
    return tomli_w.dumps(table) if isinstance(table, dict) and table else ""


def _number(raw: str, errors: dict[str, str], name: str) -> float | None:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        errors[name] = N_("Enter a number.")
        return None
    if value <= 0 or value * 2 != int(value * 2):
        errors[name] = N_("Enter a positive number of working days in steps of 0.5.")
        return None
    return int(value) if value.is_integer() else value


def _documents(form: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    names, names_en = form.get("doc_name", []), form.get("doc_name_en", [])
    copies, optional = form.get("doc_copies", []), form.get("doc_optional", [])
    documents = []
    for index, name in enumerate(names):
        if not name.strip():
            continue
        count = copies[index] if index < len(copies) else "1"
        document: dict[str, Any] = {
            "name": name.strip(),
            "name_en": names_en[index].strip() if index < len(names_en) else "",
            "copies": int(count) if count.isdigit() and int(count) > 0 else 1}
        if index < len(optional) and optional[index] == "yes":
            document["optional"] = True
        documents.append(document)
    return documents


def meta_from_form(meta: Mapping[str, Any], form: Mapping[str, list[str]]
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft's metadata with the form's fields applied, and a message per bad field."""
    first = {key: values[0] if values else "" for key, values in form.items()}
    errors: dict[str, str] = {}
    result = dict(meta)
    for name in TEXT_FIELDS:
        if name in first:
            result[name] = first[name].strip()
    for name in ("name", "field"):
        if not result.get(name):
            errors[name] = N_("Please fill in this field.")
    for name, allowed in CHOICES.items():
        if first.get(name) in allowed:
            result[name] = first[name]
    for name in ("statutory_working_days", "committed_working_days"):
        value = _number(first.get(name, ""), errors, name)
        if value is not None:
            result[name] = value
    if not errors.get("committed_working_days") and not errors.get("statutory_working_days") \
            and float(result["committed_working_days"]) > float(result["statutory_working_days"]):
        errors["committed_working_days"] = N_(
            "The committed time cannot be longer than the statutory time.")
    fee = first.get("fee_vnd", "0").replace(".", "").replace(",", "").strip() or "0"
    if fee.isdigit():
        result["fee_vnd"] = int(fee)
    else:
        errors["fee_vnd"] = N_("Enter the fee in VND, digits only.")
    result["legal_basis"] = [line.strip() for line in first.get("legal_basis", "").splitlines()
                             if line.strip()]
    result["documents"] = _documents(form)
    _escalation(first.get("escalation", ""), result, errors)
    return result, errors


def _escalation(text: str, result: dict[str, Any], errors: dict[str, str]) -> None:
    try:
        table = tomllib.loads(text)
        policies_from_table(table or None)
    except (tomllib.TOMLDecodeError, PolicyError) as exc:
        errors["escalation"] = str(exc)
        return
    if table:
        result["escalation"] = table
    else:
        result.pop("escalation", None)


def save_meta_form(core: Core, code: str, form: Mapping[str, list[str]], user: str,
                   now: datetime) -> None:
    """Apply the metadata form to the draft; refuse (saving nothing) if a field is wrong."""
    draft = open_draft(core, code, user, now)
    meta, errors = meta_from_form(draft.meta, form)
    if errors:
        raise InvalidInput(_NOT_SAVED, errors)
    save_draft(core, code, meta=meta, user=user, now=now)


def save_form(core: Core, code: str, key: str, text: str, user: str, now: datetime) -> None:
    """Store one form's JSON text in the draft (an invalid schema is kept, invalid JSON not)."""
    if not key or not set(key) <= FORM_KEY_CHARS or len(key) > 60:
        raise InvalidInput(N_("A form's name may hold lower-case letters, digits and "
                              "underscores (at most 60)."), {"key": "pattern"})
    if not text.strip():
        raise InvalidInput(N_("The form is empty, so nothing was saved: the saved form is shown "
                              "again. To delete the form, use “Remove this form”."),
                           {"schema": "required"})
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(N_("The form is not valid JSON: %(detail)s"), {"schema": str(exc)},
                      detail=str(exc)) from exc
    if not isinstance(schema, dict):
        raise InvalidInput(N_("A form is a JSON object."), {"schema": "object"})
    draft = open_draft(core, code, user, now)
    save_draft(core, code, forms={**draft.forms, key: schema}, user=user, now=now)


def create_form(core: Core, code: str, key: str, user: str, now: datetime) -> None:
    """Add a new form, a skeleton to fill in, to the draft; an existing name is refused."""
    if key in open_draft(core, code, user, now).forms:
        raise invalid(N_("A form named %(form)s already exists: choose another name or open it "
                         "from the list."), {"key": "unique"}, form=key)
    save_form(core, code, key, json.dumps(new_form(key)), user, now)


def delete_form(core: Core, code: str, key: str, user: str, now: datetime) -> None:
    """Remove one form from the draft (validation then flags tasks still naming it)."""
    draft = open_draft(core, code, user, now)
    save_draft(core, code, forms={k: v for k, v in draft.forms.items() if k != key},
               user=user, now=now)
