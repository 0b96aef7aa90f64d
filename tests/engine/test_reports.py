"""The database counts Biểu II.06a exactly as a plain count of generated dossiers does."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import Core
from engine.errors import InvalidInput
from engine.models import Dossier, Procedure
from engine.services import reports
from tests.conftest import HANOI

# The period under test: 1 March to 31 May 2026, Hanoi time.
START = datetime(2026, 3, 1, tzinfo=HANOI)
END = datetime(2026, 6, 1, tzinfo=HANOI)
FIRST_DAY = datetime(2025, 1, 1, tzinfo=HANOI)
CHANNELS = ("online", "in_person", "post")


@dataclass(frozen=True)
class Generated:
    """What the test chose for one dossier."""

    procedure: Procedure
    channel: str
    received_at: datetime
    appointment_at: datetime
    resolved_at: datetime | None

    @property
    def outcome(self) -> str | None:
        """Early, on time or late by local day, as the engine classifies it."""
        if self.resolved_at is None:
            return None
        resolved, due = self.resolved_at.date(), self.appointment_at.date()
        return "early" if resolved < due else "on_time" if resolved == due else "late"


def generate(procedures: list[Procedure], count: int, seed: int = 2026) -> list[Generated]:
    """Dossiers over two years, every channel and outcome, open ones, and period edges."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        received = FIRST_DAY + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        appointment = received + timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 8))
        resolved: datetime | None = received + timedelta(minutes=rng.randrange(45 * 24 * 60))
        if rng.random() < 0.15:
            resolved = None
        made.append(Generated(rng.choice(procedures), rng.choice(CHANNELS), received,
                              appointment, resolved))
    # Dossiers on the edges: received, resolved or due exactly at the start or the end.
    edges = [(START, START + timedelta(days=5), None),
             (END, END + timedelta(days=5), None),
             (START - timedelta(days=3), START, START),
             (START - timedelta(days=3), END, END),
             (END - timedelta(days=3), END, None),
             (END - timedelta(minutes=1), END - timedelta(minutes=1), END - timedelta(minutes=1))]
    for number, (received, appointment, resolved) in enumerate(edges):
        made.append(Generated(procedures[number % len(procedures)], CHANNELS[number % 3],
                              received, appointment, resolved))
    return made


def insert(core: Core, made: list[Generated]) -> None:
    """Insert the dossiers as rows, without processes: the report reads only the dossiers."""
    with core.uow() as uow:
        for number, g in enumerate(made):
            assert g.procedure.latest_version_id is not None
            uow.session.add(Dossier(
                code=f"TEST-{number:05d}", procedure_id=g.procedure.id,
                procedure_version_id=g.procedure.latest_version_id, applicant_name="Lê Văn Bình",
                applicant_id_number="001089012345", channel=g.channel,
                status=4 if g.resolved_at is None else 10, received_at=g.received_at,
                appointment_at=g.appointment_at, original_appointment_at=g.appointment_at,
                resolved_at=g.resolved_at, outcome=g.outcome))
        uow.commit()


def expected(made: list[Generated], key: str) -> dict[str, Counter[str]]:
    """Each group's counts, by the definitions of the form, in plain Python."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for g in made:
        row = counts[getattr(g.procedure, key)]
        if START <= g.received_at < END:
            row["online" if g.channel == "online" else "in_person_post"] += 1
        if g.received_at < START and (g.resolved_at is None or g.resolved_at >= START):
            row["carried_over"] += 1
        if g.resolved_at is not None and START <= g.resolved_at < END:
            row[str(g.outcome)] += 1
        if g.received_at < END and (g.resolved_at is None or g.resolved_at >= END):
            row["within_deadline" if g.appointment_at >= END else "overdue"] += 1
    return counts


@pytest.fixture
def procedures(core: Core) -> list[Procedure]:
    """The deployed catalogue's procedures."""
    with core.uow() as uow:
        return list(uow.session.scalars(select(Procedure).order_by(Procedure.id)))


COUNTS = ("online", "in_person_post", "carried_over", "early", "on_time", "late",
          "within_deadline", "overdue")


@pytest.mark.parametrize("by, key", [("field", "field"), ("procedure", "code")])
def test_every_cell_of_the_report_matches_a_count_of_the_generated_dossiers(
        core: Core, procedures: list[Procedure], by: str, key: str) -> None:
    made = generate(procedures, 400)
    insert(core, made)
    want = expected(made, key)
    report = reports.summary(core, first="2026-03-01", last="2026-05-31", by=by)
    assert {row.key for row in report.rows} == {getattr(p, key) for p in procedures}
    for row in report.rows:
        assert {name: getattr(row, name) for name in COUNTS} == {
            name: want[row.key][name] for name in COUNTS}, row.key
    assert all(report.total.counts()[name] > 0 for name in COUNTS)  # every kind occurs
    assert report.total.received == report.total.resolved + report.total.in_progress
    assert report.total.online == sum(want[k]["online"] for k in want)


def test_rows_by_field_carry_the_field_names_of_the_latest_versions(
        core: Core, procedures: list[Procedure]) -> None:
    report = reports.summary(core, first="2026-03-01", last="2026-03-31", by="field")
    labels = {row.key: row.label for row in report.rows}
    assert labels["judicial_records"] == "Lý lịch tư pháp"
    english = reports.summary(core, first="2026-03-01", last="2026-03-31", by="field",
                              lang="en")
    assert {row.key: row.label for row in english.rows}["judicial_records"] == "Judicial records"
    assert report.total.received == 0 and report.total.early_pct == 0.0


def test_rows_by_procedure_carry_the_procedure_names(core: Core,
                                                     procedures: list[Procedure]) -> None:
    report = reports.summary(core, first="2026-03-01", last="2026-03-31", by="procedure",
                             lang="en")
    names = {p.code: p.name_en or p.name for p in procedures}
    assert {row.key: row.label for row in report.rows} == names


def test_a_report_with_bad_dates_is_refused_field_by_field(core: Core) -> None:
    with pytest.raises(InvalidInput) as caught:
        reports.summary(core, first="2026-05-31", last="2026-03-01", by="field", lang="en")
    assert caught.value.fields == {"to": "The last day must not be before the first day."}


def test_open_dossiers_of_a_period_not_over_yet_are_counted_as_of_now(
        core: Core, procedures: list[Procedure]) -> None:
    now = datetime(2026, 5, 20, 10, tzinfo=HANOI)  # the period runs to 31/5
    received = START + timedelta(days=1)
    insert(core, [Generated(procedures[0], "online", received, now + timedelta(days=2), None),
                  Generated(procedures[0], "post", received, now - timedelta(hours=1), None)])
    today = reports.summary(core, first="2026-03-01", last="2026-05-31", by="field", now=now)
    assert (today.total.within_deadline, today.total.overdue) == (1, 1)
    # Once the period is over, its end is the moment they are counted at.
    after = reports.summary(core, first="2026-03-01", last="2026-05-31", by="field",
                            now=END + timedelta(days=10))
    assert (after.total.within_deadline, after.total.overdue) == (0, 2)


def test_a_period_that_has_not_begun_is_refused(core: Core) -> None:
    with pytest.raises(InvalidInput) as caught:
        reports.summary(core, first="2026-12-01", last="2026-12-31", by="field", lang="en",
                        now=datetime(2026, 11, 25, 16, tzinfo=HANOI))
    assert caught.value.fields == {
        "from": "The period has not begun: choose a first day no later than today."}
    # Today's own period is fine, the days after today included.
    report = reports.summary(core, first="2026-11-25", last="2026-12-31", by="field",
                             now=datetime(2026, 11, 25, 16, tzinfo=HANOI))
    assert report.total.received == 0
