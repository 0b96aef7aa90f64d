"""Template helpers and error pages shared by every blueprint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext, lazy_gettext
from flask_login import current_user
from lxml import etree
from werkzeug.exceptions import HTTPException

from engine.specs import ParsedVersion
from web import lang, now
from web.auth import OFFICER_ROLES
from workflows.forms import label
from workflows.intake import CHANNEL_TITLES, Channel
from workflows.statuses import DossierStatus

STATUS_LABELS = {
    DossierStatus.SUBMITTED_ONLINE: lazy_gettext("Submitted online"),
    DossierStatus.RECEIVED: lazy_gettext("Received"),
    DossierStatus.REFUSED: lazy_gettext("Refused"),
    DossierStatus.PROCESSING: lazy_gettext("Processing"),
    DossierStatus.SUPPLEMENT_REQUESTED: lazy_gettext("Supplement requested"),
    DossierStatus.AWAITING_FEES: lazy_gettext("Awaiting fees"),
    DossierStatus.WITHDRAWAL_REQUESTED: lazy_gettext("Withdrawal requested"),
    DossierStatus.STOPPED: lazy_gettext("Stopped"),
    DossierStatus.RESOLVED: lazy_gettext("Resolved"),
    DossierStatus.RESULT_RETURNED: lazy_gettext("Result returned"),
}
OUTCOME_LABELS = {
    "early": lazy_gettext("Early"),
    "on_time": lazy_gettext("On time"),
    "late": lazy_gettext("Late"),
    "within_deadline": lazy_gettext("Within deadline"),
    "overdue": lazy_gettext("Overdue"),
    "not_received": lazy_gettext("Not received"),
}
PAUSE_LABELS = {
    "supplement": lazy_gettext("Waiting for a supplement"),
    "fees": lazy_gettext("Waiting for fees"),
}
EVENT_LABELS = {
    "received": lazy_gettext("Dossier received"),
    "claimed": lazy_gettext("Task claimed"),
    "unclaimed": lazy_gettext("Task given back"),
    "completed": lazy_gettext("Task completed"),
    "escalated": lazy_gettext("Deadline passed: escalated"),
    "warned": lazy_gettext("Deadline near: warned"),
    "acknowledged": lazy_gettext("Alert acknowledged by a supervisor"),
    "reassigned": lazy_gettext("Step reassigned by a supervisor"),
    "status_changed": lazy_gettext("Status changed"),
    "paused": lazy_gettext("Clock stopped"),
    "resumed": lazy_gettext("Clock restarted; appointment date moved"),
    "appointment_extended": lazy_gettext(
        "Appointment date moved to the time the law allows for this path"),
    "timer_fired": lazy_gettext("Timer fired"),
    "calendar_changed": lazy_gettext("Calendar changed"),
    "apology_drafted": lazy_gettext("Apology letter drafted"),
    "apology_approved": lazy_gettext("Apology letter approved: new date given"),
    "apology_rejected": lazy_gettext("Apology letter sent back"),
    "submitted_online": lazy_gettext("Submitted online"),
    "supplement_requested": lazy_gettext("Supplement requested in writing"),
    "refused": lazy_gettext("Refused, with the reason in writing"),
    "supplement_answered": lazy_gettext("The applicant answered the supplement request online"),
    "rated": lazy_gettext("The applicant rated the service"),
    "commented": lazy_gettext("Internal comment added"),
    "attached": lazy_gettext("File attached"),
    "file_added": lazy_gettext("File added to the dossier"),
}
ROLE_LABELS = {
    "reception": lazy_gettext("Reception"),
    "specialist": lazy_gettext("Specialist"),
    "head": lazy_gettext("Department head"),
    "leader": lazy_gettext("Leader"),
    "clerk": lazy_gettext("Clerk"),
    "supervisor": lazy_gettext("Supervisor"),
    "designer": lazy_gettext("Process designer"),
    "admin": lazy_gettext("Administrator"),
}

# BPMN element types by their XML names, as the designers' pages name them.
ELEMENT_TYPES = {
    "process": lazy_gettext("Process"), "participant": lazy_gettext("Pool"),
    "lane": lazy_gettext("Lane"), "userTask": lazy_gettext("User task"),
    "scriptTask": lazy_gettext("Script task"), "serviceTask": lazy_gettext("Service task"),
    "manualTask": lazy_gettext("Manual task"), "task": lazy_gettext("Task"),
    "subProcess": lazy_gettext("Subprocess"), "callActivity": lazy_gettext("Call activity"),
    "startEvent": lazy_gettext("Start event"), "endEvent": lazy_gettext("End event"),
    "intermediateCatchEvent": lazy_gettext("Intermediate event (waits)"),
    "intermediateThrowEvent": lazy_gettext("Intermediate event (signals)"),
    "boundaryEvent": lazy_gettext("Boundary event"),
    "exclusiveGateway": lazy_gettext("Exclusive gateway"),
    "parallelGateway": lazy_gettext("Parallel gateway"),
    "inclusiveGateway": lazy_gettext("Inclusive gateway"),
    "eventBasedGateway": lazy_gettext("Event-based gateway"),
    "sequenceFlow": lazy_gettext("Sequence flow"),
    "textAnnotation": lazy_gettext("Annotation"),
}


def element_type_label(name: str) -> str:
    """A BPMN element type (`userTask`, or bpmn-js's `bpmn:UserTask`) in the user's words."""
    local = name.split(":")[-1]
    local = local[:1].lower() + local[1:]
    return str(ELEMENT_TYPES.get(local, local))


def localtime(value: datetime | None) -> str:
    """A timestamp as dd/mm/yyyy HH:MM in the agency's time zone (Babel's, naive = UTC).

    Digits only, the same in either language: formatted without Babel, whose pattern
    machinery cost a tenth of a task list page's time (three timestamps a row)."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])  # ZoneInfo caches its zones
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def localdate(value: date | None) -> str:
    """A calendar day as dd/mm/yyyy, in either language."""
    return format_date(value, "dd/MM/yyyy") if value else ""


def urgency(due_at: datetime | None) -> str:
    """A Bootstrap colour for a deadline: overdue, due within a day, or fine."""
    if due_at is None:
        return ""
    remaining = (due_at - now()).total_seconds()
    if remaining < 0:
        return "danger"
    return "warning" if remaining < 24 * 3600 else ""


def procedure_name(procedure: Any) -> str:
    """A procedure's name in the user's language."""
    return str(procedure.name_en if lang() == "en" and procedure.name_en else procedure.name)


def _parsed(version_id: int) -> ParsedVersion:
    """The parsed version from the core's cache, remembered for the rest of the request."""
    from web import current_core

    parsed: dict[int, ParsedVersion] = g.setdefault("parsed_versions", {})
    if version_id not in parsed:
        core = current_core()
        with core.session_factory() as session:  # used only when the cache misses
            parsed[version_id] = core.parsed_for(session, version_id)
    return parsed[version_id]


# Vietnamese name → BPMN id of the named elements of each parsed version, by content hash:
# events and notifications keep the name of a step, not its id.
_IDS_BY_NAME: dict[str, dict[str, str]] = {}


def _id_by_name(parsed: ParsedVersion, name: str) -> str | None:
    ids = _IDS_BY_NAME.get(parsed.content_hash)
    if ids is None:
        ids = {}
        for spec in (parsed.spec, *parsed.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_name", None) and task_spec.bpmn_id:
                    ids.setdefault(task_spec.bpmn_name, task_spec.bpmn_id)
        _IDS_BY_NAME[parsed.content_hash] = ids
    return ids.get(name)


def step_label(version_id: int | None, bpmn_id: str | None, name: str | None) -> str:
    """A step's (or event's, gateway's) name in the user's language.

    The English name comes from the procedure.toml of the dossier's version; without
    `bpmn_id` the step is found by its Vietnamese name. Unknown: the name as stored.
    """
    name = name or ""
    if lang() != "en" or version_id is None:
        return name
    parsed = _parsed(version_id)
    return parsed.procedure.step_title(bpmn_id or _id_by_name(parsed, name), name, "en")


def applicant_kind(version_id: int | None) -> str:
    """Who applies under the dossier's procedure version: a person, or an organisation (the
    agency sending an official document: its document number stands where an ID would)."""
    return "person" if version_id is None else _parsed(version_id).procedure.applicant_kind


def lane_label(version_id: int | None, lane: str | None) -> str:
    """A lane's name in the user's language."""
    lane = lane or ""
    if lang() != "en" or version_id is None:
        return lane
    return _parsed(version_id).procedure.lane_title(lane, "en")


_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# The XML of a deployed version was checked at deployment; still, never resolve entities.
_DIAGRAM_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_ENGLISH_DIAGRAMS: dict[str, str] = {}


def diagram_xml(version_id: int, bpmn_xml: str) -> str:
    """A version's BPMN for the diagram viewer, its names in the user's language."""
    if lang() != "en":
        return bpmn_xml
    parsed = _parsed(version_id)
    english = _ENGLISH_DIAGRAMS.get(parsed.content_hash)
    if english is None:
        procedure = parsed.procedure
        root = etree.fromstring(bpmn_xml.encode(), parser=_DIAGRAM_PARSER)
        for element in root.iter():
            name = element.get("name")
            if not isinstance(element.tag, str) or not name:
                continue
            if element.tag in (f"{_BPMN}participant", f"{_BPMN}process"):
                element.set("name", procedure.title("en"))
            elif element.tag == f"{_BPMN}lane":
                element.set("name", procedure.lane_title(name, "en"))
            else:
                element.set("name", procedure.step_title(element.get("id"), name, "en"))
        english = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
        _ENGLISH_DIAGRAMS[parsed.content_hash] = english
    return english


def version_of(dossier_id: int | None) -> int | None:
    """The procedure version a dossier runs on (read once per dossier and request)."""
    if dossier_id is None:
        return None
    from engine.models import Dossier
    from web import current_core

    versions: dict[int, int | None] = g.setdefault("dossier_versions", {})
    if dossier_id not in versions:
        with current_core().session_factory() as session:
            dossier = session.get(Dossier, dossier_id)
            versions[dossier_id] = dossier.procedure_version_id if dossier else None
    return versions[dossier_id]


def _unread() -> int:
    if not current_user.is_authenticated:
        return 0
    from engine.services.notifications import unread_count
    from web import current_core

    return unread_count(current_core(), current_user.user)


def has_role(*roles: str) -> bool:
    """Whether the logged-in user has one of `roles`."""
    return bool(current_user.is_authenticated and set(roles) & current_user.roles)


# Statuses that already say the dossier was not received: "not received" would read as a
# refusal of a submission still waiting, or repeat the refusal.
_SAYS_NOT_RECEIVED = {DossierStatus.SUBMITTED_ONLINE, DossierStatus.REFUSED}


def status_text(status: int, outcome: str | None) -> str:
    """A dossier's status, with its outcome where the status does not already say it."""
    text = str(STATUS_LABELS.get(DossierStatus(status), str(status)))
    if not outcome or (outcome == "not_received" and status in _SAYS_NOT_RECEIVED):
        return text
    return f"{text} · {OUTCOME_LABELS.get(outcome, outcome)}"


def _template_globals() -> dict[str, Any]:
    return {
        "has_role": has_role,
        "is_officer": lambda: has_role(*OFFICER_ROLES),
        "unread_notifications": _unread,
        "status_label": lambda code: STATUS_LABELS.get(DossierStatus(code), str(code)),
        "outcome_label": lambda code: OUTCOME_LABELS.get(code or "", ""),
        "status_text": status_text,
        "pause_label": lambda code: PAUSE_LABELS.get(code, code),
        "event_label": lambda kind: EVENT_LABELS.get(kind, kind),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
        "element_type_label": element_type_label,
        "channel_label": lambda code: CHANNEL_TITLES[Channel(code)][1 if lang() == "en" else 0],
        "procedure_name": procedure_name,
        "step_label": step_label,
        "lane_label": lane_label,
        "applicant_kind": applicant_kind,
        "version_of": version_of,
        "schema_label": lambda node: label(node, lang()),
        "urgency": urgency,
        "now": now,
        "lang": lang,
    }


def _error_page(error: HTTPException) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        from web.api import error_body

        message = (gettext("Too many attempts from your address: wait a minute and try "
                           "again.") if error.code == 429 else error.description or error.name)
        return error_body(error.code or 500, error.name.lower().replace(" ", "_"), message)
    return render_template("error.html", error=error), error.code or 500


def _isodate(value: str | None) -> date | None:
    """A yyyy-mm-dd form value as a date (None when empty or not a date)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    """Register the template helpers and error pages."""
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.filters["isotime"] = datetime.fromisoformat
    app.jinja_env.filters["isodate"] = _isodate
    app.context_processor(_template_globals)
    for code in (400, 401, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, _error_page)
