"""A procedure's metadata (procedure.toml) as the domain sees it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from workflows.escalation import EscalationPolicy, PolicyError, policies_from_table

# How often one step may run in one instance (loop rounds), unless procedure.toml says
# otherwise. SpiffWorkflow keeps every completed task and fails past a tree depth of about
# 1,000 (some 250 rounds of a loop with a boundary event): the setting is capped below that.
DEFAULT_MAX_ROUNDS_PER_STEP = 25
MAX_ROUNDS_PER_STEP_LIMIT = 250


class ProcedureError(ValueError):
    """The metadata of a procedure is missing something or contradicts itself."""


@dataclass(frozen=True)
class RequiredDocument:
    """One document the applicant must hand in."""

    name: str
    name_en: str
    copies: int = 1


@dataclass(frozen=True)
class Lane:
    """Who works in a BPMN lane: a role, and optionally a department."""

    role: str
    department: str | None = None
    name_en: str = ""


@dataclass(frozen=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) with its deadlines, fee and lanes."""

    code: str
    process_id: str
    name: str
    name_en: str
    field: str
    field_name: str
    field_name_en: str
    statutory_working_days: float
    committed_working_days: float
    lanes: dict[str, Lane]
    online_level: str = "none"
    fee_vnd: int = 0
    fee_note: str = ""
    fee_note_en: str = ""
    agency: str = ""
    national_code: str = ""
    max_supplement_rounds: int = 1
    max_rounds_per_step: int = DEFAULT_MAX_ROUNDS_PER_STEP
    applicant_kind: str = "person"
    legal_basis: tuple[str, ...] = ()
    documents: tuple[RequiredDocument, ...] = ()
    escalation: EscalationPolicy = EscalationPolicy()
    step_escalation: tuple[tuple[str, EscalationPolicy], ...] = ()
    appointment_escalation: EscalationPolicy = EscalationPolicy()
    step_names_en: dict[str, str] = dataclasses.field(default_factory=dict)

    def step_policy(self, bpmn_id: str) -> EscalationPolicy:
        """The escalation policy of one step (its own, or the procedure's)."""
        return dict(self.step_escalation).get(bpmn_id, self.escalation)

    def title(self, lang: str) -> str:
        """The procedure's name in `lang` ("vi" or "en")."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def step_title(self, bpmn_id: str | None, name: str, lang: str) -> str:
        """A BPMN element's name in `lang`: the English one if known, else its BPMN `name`."""
        english = self.step_names_en.get(bpmn_id or "") if lang == "en" else None
        return english or name

    def lane_title(self, lane: str, lang: str) -> str:
        """A lane's name in `lang`: the English one if known, else the BPMN's."""
        known = self.lanes.get(lane)
        return known.name_en if lang == "en" and known and known.name_en else lane


_REQUIRED = ("code", "process_id", "name", "field", "statutory_working_days",
             "committed_working_days", "lanes")


def procedure_from_dict(raw: dict[str, Any]) -> Procedure:
    """Build a Procedure from parsed procedure.toml, refusing inconsistent metadata."""
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise ProcedureError(f"procedure.toml lacks: {', '.join(missing)}")
    statutory = float(raw["statutory_working_days"])
    committed = float(raw["committed_working_days"])
    if not 0 < committed <= statutory:
        raise ProcedureError(
            f"committed_working_days ({committed}) must be positive and at most "
            f"statutory_working_days ({statutory})"
        )
    if raw.get("applicant_kind", "person") not in {"person", "organisation"}:
        raise ProcedureError("applicant_kind must be one of: person, organisation")
    if raw.get("online_level", "none") not in {"full", "partial", "none"}:
        raise ProcedureError("online_level must be one of: full, partial, none")
    try:
        policies = policies_from_table(raw.get("escalation"))
    except PolicyError as exc:
        raise ProcedureError(str(exc)) from exc
    lanes = {
        name: Lane(role=str(spec["role"]), department=spec.get("department"),
                   name_en=str(spec.get("name_en", "")))
        for name, spec in dict(raw["lanes"]).items()
    }
    if not lanes:
        raise ProcedureError("procedure.toml maps no lane to a role")
    step_names_en = _step_names_en(raw.get("steps", {}))
    return Procedure(
        code=raw["code"],
        process_id=raw["process_id"],
        name=raw["name"],
        name_en=raw.get("name_en", ""),
        field=raw["field"],
        field_name=raw.get("field_name", raw["field"]),
        field_name_en=raw.get("field_name_en", ""),
        statutory_working_days=statutory,
        committed_working_days=committed,
        lanes=lanes,
        online_level=raw.get("online_level", "none"),
        fee_vnd=int(raw.get("fee_vnd", 0)),
        fee_note=raw.get("fee_note", ""),
        fee_note_en=raw.get("fee_note_en", ""),
        agency=raw.get("agency", ""),
        national_code=raw.get("national_code", ""),
        max_supplement_rounds=int(raw.get("max_supplement_rounds", 1)),
        max_rounds_per_step=_max_rounds_per_step(raw),
        applicant_kind=raw.get("applicant_kind", "person"),
        legal_basis=tuple(raw.get("legal_basis", ())),
        documents=tuple(
            RequiredDocument(d["name"], d.get("name_en", ""), int(d.get("copies", 1)))
            for d in raw.get("documents", ())
        ),
        escalation=policies.default,
        step_escalation=policies.steps,
        appointment_escalation=policies.appointment,
        step_names_en=step_names_en,
    )


def _max_rounds_per_step(raw: dict[str, Any]) -> int:
    """The `max_rounds_per_step` setting: a whole number of runs of one step per instance."""
    value = raw.get("max_rounds_per_step", DEFAULT_MAX_ROUNDS_PER_STEP)
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_ROUNDS_PER_STEP_LIMIT:
        raise ProcedureError(f"max_rounds_per_step must be a whole number from 1 to "
                             f"{MAX_ROUNDS_PER_STEP_LIMIT} (runs of one step per dossier)")
    return value


def _step_names_en(raw: Any) -> dict[str, str]:
    """The English names of [steps.<bpmn id>] tables (a missing name: no translation)."""
    if not isinstance(raw, dict):
        raise ProcedureError("steps must be a table of [steps.<bpmn id>] tables")
    names = {}
    for bpmn_id, spec in raw.items():
        name = spec.get("name_en", "") if isinstance(spec, dict) else None
        if not isinstance(name, str):
            raise ProcedureError(f"steps.{bpmn_id}.name_en must be a string")
        if name.strip():
            names[str(bpmn_id)] = name.strip()
    return names
