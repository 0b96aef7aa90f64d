"""The designers' metadata tab (procedure.toml) and forms tab with the officer's live preview."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import gettext as _
from jsonschema.exceptions import SchemaError

from engine.errors import InvalidInput
from engine.services import design_meta
from web import current_core, now, translate
from web.auth import current_officer, role_required
from web.design import DESIGNERS, bp, draft_or_404
from workflows.forms import check_schema


@bp.route("/<code>/metadata", methods=["GET", "POST"])
@role_required(*DESIGNERS)
def metadata(code: str) -> ResponseReturnValue:
    """The procedure.toml fields of the draft: names, field, deadlines, fee, documents, policy."""
    draft = draft_or_404(code)
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(draft.meta)
    escalation = design_meta.escalation_text(draft.meta)
    if request.method == "POST":
        form = request.form.to_dict(flat=False)
        try:
            design_meta.save_meta_form(current_core(), code, form,
                                       current_officer().username, now())
        except InvalidInput as exc:
            flash(translate(exc), "danger")
            errors = {k: gettext(v) for k, v in exc.fields.items()}
            values, _errors = design_meta.meta_from_form(draft.meta, form)
            values.update({k: v[0] for k, v in form.items() if k in errors and v})
            escalation = request.form.get("escalation", "")
        else:
            flash(_("The metadata was saved in the draft."), "success")
            return redirect(url_for(".metadata", code=code))
    return render_template("design/metadata.html", draft=draft, code=code, active="metadata",
                           values=values, errors=errors, escalation=escalation,
                           status=422 if errors else 200), 422 if errors else 200


@bp.get("/<code>/forms")
@role_required(*DESIGNERS)
def forms(code: str) -> ResponseReturnValue:
    """The draft's forms; one of them in the JSON editor beside its preview."""
    draft = draft_or_404(code)
    key = request.args.get("form") or next(iter(sorted(draft.forms)), "")
    text = json.dumps(draft.forms[key], ensure_ascii=False, indent=2) if key in draft.forms \
        else ""
    return _forms_page(draft, code, key, text, None, 200)


def _forms_page(draft: Any, code: str, key: str, text: str, error: str | None,
                status: int) -> ResponseReturnValue:
    return render_template("design/forms.html", draft=draft, code=code, active="forms",
                           key=key, text=text, error=error), status


@bp.post("/<code>/forms")
@role_required(*DESIGNERS)
def save_form(code: str) -> ResponseReturnValue:
    """Save one form's JSON text (or create a new form) in the draft."""
    draft = draft_or_404(code)
    key = request.form.get("key", "").strip()
    text = request.form.get("schema")
    try:
        if text is None:  # the "New form" box sends only a name
            design_meta.create_form(current_core(), code, key, current_officer().username,
                                    now())
        else:
            design_meta.save_form(current_core(), code, key, text, current_officer().username,
                                  now())
    except InvalidInput as exc:
        if not (text or "").strip() and key in draft.forms:  # nothing to keep: show the saved one
            text = json.dumps(draft.forms[key], ensure_ascii=False, indent=2)
        return _forms_page(draft, code, key, text or "", translate(exc), 422)
    flash(_("The form %(form)s was saved in the draft.", form=key), "success")
    return redirect(url_for(".forms", code=code, form=key))


@bp.post("/<code>/forms/<key>/delete")
@role_required(*DESIGNERS)
def delete_form(code: str, key: str) -> ResponseReturnValue:
    """Remove a form from the draft."""
    draft_or_404(code)
    design_meta.delete_form(current_core(), code, key, current_officer().username, now())
    flash(_("The form %(form)s was removed from the draft.", form=key), "success")
    return redirect(url_for(".forms", code=code))


@bp.post("/<code>/forms/preview")
@role_required(*DESIGNERS)
def preview(code: str) -> ResponseReturnValue:
    """The form as an officer will see it, or why the JSON cannot be shown."""
    text = request.form.get("schema", "")
    schema, error = _schema(text)
    if schema is not None:
        try:
            return render_template("design/_preview.html", schema=schema, error=None)
        except Exception as exc:  # a schema of unexpected shapes must not become a 500
            error = _("The form cannot be shown: %(detail)s", detail=str(exc))
    return render_template("design/_preview.html", schema=None, error=error)


def _schema(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, _("The form is not valid JSON: %(detail)s", detail=str(exc))
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        return None, _("A form is a JSON object whose \"properties\" is an object.")
    try:
        check_schema(schema)
    except SchemaError as exc:
        return None, _("The form is not a valid JSON Schema: %(detail)s", detail=exc.message)
    if any(not isinstance(p, dict) for p in schema.get("properties", {}).values()):
        return None, _("Each property of the form must be an object.")
    return schema, None
