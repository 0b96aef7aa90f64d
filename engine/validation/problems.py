"""Problems found in a package: one per rule broken, tied to a BPMN element when possible."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import N_

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One broken rule: `message` is English with %(name)s placeholders filled from `params`."""

    severity: str
    code: str
    message: str
    params: dict[str, str] = field(hash=False)  # a dict cannot be hashed; equality still counts
    element_id: str | None
    line: int | None

    def text(self) -> str:
        """The message with its placeholders filled (English, for logs and tests)."""
        try:
            return self.message % self.params
        except (KeyError, TypeError, ValueError):
            return self.message


# The code of each rule, its severity and its message (marked for translation).
RULES: dict[str, tuple[str, str]] = {
    "file_too_large": (ERROR, N_(
        "The BPMN file has %(size)s bytes, more than the limit of %(limit)s bytes. "
        "Remove unused elements or split the procedure.")),
    "xml_entity_refused": (ERROR, N_(
        "The BPMN file declares a DOCTYPE or entities, which are refused for safety. "
        "Remove the <!DOCTYPE …> declaration and any entity references.")),
    "xml_not_well_formed": (ERROR, N_(
        "The BPMN file is not well-formed XML (line %(line)s): %(detail)s")),
    "bpmn_schema": (ERROR, N_(
        "The BPMN file does not follow the BPMN 2.0 schema (line %(line)s): %(detail)s")),
    "process_not_found": (ERROR, N_(
        "procedure.toml names the process %(process_id)s, which the BPMN file does not "
        "define. Processes in the file: %(found)s.")),
    "spiff_parse": (ERROR, N_("The workflow engine cannot read the diagram: %(detail)s")),
    "procedure_toml": (ERROR, N_("procedure.toml is invalid: %(detail)s")),
    "no_start_event": (ERROR, N_("%(name)s has no start event. Add one.")),
    "no_end_event": (ERROR, N_("%(name)s has no end event. Add one and connect the last steps "
                               "to it.")),
    "user_task_without_lane": (ERROR, N_(
        "User task %(name)s is in no lane. Put it in a lane mapped to a role.")),
    "lane_without_role": (ERROR, N_(
        "Lane %(name)s is not mapped to a role. Add it under [lanes] in procedure.toml.")),
    "user_task_without_form": (ERROR, N_(
        "User task %(name)s has no form. Add a formKey property naming one of the forms.")),
    "form_missing": (ERROR, N_(
        "User task %(name)s names the form %(form)s, which does not exist. Add the form or "
        "correct the formKey.")),
    "form_invalid": (ERROR, N_("The form %(form)s is not a usable JSON Schema: %(detail)s")),
    "form_required_undefined": (ERROR, N_(
        "The form %(form)s requires the fields %(fields)s, which it does not define: no one "
        "could ever complete it. Add them under properties or remove them from required.")),
    "sla_invalid": (ERROR, N_(
        "User task %(name)s has the step deadline %(value)s: it must be a positive number of "
        "working days in steps of 0.5.")),
    "appointment_days_invalid": (ERROR, N_(
        "User task %(name)s moves the appointment date to %(value)s working days from the "
        "receipt: it must be a positive number of working days in steps of 0.5.")),
    "timer_unquoted": (ERROR, N_(
        "Timer %(name)s has the expression %(expression)s, which is not a quoted string. "
        'Write it in quotes, e.g. "PT1H".')),
    "condition_syntax": (ERROR, N_(
        "The condition of %(name)s is not valid Python: %(expression)s (%(detail)s)")),
    "script_syntax": (ERROR, N_(
        "The script of %(name)s is not valid Python (line %(script_line)s): %(detail)s")),
    "gateway_uncovered": (ERROR, N_(
        "Gateway %(name)s has outgoing flows without a condition that are not its default: "
        "%(flows)s. Give each a condition or mark one as the default flow.")),
    "gateway_no_default": (WARNING, N_(
        "Gateway %(name)s has no default flow: when no condition holds, the dossier stops "
        "there. Mark one flow as the default.")),
    "unreachable": (ERROR, N_("%(name)s cannot be reached from a start event.")),
    "dead_end": (ERROR, N_("No end event can be reached from %(name)s.")),
    "user_task_without_sla": (WARNING, N_(
        "User task %(name)s has no step deadline. Add a slaWorkingDays property.")),
    "unnamed_user_task": (WARNING, N_(
        "User task %(name)s has no name: officers would see its id.")),
    "form_unused": (WARNING, N_("The form %(form)s is used by no user task.")),
    "check_failed": (ERROR, N_("The check %(check)s could not finish: %(detail)s")),
}


def problem(code: str, element: Any = None, *, element_id: str | None = None,
            line: int | None = None, **params: object) -> Problem:
    """A Problem of rule `code`, located at an lxml `element` (its id and line) if given."""
    severity, message = RULES[code]
    if element is not None:
        element_id = element_id or _nearest_id(element)
        line = line or _line(element)
    values = {key: str(value) for key, value in params.items()}
    if "%(line)s" in message:
        values.setdefault("line", str(line) if line else "?")
    return Problem(severity, code, message, values, element_id, line)


def element_name(element: Any) -> str:
    """The name a designer knows an element by: its name, else its id."""
    name = (element.get("name") or "").strip()
    return name or str(element.get("id") or element.tag)


def ordered(problems: list[Problem]) -> list[Problem]:
    """Errors first, then by line; duplicates removed."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.severity != ERROR, p.line or 0))


def _nearest_id(element: Any) -> str | None:
    while element is not None:
        if isinstance(element.tag, str) and element.get("id"):
            return str(element.get("id"))
        element = element.getparent()
    return None


def _line(element: Any) -> int | None:
    line = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None
