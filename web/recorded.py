"""What earlier steps of a dossier recorded, as officers read it beside a task or a dossier:
the data of each completed step's form, labelled by that form, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext

from engine.bootstrap import Core
from engine.services.dossiers import DossierDetail
from engine.services.tasks import version_forms
from workflows.forms import label


@dataclass(frozen=True)
class RecordedField:
    """One answer of a completed step's form, ready to show."""

    label: str
    value: str


@dataclass(frozen=True)
class RecordedStep:
    """A completed step and what its officer recorded."""

    bpmn_id: str
    name: str
    actor: str | None
    at: datetime
    fields: list[RecordedField]


def recorded_steps(core: Core, detail: DossierDetail, lang: str) -> list[RecordedStep]:
    """Each completed step with the answers of its form, newest first."""
    tasks = {task.id: task for task in detail.tasks}
    version_id = detail.dossier.procedure_version_id
    forms = version_forms(core, [version_id]).get(version_id, {})
    steps = []
    for event in detail.events:
        task = tasks.get(event.task_id or "")
        if event.kind != "completed" or not event.data or task is None:
            continue
        props = forms.get(task.form_key or "", {}).get("properties", {})
        names = [n for n in props if n in event.data]
        names += [n for n in event.data if n not in props]
        fields = [RecordedField(label(props[n], lang) if n in props else n,
                                _shown(props.get(n, {}), event.data[n], lang))
                  for n in names if event.data[n] not in (None, "", [])]
        if fields:
            steps.append(RecordedStep(task.bpmn_id, task.name, event.actor, event.at, fields))
    return steps[::-1]


def last_answers(detail: DossierDetail, bpmn_id: str) -> dict[str, Any]:
    """What the step `bpmn_id` recorded the last time it was completed (a step done again
    after a send-back), but its yes/no answers: those decide the way on and are chosen
    afresh."""
    tasks = {task.id: task for task in detail.tasks}
    for event in reversed(detail.events):
        task = tasks.get(event.task_id or "")
        if event.kind == "completed" and task is not None and task.bpmn_id == bpmn_id:
            return {k: v for k, v in (event.data or {}).items() if not isinstance(v, bool)}
    return {}


def _shown(prop: dict[str, Any], value: Any, lang: str) -> str:
    """A value as the form would show it: yes/no, an option's title, a local date."""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if prop.get("enum") and value in prop["enum"]:
        titles = (prop.get("x-enum-titles-en") if lang == "en" else None) or \
            prop.get("x-enum-titles") or prop["enum"]
        return str(titles[prop["enum"].index(value)])
    if prop.get("format") == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def applicant_choices(dossier: Any, form: dict[str, Any] | None) -> dict[str, Any]:
    """What the applicant chose at submission that the step's form asks again: how the
    result goes back, and the postal address."""
    props = (form or {}).get("properties", {})
    choices: dict[str, Any] = {}
    method = props.get("return_method", {})
    if dossier.return_method and dossier.return_method in method.get("enum", ()):
        choices["return_method"] = dossier.return_method
    if dossier.return_address and "postal_address" in props:
        choices["postal_address"] = dossier.return_address
    return choices
