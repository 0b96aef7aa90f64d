"""Bench: a Department of Justice's year, replayed through the service layer with `now` moving on.

Run from the repository root: `.venv/bin/python bench/replay.py [--postgresql [URL]]
[--dossiers N] [--seed S] [--profile N]`.

2,307 dossiers of the real catalogue (bpmn/*) arrive over 2025 — mostly judicial record
certificates, then registrations of law practices, notary offices and auction enterprises,
and the internal incoming and outgoing documents — at the desk in office hours (in person or
by post) or online at any hour (then accepted by reception in office hours). A few are refused
at reception, a few online ones are sent back for completion and answered days later. Officers
complete each step through `engine.services.tasks.complete_task` with valid form data, in
office hours on Vietnam's working days. A seeded RNG draws each dossier's pace (the share of
the committed time its steps take, split between them by their step deadlines with some
jitter), so that most dossiers finish early or on time and about 5% late; about 3.5% get a
supplement request whose answer (`supplement_answers.answer_supplement`) comes days later;
some reviews send the draft back; results are returned. The scheduler's due pass
(`escalations.run_due`) runs at the start of every working half-day, so warnings and
escalations are raised as in production. Every action is an event of one heap: `now` only
moves forward. The replay goes on into 2026 until every dossier is closed; the report (Biểu
II.06a) is then taken for 2025, by field and by procedure.

Baseline, in the same run: the raw SpiffWorkflow cost of the same completions with the same
data — deserialize → complete the task → run the engine → serialize with SpiffWorkflow's
default serializer, in memory, as bench/cycle.py does — each right after MotCua's completion,
timed apart and left out of the replay's time: `raw_seconds`. Wall and CPU time are both
printed: on a loaded machine the CPU time of this process (SQLite's work included, not
PostgreSQL's) says more than the wall time.

SQLite in a temporary file by default; `--postgresql` runs on PostgreSQL in a schema of its own,
created and dropped. Ends with `RESULT seconds=… dossiers=… completions=… late=…
per_dossier_ms=… raw_seconds=…` (then complete_seconds, the CPU figures and `db=…`).
"""

from __future__ import annotations

import argparse
import cProfile
import heapq
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import Engine, bindparam, func, select  # noqa: E402

from bench.pg import DEFAULT_PG, pg_schema  # noqa: E402
from engine import migrate  # noqa: E402
from engine.bootstrap import Core, Settings, bootstrap  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.demo import step_data  # noqa: E402
from engine.models import Dossier, Escalation, Task, User  # noqa: E402
from engine.services import (  # noqa: E402
    catalogue,
    dossiers,
    escalations,
    online_submission,
    reception,
    reports,
    submissions,
    supplement_answers,
    tasks,
)
from engine.services.portal import Upload  # noqa: E402
from engine.specs import ParsedVersion, user_task_properties  # noqa: E402
from workflows.calendar import WorkingCalendar  # noqa: E402
from workflows.intake import ChecklistItem, checklist  # noqa: E402
from workflows.report import Report  # noqa: E402

YEAR = 2025
DOSSIERS = 2307
SEED = 2025
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DEPLOYED = datetime(YEAR - 1, 12, 1, 9, 0, tzinfo=HANOI)
DAY_SECONDS = 4 * 3600 + 3.5 * 3600  # a working day: 07:30-11:30 and 13:30-17:00
FIXTURE = ROOT / "bench" / "fixtures" / "replay_steps.json"
JRC = "judicial_record_certificate"
RAW, RAW_SETUP = "raw_cycle", "raw_start"  # the baseline's timings, not the replay's
# A Department of Justice's year: mostly judicial record certificates.
MIX = {JRC: 0.82, "law_practice_registration": 0.035, "notary_office_registration": 0.02,
       "auction_enterprise_registration": 0.015, "incoming_document": 0.07,
       "outgoing_document": 0.04}
ONLINE_SHARE = {"full": 0.40, "partial": 0.15, "none": 0.0}
POST_SHARE = 0.08  # of the dossiers handed in at the desk
ROLES = ("reception", "specialist", "head", "leader", "clerk", "supervisor")
# Never checked here: nobody logs in, so no slow hashing is needed.
FAKE_HASH = "pbkdf2:sha256:1$bench$0000000000000000000000000000000000000000000000000000000000"
FIRST_NAMES = ("Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung",
               "Hoàng Minh Đức", "Vũ Thị Hạnh", "Đỗ Thu Trang", "Ngô Quang Vinh")
SENDERS = ("Văn phòng Ủy ban nhân dân tỉnh", "Bộ Tư pháp", "Công an tỉnh",
           "Tòa án nhân dân tỉnh", "Phòng Hành chính tư pháp")


@dataclass
class Step:
    """One step an officer completes: its BPMN id, form data overrides, working seconds."""

    bpmn_id: str
    overrides: dict[str, Any]
    seconds: float


@dataclass
class Plan:
    """What happens to one dossier, drawn at the start from the seeded RNG."""

    index: int
    code: str  # the procedure's
    channel: str
    arrival: datetime
    fate: str = "processed"  # refused | sent_back (online, answered, accepted) | processed
    steps: list[Step] = field(default_factory=list)
    applicant: dict[str, Any] = field(default_factory=dict)
    return_method: str = "in_person"
    # Filled while replaying.
    dossier_code: str = ""
    dossier_id: int = 0
    position: int = 0
    after_answer: str = "accept"  # what follows the applicant's answer: accept | step
    completions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Figures:
    """What the replay did and how long each kind of action took (seconds)."""

    counts: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    escalated: int = 0
    passes: int = 0


# --- the catalogue as the plans need it ----------------------------------------------------

@dataclass(frozen=True)
class Procedure:
    """A deployed procedure's figures: committed days, online level, step SLAs, checklist."""

    code: str
    parsed: ParsedVersion
    sla: dict[str, float]
    documents: list[ChecklistItem]

    @property
    def committed(self) -> float:
        """Committed processing time in working days."""
        return float(self.parsed.procedure.committed_working_days)

    @property
    def organisation(self) -> bool:
        """Whether the applicant is an agency (internal documents)."""
        return self.parsed.procedure.applicant_kind == "organisation"


def procedures_of(core: Core, versions: list[Any]) -> dict[str, Procedure]:
    """Each deployed procedure with the SLA of each of its user tasks."""
    found = {}
    for version in versions:
        parsed = core.parsed_version(version)
        sla = {spec.bpmn_id: float(user_task_properties(spec).get("slaWorkingDays") or 0.5)
               for spec in parsed.spec.task_specs.values() if getattr(spec, "manual", False)}
        found[parsed.procedure.code] = Procedure(parsed.procedure.code, parsed, sla,
                                                 checklist(version.meta))
    return found


def load_fixture() -> dict[str, dict[str, dict[str, Any]]]:
    """Form data of every step of the procedures other than the judicial record one."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    shared = data.pop("_registrations")
    data.pop("_comment")
    for code in ("law_practice_registration", "notary_office_registration",
                 "auction_enterprise_registration"):
        data[code] |= shared
    return data


def form_data(fixture: dict[str, dict[str, dict[str, Any]]], code: str, bpmn_id: str,
              day: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A step's form data on `day`, with the plan's overrides."""
    if code == JRC:
        base = step_data(bpmn_id, day, complete=overrides.get("dossier_complete", True)) \
            if bpmn_id != "request_police_verification" else {
                "verification_request_date": day, "verification_reply_number": "88/PC-LLTP",
                "verification_reply_date": day, "verification_result": "no_record"}
    else:
        base = {k: (day if v == "$day" else v) for k, v in fixture[code][bpmn_id].items()}
    return base | overrides


# --- plans -------------------------------------------------------------------------------

def path_of(procedure: Procedure, rng: random.Random) -> tuple[list[tuple[str, dict[str, Any]]],
                                                               str]:
    """The steps one dossier goes through (BPMN id, overrides), and its return method."""
    code = procedure.code
    supplement = rng.random() < 0.035 and not procedure.organisation
    rejected = rng.random() < 0.03
    post = rng.random() < 0.25
    steps: list[tuple[str, dict[str, Any]]] = []
    if code == "incoming_document":
        steps = [("register_incoming", {}), ("assign_handling", {})]
        if rng.random() < 0.3:
            steps[-1] = ("assign_handling", {"handling_required": False})
            return steps, "none"
        steps += [("handle_document", {})]
        if rejected:
            steps += [("review_reply", {"reply_approved": False,
                                        "reply_review_comment": "Bổ sung số liệu"}),
                      ("handle_document", {})]
        return steps + [("review_reply", {}), ("issue_reply", {})], "none"
    if code == "outgoing_document":
        steps = [("draft_outgoing", {})]
        if rejected:
            steps += [("review_outgoing", {"draft_approved": False}), ("draft_outgoing", {})]
        return steps + [("review_outgoing", {}), ("sign_outgoing", {}),
                        ("issue_outgoing", {})], "none"
    check, draft, eligible = {
        JRC: ("check_records", "draft_certificate", None),
        "law_practice_registration": ("check_practice_dossier", "draft_practice_registration",
                                      "practice_eligible"),
        "notary_office_registration": ("check_notary_office_dossier",
                                       "draft_notary_office_registration", "office_eligible"),
        "auction_enterprise_registration": ("check_auction_dossier",
                                            "draft_auction_registration", "auction_eligible"),
    }[code]
    missing = {"dossier_complete": False, "missing_documents": "Bản chụp giấy tờ tùy thân"}
    if supplement:
        steps += [(check, missing), ("receive_supplement", {})]
    checked: dict[str, Any] = {}
    if code == JRC and rng.random() < 0.06:
        checked = {"needs_verification": True, "residence_history": "several_provinces"}
    if eligible and rng.random() < 0.1:
        checked = {eligible: False}
        draft = draft.replace("registration", "refusal")
    steps.append((check, checked))
    if checked.get("needs_verification"):
        steps.append(("request_police_verification", {}))
    steps.append((draft, {}))
    if rejected:
        steps += [("review", {"review_approved": False, "review_comment": "Sửa lại dự thảo"}),
                  (draft, {})]
    steps += [("review", {}), ("sign", {})]
    method = "post" if post else "in_person"
    returned = {"return_method": method}
    if post:
        returned |= {"postal_address": "12 Lý Thường Kiệt, Hà Nội",
                     "postal_tracking": f"EE{rng.randrange(10**8, 10**9)}VN"}
    return steps + [("return_result", returned)], method


def pace(rng: random.Random) -> float:
    """The share of the committed time a dossier's steps take: ~5% of dossiers overrun."""
    roll = rng.random()
    if roll < 0.05:
        return rng.uniform(1.15, 1.7)
    if roll < 0.17:
        return rng.uniform(0.9, 1.0)
    return rng.uniform(0.25, 0.88)


def timed(procedure: Procedure, path: list[tuple[str, dict[str, Any]]], rng: random.Random
          ) -> list[Step]:
    """Working seconds before each step: the steps up to resolution share the committed time
    scaled by the dossier's pace, each by its SLA with some jitter; the result is fetched up to
    a few working days after resolution."""
    weights = [0.0 if bpmn_id in {"receive_supplement", "return_result"}
               else procedure.sla.get(bpmn_id, 0.5) * rng.uniform(0.6, 1.4)
               for bpmn_id, _ in path]
    budget = procedure.committed * DAY_SECONDS * pace(rng)
    total = sum(weights) or 1.0
    steps = []
    for (bpmn_id, overrides), weight in zip(path, weights, strict=True):
        if bpmn_id == "receive_supplement":
            seconds = rng.uniform(0.05, 0.5) * DAY_SECONDS  # after the applicant's answer
        elif bpmn_id == "return_result":
            seconds = rng.uniform(0.1, 2.5) * DAY_SECONDS
        else:
            seconds = budget * weight / total
        steps.append(Step(bpmn_id, overrides, max(seconds, 60.0)))
    return steps


def applicant(rng: random.Random, index: int, organisation: bool) -> dict[str, Any]:
    """Plausible details of an applicant (a citizen or, for internal documents, an agency)."""
    if organisation:
        return {"name": rng.choice(SENDERS), "id_number": f"{index:04d}/CV"}
    born = date(rng.randrange(1950, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
    person = {"name": rng.choice(FIRST_NAMES), "id_number": f"0011{index:08d}",
              "phone": f"09{rng.randrange(10**7, 10**8)}", "address": "12 Lý Thường Kiệt, Hà Nội",
              "birth_date": born.isoformat()}
    return person | ({"email": f"nguoi{index}@example.com"} if rng.random() < 0.3 else {})


def office_moment(calendar: WorkingCalendar, day: date, rng: random.Random) -> datetime:
    """A random moment of office hours on a working day."""
    start = datetime.combine(day, calendar.hours.morning_start, tzinfo=calendar.zone)
    return calendar.add_working_seconds(start, rng.uniform(0, DAY_SECONDS - 60))


def make_plans(procedures: dict[str, Procedure], calendar: WorkingCalendar, count: int,
               seed: int) -> list[Plan]:
    """Every dossier of the year, in arrival order."""
    rng = random.Random(seed)
    days = [date(YEAR, 1, 1) + timedelta(days=n) for n in range(365)]
    working = [d for d in days if calendar.is_working_day(d)]
    codes, weights = list(MIX), list(MIX.values())
    plans = []
    for index in range(count):
        procedure = procedures[rng.choices(codes, weights)[0]]
        level = procedure.parsed.procedure.online_level
        online = rng.random() < ONLINE_SHARE.get(level, 0.0)
        if online:
            day = rng.choice(days)
            arrival = datetime.combine(day, datetime.min.time(), tzinfo=HANOI) + timedelta(
                minutes=rng.uniform(6 * 60, 23 * 60))
            channel = "online"
        else:
            arrival = office_moment(calendar, rng.choice(working), rng)
            channel = "post" if rng.random() < POST_SHARE or procedure.organisation \
                else "in_person"
        path, method = path_of(procedure, rng)
        plan = Plan(index, procedure.code, channel, arrival, steps=timed(procedure, path, rng),
                    applicant=applicant(rng, index, procedure.organisation),
                    return_method="in_person" if method == "none" else method)
        roll = rng.random()
        if roll < (0.015 if online else 0.008):
            plan.fate = "refused"
        elif online and roll < 0.03:
            plan.fate = "sent_back"
        plans.append(plan)
    plans.sort(key=lambda plan: plan.arrival)
    return plans


# An officer's view of a dossier's ready steps, built once (building costs more than running).
READY_TASKS = select(Task.id, Task.bpmn_id, Task.role).where(
    Task.dossier_id == bindparam("dossier_id"), Task.state == "ready")


# --- the replay --------------------------------------------------------------------------

class Replay:
    """The heap of the year's events, each handled through the service layer at its moment."""

    def __init__(self, core: Core, procedures: dict[str, Procedure], plans: list[Plan],
                 calendar: WorkingCalendar, seed: int) -> None:
        self.core = core
        self.procedures = procedures
        self.plans = plans
        self.calendar = calendar
        self.rng = random.Random(seed + 1)
        self.fixture = load_fixture()
        self.figures = Figures()
        self.heap: list[tuple[datetime, int, str, int]] = []
        self.sequence = 0
        self.now = DEPLOYED
        self.open = 0
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.raw_states: dict[int, str] = {}
        with core.uow() as uow:
            self.users = {u.username: u for u in uow.session.scalars(select(User))}

    def push(self, moment: datetime, kind: str, index: int = -1) -> None:
        """Schedule an event."""
        self.sequence += 1
        heapq.heappush(self.heap, (moment, self.sequence, kind, index))

    @contextmanager
    def timing(self, kind: str) -> Iterator[None]:
        """Add the wall and CPU time of the block to `kind`'s totals."""
        began, cpu = time.perf_counter(), time.process_time()
        yield
        self.figures.seconds[kind] += time.perf_counter() - began
        self.figures.cpu[kind] += time.process_time() - cpu

    def run(self) -> None:
        """Replay every event in time order until every dossier is closed."""
        for plan in self.plans:
            self.push(plan.arrival, "arrive", plan.index)
        self.open = len(self.plans)
        first = datetime.combine(date(YEAR, 1, 1), self.calendar.hours.morning_start,
                                 tzinfo=HANOI)
        self.push(first, "due")
        by_index = {plan.index: plan for plan in self.plans}
        while self.heap:
            moment, _, kind, index = heapq.heappop(self.heap)
            if moment < self.now:
                raise RuntimeError(f"time went back: {moment} < {self.now}")
            self.now = moment
            if kind == "due":
                self.due_pass()
            else:
                getattr(self, kind)(by_index[index])

    def due_pass(self) -> None:
        """The scheduler's pass at the start of a working half-day, until nothing is due."""
        with self.timing("due_pass"):
            while True:
                result = escalations.run_due(self.core, self.now, "replay", batch=200)
                self.figures.escalated += result.escalated
                self.figures.passes += 1
                if result.claimed < 200:
                    break
        if self.open:
            self.push(self.next_half_day(), "due")

    def next_half_day(self) -> datetime:
        """The start of the next working half-day after now."""
        hours = self.calendar.hours
        local = self.now.astimezone(HANOI)
        if self.calendar.is_working_day(local.date()) and local.time() < hours.afternoon_start:
            return datetime.combine(local.date(), hours.afternoon_start, tzinfo=HANOI)
        day = self.calendar.next_working_day(local.date())
        return datetime.combine(day, hours.morning_start, tzinfo=HANOI)

    def arrive(self, plan: Plan) -> None:
        """A dossier reaches the desk, or is submitted online."""
        procedure = self.procedures[plan.code]
        actor = "clerk" if procedure.organisation else "reception"
        items = procedure.documents
        if plan.channel == "online":
            documents = {i: [Upload(io.BytesIO(b"%PDF-1.4\n% " + f"{plan.index}-{i}".encode()
                                               + b"\n%%EOF\n"), f"giay-to-{i + 1}.pdf")]
                         for i, item in enumerate(items) if not item.optional}
            with self.timing("submit_online"):
                dossier = online_submission.submit_online(self.core, online_submission.Submission(
                    procedure_code=plan.code, applicant=plan.applicant, documents=documents,
                    return_method=plan.return_method,
                    return_address=plan.applicant["address"] if plan.return_method == "post"
                    else "", consent=True), self.now)
            plan.dossier_code, plan.dossier_id = dossier.code, dossier.id
            self.figures.counts["submitted_online"] += 1
            delay = self.rng.uniform(600, 0.6 * DAY_SECONDS)
            self.push(self.calendar.add_working_seconds(self.now, delay), "accept", plan.index)
            return
        if plan.fate == "refused":
            with self.timing("refuse"):
                dossier, _ = reception.refuse_at_desk(
                    self.core, procedure_code=plan.code, applicant=plan.applicant,
                    channel=plan.channel, reason="Hồ sơ không thuộc thẩm quyền giải quyết.",
                    actor=actor, now=self.now)
            self.figures.counts["refused"] += 1
            self.close()
            return
        received = [{"index": i, "copies": item.copies}
                    for i, item in enumerate(items) if not item.optional]
        with self.timing("receive"):
            dossier = dossiers.receive_dossier(
                self.core, procedure_code=plan.code, applicant=plan.applicant,
                channel=plan.channel, actor=actor, now=self.now, documents_received=received,
                return_method=None if procedure.organisation else plan.return_method,
                return_address=plan.applicant.get("address", "")
                if plan.return_method == "post" else "")
        plan.dossier_code, plan.dossier_id = dossier.code, dossier.id
        self.figures.counts["received_" + plan.channel] += 1
        self.next_step(plan)

    def accept(self, plan: Plan) -> None:
        """Reception takes an online submission: refuses, sends back or accepts it."""
        if plan.fate == "refused":
            with self.timing("refuse"):
                submissions.refuse_submission(self.core, plan.dossier_code, actor="reception",
                                              reason="Hồ sơ không thuộc thẩm quyền giải quyết.",
                                              now=self.now)
            self.figures.counts["refused"] += 1
            self.close()
            return
        if plan.fate == "sent_back":
            plan.fate = "processed"
            with self.timing("supplement"):
                submissions.request_supplement_online(
                    self.core, plan.dossier_code, items=["Bản chụp rõ nét giấy tờ tùy thân"],
                    actor="reception", now=self.now)
            self.figures.counts["sent_back_online"] += 1
            self.push(self.answer_moment(), "answer", plan.index)
            return
        with self.timing("accept"):
            submissions.accept_submission(self.core, plan.dossier_code, actor="reception",
                                          now=self.now)
        self.figures.counts["received_online"] += 1
        self.next_step(plan)

    def answer_moment(self) -> datetime:
        """When the applicant answers a supplement request: 1-10 days later, 06:00-23:00."""
        day = self.now.astimezone(HANOI).date() + timedelta(days=self.rng.randint(1, 10))
        return datetime.combine(day, datetime.min.time(), tzinfo=HANOI) + timedelta(
            minutes=self.rng.uniform(6 * 60, 23 * 60))

    def answer(self, plan: Plan) -> None:
        """The applicant answers a supplement request online."""
        with self.timing("supplement"):
            supplement_answers.answer_supplement(
                self.core, plan.dossier_code, note="Đã bổ sung bản chụp giấy tờ tùy thân.",
                files=[], now=self.now)
        self.figures.counts["supplement_answered"] += 1
        delay = self.rng.uniform(0.05, 0.5) * DAY_SECONDS
        self.push(self.calendar.add_working_seconds(self.now, delay), plan.after_answer,
                  plan.index)

    def next_step(self, plan: Plan) -> None:
        """Schedule the dossier's next step, or close it."""
        if plan.position >= len(plan.steps):
            self.close()
            return
        step = plan.steps[plan.position]
        if step.bpmn_id == "receive_supplement" and plan.after_answer != "step":
            plan.after_answer = "step"
            self.figures.counts["supplement_requested"] += 1
            self.push(self.answer_moment(), "answer", plan.index)
            return
        self.push(self.calendar.add_working_seconds(self.now, step.seconds), "step", plan.index)

    def step(self, plan: Plan) -> None:
        """An officer completes the dossier's next step."""
        step = plan.steps[plan.position]
        with self.timing("find_task"), self.core.db.connect() as conn:
            ready = conn.execute(READY_TASKS, {"dossier_id": plan.dossier_id}).all()
        found = [row for row in ready if row.bpmn_id == step.bpmn_id]
        if len(found) != 1:
            raise RuntimeError(f"{plan.dossier_code}: expected {step.bpmn_id}, ready: "
                               f"{[row.bpmn_id for row in ready]}")
        data = form_data(self.fixture, plan.code, step.bpmn_id,
                         self.now.astimezone(HANOI).date().isoformat(), step.overrides)
        with self.timing("complete_task"):
            tasks.complete_task(self.core, self.users[found[0].role], found[0].id, data,
                                self.now)
        self.figures.counts["completions"] += 1
        plan.completions.append((step.bpmn_id, data))
        plan.position += 1
        self.raw_cycle(plan, step.bpmn_id, data)
        self.next_step(plan)

    def raw_cycle(self, plan: Plan, bpmn_id: str, data: dict[str, Any]) -> None:
        """The baseline, right after MotCua's completion: the same completion through raw
        SpiffWorkflow and its default serializer, the JSON kept in memory."""
        serializer = self.serializer
        if plan.index not in self.raw_states:
            with self.timing(RAW_SETUP):
                parsed = self.procedures[plan.code].parsed
                workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
                start = {"dossier_code": plan.dossier_code, "channel": plan.channel}
                workflow.data.update(start)
                workflow.task_tree.data.update(start)
                workflow.do_engine_steps()
                self.raw_states[plan.index] = serializer.serialize_json(workflow)
        with self.timing(RAW):
            workflow = serializer.deserialize_json(self.raw_states[plan.index])
            [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                      if t.task_spec.bpmn_id == bpmn_id]
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
            self.raw_states[plan.index] = serializer.serialize_json(workflow)
        self.figures.counts["raw_completions"] += 1
        if plan.position >= len(plan.steps):
            del self.raw_states[plan.index]
            if not workflow.is_completed():
                raise RuntimeError(f"raw workflow of {plan.dossier_code} did not end")

    def close(self) -> None:
        """One dossier fewer to wait for."""
        self.open -= 1


# --- baseline, setup, report -------------------------------------------------------------

def make_core(db: Engine, upload_dir: str) -> tuple[Core, dict[str, Procedure]]:
    """A migrated database with the catalogue deployed and one user per role."""
    migrate.upgrade(db)
    core = bootstrap(Settings(database_url=str(db.url), upload_dir=upload_dir), db=db)
    versions = catalogue.load_catalogue(core, ROOT / "bpmn", "bench", DEPLOYED)
    with core.uow() as uow:
        uow.session.add_all(User(username=role, password_hash=FAKE_HASH, full_name=role.title(),
                                 roles=role, active=True) for role in ROLES)
        uow.commit()
    return core, procedures_of(core, versions)


def outcomes(core: Core) -> Counter[str]:
    """Dossiers by outcome (early, on_time, late; not_received; None while open)."""
    with core.uow() as uow:
        return Counter({str(outcome): int(n) for outcome, n in uow.session.execute(
            select(Dossier.outcome, func.count()).group_by(Dossier.outcome))})


def escalation_levels(core: Core) -> Counter[int]:
    """Escalations raised, by level (0 is the warning)."""
    with core.uow() as uow:
        return Counter({int(level): int(n) for level, n in uow.session.execute(
            select(Escalation.level, func.count()).group_by(Escalation.level))})


def report_lines(report: Report, title: str) -> list[str]:
    """The report's rows as a table."""
    head = (f"{title:<34}{'online':>7}{'desk':>6}{'carried':>8}{'early':>7}{'on time':>8}"
            f"{'late':>6}{'within':>7}{'overdue':>8}{'late %':>7}")
    lines = [head]
    total = Counter[str]()
    for row in report.rows:
        lines.append(f"{row.label[:33]:<34}{row.online:>7}{row.in_person_post:>6}"
                     f"{row.carried_over:>8}{row.early:>7}{row.on_time:>8}{row.late:>6}"
                     f"{row.within_deadline:>7}{row.overdue:>8}{row.late_pct:>7.1f}")
        for name in ("online", "in_person_post", "carried_over", "early", "on_time", "late",
                     "within_deadline", "overdue"):
            total[name] += getattr(row, name)
    lines.append(f"{'total':<34}{total['online']:>7}{total['in_person_post']:>6}"
                 f"{total['carried_over']:>8}{total['early']:>7}{total['on_time']:>8}"
                 f"{total['late']:>6}{total['within_deadline']:>7}{total['overdue']:>8}")
    return lines


def replay_on(db: Engine, args: argparse.Namespace, database: str) -> int:
    """Set up, replay, report, measure the baseline, print everything."""
    with tempfile.TemporaryDirectory(prefix="motcua-replay-uploads-") as uploads:
        began = time.perf_counter()
        core, procedures = make_core(db, uploads)
        with core.uow() as uow:
            calendar = core.calendar_for(uow.session)
        plans = make_plans(procedures, calendar, args.dossiers, args.seed)
        setup = time.perf_counter() - began
        replay = Replay(core, procedures, plans, calendar, args.seed)
        profiler = cProfile.Profile() if args.profile else None
        began, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        replay.run()
        with replay.timing("report"):
            by_field = reports.summary(core, first=f"{YEAR}-01-01", last=f"{YEAR}-12-31",
                                       by="field")
            by_procedure = reports.summary(core, first=f"{YEAR}-01-01", last=f"{YEAR}-12-31",
                                           by="procedure")
        if profiler is not None:
            profiler.disable()
        spent = replay.figures
        seconds = time.perf_counter() - began - spent.seconds[RAW] - spent.seconds[RAW_SETUP]
        cpu = time.process_time() - cpu - spent.cpu[RAW] - spent.cpu[RAW_SETUP]
        print_figures(core, replay, plans, database, setup, (seconds, cpu),
                      [by_field, by_procedure])
        if profiler is not None:
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(
                args.profile)
            print(buffer.getvalue(), file=sys.stderr)
        core.db.dispose()
    return 0


def print_figures(core: Core, replay: Replay, plans: list[Plan], database: str, setup: float,
                  spent: tuple[float, float], tables: list[Report]) -> None:
    """Counts, time per kind of action, the report and the RESULT line."""
    seconds, cpu = spent
    figures = replay.figures
    counts = figures.counts
    done = outcomes(core)
    levels = escalation_levels(core)
    completions = counts["completions"]
    if counts["raw_completions"] != completions:
        raise RuntimeError(f"baseline replayed {counts['raw_completions']} completions of "
                           f"{completions}")
    raw, raw_cpu = figures.seconds[RAW], figures.cpu[RAW]
    last = max(plan.arrival for plan in plans)
    print(f"{database}: {len(plans)} dossiers arriving {plans[0].arrival:%Y-%m-%d} .. "
          f"{last:%Y-%m-%d}, replayed until {replay.now.astimezone(HANOI):%Y-%m-%d %H:%M} "
          f"(setup {setup:.1f} s, not counted)")
    print(f"replay: {seconds:.1f} s wall, {cpu:.1f} s CPU; by action (wall/CPU): " + ", ".join(
        f"{kind} {value:.1f}/{figures.cpu[kind]:.1f} s"
        for kind, value in sorted(figures.seconds.items(), key=lambda item: -item[1])
        if kind not in {RAW, RAW_SETUP}))
    print(f"received: {counts['received_in_person']} in person, {counts['received_post']} by "
          f"post, {counts['received_online']} online (of {counts['submitted_online']} "
          f"submitted); refused at reception: {counts['refused']}")
    print(f"supplements: {counts['supplement_requested']} requested while processing, "
          f"{counts['sent_back_online']} online submissions sent back; "
          f"{counts['supplement_answered']} answered")
    print(f"resolved: {done['early']} early, {done['on_time']} on time, {done['late']} late; "
          f"still open: {done['None']}")
    print(f"completions: {completions}; due passes: {figures.passes}; escalations raised: "
          f"{sum(levels.values())} (" + ", ".join(
              f"level {level}: {n}" for level, n in sorted(levels.items())) + ")")
    complete, complete_cpu = figures.seconds["complete_task"], figures.cpu["complete_task"]
    print(f"complete_task: {complete:.1f} s wall, {complete_cpu:.1f} s CPU for {completions} "
          f"({complete / completions * 1000:.2f} ms each); raw SpiffWorkflow cycle of the same "
          f"completions, each right after MotCua's: {raw:.1f} s wall, {raw_cpu:.1f} s CPU "
          f"({raw / completions * 1000:.2f} ms each); ratio {complete / raw:.2f} wall, "
          f"{complete_cpu / raw_cpu:.2f} CPU")
    for report, title in zip(tables, (f"Biểu II.06a {YEAR}, by field",
                                      f"Biểu II.06a {YEAR}, by procedure"), strict=True):
        print()
        print("\n".join(report_lines(report, title)))
    print(f"RESULT seconds={seconds:.1f} dossiers={len(plans)} completions={completions} "
          f"late={done['late']} per_dossier_ms={seconds / len(plans) * 1000:.1f} "
          f"raw_seconds={raw:.1f} complete_seconds={complete:.1f} cpu_seconds={cpu:.1f} "
          f"raw_cpu_seconds={raw_cpu:.1f} complete_cpu_seconds={complete_cpu:.1f} "
          f"db={database}")


def main(argv: list[str] | None = None) -> int:
    """Replay the year on SQLite, or on PostgreSQL with --postgresql."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=DOSSIERS, help="dossiers in the year")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the RNG")
    parser.add_argument("--postgresql", nargs="?", metavar="URL",
                        const=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
                        help=f"run on PostgreSQL (default: TEST_DATABASE_URL or {DEFAULT_PG})")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the replay (cProfile, top N cumulative, to stderr)")
    args = parser.parse_args(argv)
    if args.postgresql:
        with pg_schema(args.postgresql, "bench_replay") as db:
            return replay_on(db, args, "postgresql")
    with tempfile.TemporaryDirectory(prefix="motcua-replay-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'replay.sqlite3'}")
        try:
            return replay_on(db, args, "sqlite")
        finally:
            db.dispose()


if __name__ == "__main__":
    sys.exit(main())
