"""Every page, found by following links, is wholly English in English and Vietnamese in Vietnamese.

The site is seeded with dossiers in many states; each role logs in, chooses a language and
walks every page its links reach (breadth first, same host, GET only). In English no page may
show a translation of the Vietnamese catalog or a word with Vietnamese letters other than the
data people typed (applicants, addresses, notes, officers' names, the agency's name); in
Vietnamese no page may show an English message of the catalog.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.bootstrap import Core
from engine.db import make_engine
from engine.demo import step_data
from engine.models import (
    Apology,
    CalendarOverride,
    Dossier,
    Escalation,
    Event,
    ProcedureVersion,
    Task,
    User,
)
from engine.services import apologies, dossiers, supervision, tasks, working_days
from engine.services.escalations import run_due
from tests.conftest import MONDAY_9AM, ROLES, at, make_core
from tests.web.conftest import Auth, Clock
from web import LANG_COOKIE, create_app

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web/translations/vi/LC_MESSAGES/messages.po"
PAGE_CAP = 250            # pages per role and language
PER_SHAPE = 15            # pages per URL shape (/dossiers/#, /admin/calendar?year…)
SKIPPED_PREFIXES = ("/static/", "/api/", "/lang/", "/logout")
SKIPPED_SUFFIXES = (".csv", ".xlsx", ".pdf", ".bpmn", ".xml", ".json", ".png", ".jpg", ".svg",
                    ".zip", ".ico", ".js", ".css")
# The language switch names each language in that language.
ALWAYS_ALLOWED = ("Tiếng Việt", "English")
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
MISSING = "/dossiers/000.00.18.H57-000000-9999"  # the error page must be translated too
LATER = at(2, 10, month=12)  # Wednesday 02/12/2026 10:00: several deadlines have passed

OFFICER_NAMES = {"reception": "Nguyễn Thị Lan", "specialist": "Trần Văn Minh",
                 "head": "Lê Thị Hồng", "leader": "Phạm Quốc Hùng", "clerk": "Bùi Thị Ngọc",
                 "supervisor": "Hoàng Văn Nam", "designer": "Võ Thị Mai",
                 "admin": "Đặng Minh Tuấn"}
PEOPLE = [
    ("Nguyễn Văn An", "001089012345", "12 Lý Thường Kiệt, phường Hàng Bài, Hà Nội"),
    ("Trần Thị Bích", "031195004321", "45 Lê Lợi, phường Bến Thành, TP. Hồ Chí Minh"),
    ("Lê Hoàng Cường", "079201009876", "8 Trần Phú, phường Lộc Thọ, Nha Trang"),
    ("Phạm Thị Dung", "036187001122", "27 Nguyễn Huệ, phường Vĩnh Ninh, Huế"),
    ("Hoàng Minh Đức", "040099003344", "102 Quang Trung, phường Quang Trung, Vinh"),
    ("Vũ Thị Hạnh", "025190005566", "3 Hai Bà Trưng, phường Lê Lợi, Bắc Giang"),
    ("Đỗ Quang Khải", "001203007788", "19 Điện Biên Phủ, phường Đa Kao, TP. Hồ Chí Minh"),
    ("Ngô Thị Loan", "038192001199", "5 Phan Đình Phùng, phường Quán Thánh, Hà Nội"),
]
JUDICIAL = ["check_records", "draft_certificate", "review", "sign", "return_result"]


# --- the seeded site ---------------------------------------------------------------------

@dataclass
class Site:
    """The app over a seeded database, and the data strings people typed into it."""

    app: Flask
    core: Core
    allowed: list[str] = field(default_factory=list)
    lookups: list[tuple[str, str]] = field(default_factory=list)  # a dossier of each status


def _person(index: int) -> dict[str, str]:
    name, id_number, address = PEOPLE[index % len(PEOPLE)]
    return {"name": name, "id_number": id_number, "phone": "0912345678", "address": address}


def _user(core: Core, role: str) -> User:
    with core.uow() as uow:
        return uow.session.scalars(select(User).where(User.username == role)).one()


def _receive(core: Core, procedure: str, now: datetime, applicant: dict[str, str],
             channel: str = "in_person", actor: str = "reception") -> str:
    return dossiers.receive_dossier(core, procedure_code=procedure, applicant=applicant,
                                    channel=channel, actor=actor, now=now).code


def _complete(core: Core, code: str, bpmn_id: str, now: datetime, data: dict[str, Any]) -> None:
    [task] = [t for t in dossiers.get_dossier(core, code).tasks
              if t.state == "ready" and t.bpmn_id == bpmn_id]
    tasks.complete_task(core, _user(core, task.role), task.id, data, now)


def _judicial(core: Core, index: int, steps: list[str], *, complete: bool = True,
              channel: str = "in_person", data: dict[str, Any] | None = None) -> str:
    """A judicial record dossier received on Monday and walked through `steps`."""
    moment = MONDAY_9AM + timedelta(minutes=10 * index)
    code = _receive(core, "judicial_record_certificate", moment, _person(index), channel)
    for number, bpmn_id in enumerate(steps):
        moment += timedelta(hours=1)
        values = step_data(bpmn_id, moment.date().isoformat(), complete=complete)
        if number == 0 and data:
            values = {**values, **data}
        _complete(core, code, bpmn_id, moment, values)
    return code


def _seed(core: Core) -> None:
    """Dossiers of every procedure, in many states, with alerts, letters and a calendar day."""
    with core.uow() as uow:
        for role, name in OFFICER_NAMES.items():
            uow.session.execute(update(User).where(User.username == role).values(full_name=name))
        uow.commit()
    fresh = _judicial(core, 0, [])
    drafting = _judicial(core, 1, JUDICIAL[:1])
    reviewing = _judicial(core, 2, JUDICIAL[:2])
    _judicial(core, 3, JUDICIAL[:3])
    _judicial(core, 4, JUDICIAL[:1], complete=False)          # waiting for a supplement
    _judicial(core, 5, JUDICIAL)                              # result returned
    _judicial(core, 6, JUDICIAL[:1], data={"needs_verification": True,
                                           "residence_history": "several_provinces"})
    _judicial(core, 7, [], channel="online")
    _judicial(core, 8, JUDICIAL[:4])                          # resolved, not yet returned
    for number, procedure in enumerate(("law_practice_registration",
                                        "notary_office_registration",
                                        "auction_enterprise_registration")):
        _receive(core, procedure, MONDAY_9AM + timedelta(hours=2, minutes=number),
                 _person(number), channel="post")
    _receive(core, "incoming_document", MONDAY_9AM + timedelta(hours=3),
             {"name": "Ủy ban nhân dân phường Hàng Bài", "id_number": "123/UBND-VP"},
             actor="clerk")
    _receive(core, "outgoing_document", MONDAY_9AM + timedelta(hours=3, minutes=5),
             {"name": "Phòng Hành chính tư pháp", "id_number": "45/STP-HCTP"}, actor="clerk")
    [draft] = [t for t in dossiers.get_dossier(core, drafting).tasks if t.state == "ready"]
    tasks.claim_task(core, _user(core, "specialist"), draft.id, MONDAY_9AM + timedelta(hours=4))
    # Deadlines pass: warnings, then escalations up the hierarchy, and their notifications.
    for moment in (at(26, 9), at(27, 9, 30), at(30, 9), LATER - timedelta(minutes=5)):
        run_due(core, moment, "test")
        run_due(core, moment + timedelta(minutes=1), "test")
    with core.uow() as uow:
        first = uow.session.scalars(select(Escalation.id).order_by(Escalation.id)).first()
    assert first is not None, "the seed should have raised alerts"
    supervision.acknowledge(core, _user(core, "supervisor"), first,
                            "Đã nhắc chuyên viên xử lý ngay", LATER - timedelta(minutes=4))
    # Apology letters: one approved, one sent back, one waiting for the leader.
    for code, decision in ((fresh, True), (reviewing, False), (drafting, None)):
        proposal = apologies.propose(core, code, LATER - timedelta(minutes=3))
        letter = apologies.draft(core, _user(core, "reception"), code,
                                 "Chờ kết quả xác minh của Công an tỉnh",
                                 proposal.new_appointment_at, LATER - timedelta(minutes=3))
        if decision is not None:
            apologies.decide(core, _user(core, "leader"), letter.id, decision,
                             "Đồng ý gia hạn", LATER - timedelta(minutes=2))
    working_days.set_override(core, date(2026, 12, 26), True, "Làm bù ngày thứ Bảy",
                              "admin", LATER - timedelta(minutes=1))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _typed_data(core: Core) -> list[str]:
    """What people typed or the deployment set: removed from pages before they are checked."""
    with core.uow() as uow:
        session = uow.session
        values: list[str | None] = [
            *session.scalars(select(Dossier.applicant_name)),
            *session.scalars(select(Dossier.applicant_address)),
            *session.scalars(select(User.full_name)),
            *session.scalars(select(Apology.reason)),
            *session.scalars(select(Apology.decision_note)),
            *session.scalars(select(Escalation.note)),
            *session.scalars(select(CalendarOverride.note)),
            core.settings.agency_name,
        ]
        # Form values officers entered (not the step names the engine copies into events).
        for data in session.scalars(select(Event.data).where(Event.kind == "completed")):
            values += list(_strings(data))
        for meta in session.scalars(select(ProcedureVersion.meta)):
            values.append(meta.get("agency"))
    return sorted({v.strip() for v in values if v and v.strip()}, key=len, reverse=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Site:
    """One seeded site for every crawl of this module (the crawls only read)."""
    path = tmp_path_factory.mktemp("english") / "motcua.sqlite3"
    shutil.copy(sqlite_template, path)
    core = make_core(make_engine(f"sqlite:///{path}"))
    _seed(core)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": Clock(LATER),
                      "DATABASE_URL": str(core.db.url)}, core=core)
    with core.uow() as uow:
        rows = uow.session.execute(select(Dossier.status, Dossier.code,
                                          Dossier.applicant_id_number).order_by(Dossier.id))
        lookups = {status: (code, id_number) for status, code, id_number in rows}
    return Site(app, core, _typed_data(core), list(lookups.values()))


# --- reading pages ------------------------------------------------------------------------

class Page(HTMLParser):
    """The text a reader sees (and hears: labels, placeholders) and the links of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "textarea":  # what a textarea holds is data being edited, not interface
            self._skip += 1
            return
        if tag in ("script", "style", "template"):
            # A JSON island feeds what is drawn on screen (a chart's labels): read its strings.
            self._json = tag == "script" and values.get("type") == "application/json"
            self._skip += 0 if self._json else 1
            return
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        for name, value in values.items():
            if value and (name in VISIBLE_ATTRIBUTES or name.endswith("-text")):
                self.chunks.append(value)
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.chunks.append(values.get("value", ""))  # a <button>'s value is not shown

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._skip:
            self._skip -= 1
            return
        if tag in ("script", "style", "template"):
            if self._json:
                self._json = False
            elif self._skip:
                self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._json:
            self.chunks += list(_strings(json.loads(data)))
        elif not self._skip and data.strip():
            self.chunks.append(data)

    @classmethod
    def read(cls, html: str) -> Page:
        """Parse a page."""
        page = cls()
        page.feed(html)
        page.close()
        return page


def _local_link(href: str, base: str) -> str | None:
    """The path and query of a link worth following from `base`, or None."""
    parts = urlsplit(urljoin(f"http://localhost{base}", href))
    if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
        return None
    path = parts.path
    if path.startswith(SKIPPED_PREFIXES) or path.lower().endswith(SKIPPED_SUFFIXES):
        return None
    return f"{path}?{parts.query}" if parts.query else path


def _shape(url: str) -> str:
    """A URL with its identifiers blanked: /dossiers/000.00.18.H57-261123-0001 → /dossiers/#."""
    parts = urlsplit(url)
    path = "/".join("#" if re.search(r"\d", part) else part for part in parts.path.split("/"))
    keys = sorted(pair.split("=")[0] for pair in parts.query.split("&") if pair)
    return f"{path}?{'&'.join(keys)}"


@dataclass
class Walk:
    """What a crawl saw: each page's text, and the links that led to errors."""

    pages: dict[str, list[str]] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)


def crawl(client: FlaskClient, starts: list[str]) -> Walk:
    """Follow GET links breadth first from `starts`, up to PAGE_CAP pages."""
    walk = Walk()
    queue = deque((url, "") for url in starts)
    seen, shapes = set(starts), Counter[str]()
    while queue and len(walk.pages) < PAGE_CAP:
        url, came_from = queue.popleft()
        response = client.get(url, follow_redirects=True)
        if response.status_code >= 400 and came_from:
            # Start pages may be missing (the portal, an unknown dossier); links must work.
            walk.broken.append(f"{url} ({response.status_code}, linked from {came_from})")
        if response.mimetype != "text/html":
            continue
        page = Page.read(response.get_data(as_text=True))
        walk.pages[url] = page.chunks  # error pages too: they must speak the language
        for href in page.links:
            target = _local_link(href, response.request.path)
            if target is None or target in seen or shapes[_shape(target)] >= PER_SHAPE:
                continue
            seen.add(target)
            shapes[_shape(target)] += 1
            queue.append((target, url))
    return walk


# --- what may not be shown ----------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
_VIETNAMESE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0306", "\u0302",
                     "\u031b"}


def _is_vietnamese_letter(char: str) -> bool:
    if char.lower() in "ăâđêôơư":
        return True
    parts = unicodedata.normalize("NFD", char)
    return len(parts) > 1 and parts[0].lower() in "aeiouy" and bool(
        _VIETNAMESE_MARKS & set(parts[1:]))


def has_vietnamese(text: str) -> bool:
    """Whether `text` has a letter only Vietnamese uses (ă â đ ê ô ơ ư, tone marks)."""
    return any(_is_vietnamese_letter(char) for char in text)


def _fragments(text: str) -> list[str]:
    """The literal pieces of a message between its placeholders, long enough to be telling."""
    return [piece.strip() for piece in _PLACEHOLDER.split(text)
            if len(piece.strip()) > 3 and re.search(r"[^\W\d_]", piece)]


def _patterns(texts: set[str]) -> re.Pattern[str]:
    """One pattern finding any of `texts` as whole words, the longest first."""
    choices = "|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{choices})(?!\w)")


@dataclass(frozen=True)
class Catalog:
    """The messages the Vietnamese catalog translates, as patterns over a page's text."""

    english: re.Pattern[str]     # the msgids: must not show on a Vietnamese page
    vietnamese: re.Pattern[str]  # their translations: must not show on an English page


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The Vietnamese catalog (messages whose translation differs from the English)."""
    with CATALOG.open("rb") as handle:
        messages = list(read_po(handle))
    pairs = []
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(msgid, msgstr) for msgid, msgstr in zip(ids, strings, strict=False)
                  if msgid and msgstr and msgstr != msgid]
    assert len(pairs) > 100
    return Catalog(english=_patterns({f for msgid, _ in pairs for f in _fragments(msgid)}),
                   vietnamese=_patterns({f for _, msgstr in pairs for f in _fragments(msgstr)}))


def _clean(chunks: list[str], allowed: list[str]) -> list[str]:
    """The page's text pieces with typed data and the language names taken out."""
    cleaned = []
    for chunk in chunks:
        text = " ".join(chunk.split())
        for data in (*allowed, *ALWAYS_ALLOWED):
            text = text.replace(data, " ")
        if text.strip():
            cleaned.append(" ".join(text.split()))
    return cleaned


def english_offences(chunks: list[str], allowed: list[str],
                     vietnamese: re.Pattern[str]) -> list[str]:
    """Vietnamese left on an English page: catalog translations, then any Vietnamese word."""
    found: list[str] = []
    for text in _clean(chunks, allowed):
        caught = [f"catalog “{msgstr}”" for msgstr in vietnamese.findall(text)]
        if caught or has_vietnamese(text):
            found.append(f"{text[:160]!r}" + (f" [{', '.join(caught[:3])}]" if caught else ""))
    return found


def vietnamese_offences(chunks: list[str], allowed: list[str],
                        english: re.Pattern[str]) -> list[str]:
    """English messages of the catalog left untranslated on a Vietnamese page."""
    found: list[str] = []
    for text in _clean(chunks, allowed):
        if caught := english.search(text):
            found.append(f"{text[:160]!r} [catalog “{caught.group()}”]")
    return found


def _report(walk: Walk, offences: dict[str, list[str]], what: str) -> str:
    lines = [f"{what} on {len(offences)} of {len(walk.pages)} pages:"]
    for url, found in offences.items():
        lines.append(f"  {url}")
        lines += [f"      {line}" for line in dict.fromkeys(found)]
    if walk.broken:
        lines.append("Links leading to an error page:")
        lines += [f"  {line}" for line in walk.broken]
    return "\n".join(lines)


def _visit_as(site: Site, role: str | None, language: str) -> tuple[FlaskClient, list[str]]:
    """A browser with `language` chosen, logged in as `role` (None: a visitor)."""
    client = site.app.test_client()
    auth = Auth(client)
    if role is None:
        client.get(f"/lang/{language}")
        starts = ["/login", "/portal/", "/portal"]
        # An applicant sees their dossier after looking it up with its code and ID number.
        if 'name="id_number"' in client.get("/portal/lookup").get_data(as_text=True):
            for code, id_number in site.lookups:
                found = auth.post("/portal/lookup", {"code": code, "id_number": id_number},
                                  page="/portal/lookup")
                if found.status_code == 302:  # type: ignore[attr-defined]
                    starts.append(urlsplit(found.headers["Location"]).path)  # type: ignore
        return client, starts
    auth.login(role)
    client.get(f"/lang/{language}?next=/")
    return client, ["/", MISSING]


# --- the tests ----------------------------------------------------------------------------

VISITORS = [*ROLES, None]


@pytest.mark.parametrize("role", VISITORS, ids=lambda role: role or "visitor")
def test_every_page_reached_by_links_is_english(site: Site, catalog: Catalog,
                                                role: str | None) -> None:
    client, starts = _visit_as(site, role, "en")
    walk = crawl(client, starts)
    offences = {url: found for url, chunks in walk.pages.items()
                if (found := english_offences(chunks, site.allowed, catalog.vietnamese))}
    assert walk.pages, "no page was reached"
    assert not offences and not walk.broken, _report(walk, offences, "Vietnamese text")


@pytest.mark.parametrize("role", VISITORS, ids=lambda role: role or "visitor")
def test_every_page_reached_by_links_is_vietnamese(site: Site, catalog: Catalog,
                                                   role: str | None) -> None:
    client, starts = _visit_as(site, role, "vi")
    walk = crawl(client, starts)
    offences = {url: found for url, chunks in walk.pages.items()
                if (found := vietnamese_offences(chunks, site.allowed, catalog.english))}
    assert walk.pages, "no page was reached"
    assert not offences and not walk.broken, _report(walk, offences, "English text")


def _first_link(client: FlaskClient, page: str, pattern: str) -> str:
    [link, *_] = re.findall(pattern, client.get(page).get_data(as_text=True))
    return str(link)


def test_refusals_and_field_errors_are_english(site: Site,
                                               catalog: Catalog) -> None:
    """Pages answering a wrong form (not reachable by links) speak English too."""
    answers: dict[str, Any] = {}
    client = site.app.test_client()
    auth = Auth(client)
    client.get("/lang/en")
    answers["wrong password"] = client.post("/login", data={
        "username": "reception", "password": "nope", "csrf_token": auth.csrf()})
    auth.login("reception")
    answers["empty receipt"] = auth.post("/dossiers/new", {
        "procedure": "judicial_record_certificate", "channel": "", "name": "x",
        "id_number": "12", "phone": "abc", "address": ""}, page="/dossiers/new")
    code = _first_link(client, "/dossiers/", r'href="/dossiers/(\d[^"/?]+)"')
    answers["short apology"] = auth.post(f"/apologies/new/{code}", {
        "reason": "late", "new_date": "2020-01-01"}, page=f"/apologies/new/{code}")
    auth.post("/logout", {}, page="/")
    auth.login("specialist")
    task = _first_link(client, "/", r'href="(/tasks/[^"]+)"')
    answers["empty task form"] = auth.post(f"{task}/complete", {}, page=task)
    auth.post("/logout", {}, page="/")
    auth.login("admin")
    answers["calendar without a day"] = auth.post("/admin/calendar", {"day": "", "kind": ""},
                                                  page="/admin/calendar")
    auth.post("/logout", {}, page="/admin/calendar")
    auth.login("supervisor")
    answers["report of a reversed period"] = client.get(
        "/reports/?from=2026-12-31&to=2026-01-01&by=field")
    answers["report of no period"] = client.get("/reports/?from=&to=&by=nothing")
    offences = {}
    for what, response in answers.items():
        assert response.status_code in (401, 409, 422), (what, response.status_code)
        chunks = Page.read(response.get_data(as_text=True)).chunks
        if found := english_offences(chunks, site.allowed, catalog.vietnamese):
            offences[what] = found
    assert offences == {}


def test_the_checks_catch_vietnamese_and_spare_typed_data(
        catalog: Catalog) -> None:
    page = Page.read('<title>Ký Phiếu lý lịch tư pháp · MotCua</title><p>Applicant: '
                     'Nguyễn Văn An</p><input placeholder="Ghi chú"><script>var x = "Hồ sơ";'
                     '</script><a href="/x">Tiếng Việt</a>')
    found = english_offences(page.chunks, ["Nguyễn Văn An"], catalog.vietnamese)
    assert len(found) == 2 and "Ký Phiếu" in found[0] and "Ghi chú" in found[1]
    assert "catalog" in found[1]
    assert english_offences(Page.read("<p>Applicant: Nguyễn Văn An</p>").chunks,
                            ["Nguyễn Văn An"], catalog.vietnamese) == []
    assert vietnamese_offences(Page.read("<h1>Công việc của tôi</h1><p>My tasks</p>").chunks,
                               [], catalog.english) == ["'My tasks' [catalog “My tasks”]"]


def test_the_crawler_stays_on_the_site_and_skips_downloads() -> None:
    assert _local_link("/dossiers/X-1?print=1#top", "/") == "/dossiers/X-1?print=1"
    assert _local_link("tracking", "/dossiers/X-1/") == "/dossiers/X-1/tracking"
    for href in ("https://example.org/", "//evil.example/", "/lang/en?next=/",
                 "/reports/summary.csv?from=1", "/static/motcua.css", "mailto:a@b.vn",
                 "/dossiers/X-1/diagram.bpmn"):
        assert _local_link(href, "/") is None, href
    assert _shape("/dossiers/000.00.18.H57-261123-0001?print=1") == "/dossiers/#?print"


# --- the language switch ------------------------------------------------------------------

def test_the_language_choice_outlives_a_log_out_and_a_browser_restart(
        client: FlaskClient, auth: Auth) -> None:
    auth.login("specialist")
    client.get("/lang/en?next=/")
    assert "My tasks" in client.get("/").get_data(as_text=True)
    auth.post("/logout", {}, page="/")
    assert "Log in" in client.get("/login").get_data(as_text=True)
    auth.login("specialist")
    assert "My tasks" in client.get("/").get_data(as_text=True)
    cookie = client.get_cookie(LANG_COOKIE)
    assert cookie is not None and cookie.value == "en"
    assert cookie.max_age is not None and cookie.max_age >= 300 * 24 * 3600
    # The session cookie ends with the browser; the choice must not.
    session = client.get_cookie("session")
    assert session is not None and session.expires is None
    client.delete_cookie("session")
    assert "Log in" in client.get("/login").get_data(as_text=True)
    client.get("/lang/vi?next=/login")
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)


def test_the_switch_returns_only_to_a_page_of_this_site(client: FlaskClient) -> None:
    assert client.get("/lang/xx?next=/login").headers["Location"].endswith("/login")
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)  # unknown: unchanged
    response = client.get("/lang/en?next=//evil.example/")
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


# --- the names of steps and lanes ---------------------------------------------------------

def test_steps_and_lanes_are_named_in_the_language_of_the_page(
        app: Flask, sqlite_core: Core) -> None:
    from web.views import lane_label, step_label, version_of

    code = _receive(sqlite_core, "judicial_record_certificate", MONDAY_9AM, _person(0))
    with sqlite_core.uow() as uow:
        dossier = uow.session.scalars(select(Dossier).where(Dossier.code == code)).one()
        task = uow.session.scalars(select(Task).where(Task.dossier_id == dossier.id)).one()
        version, dossier_id = dossier.procedure_version_id, dossier.id
    vi_name, lane = task.name, task.lane
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}=en"}):
        assert step_label(version, task.bpmn_id, vi_name) == \
            "Check the dossier and look up judicial record information"
        # Events and notifications keep only the name: the step is found by it.
        assert step_label(version_of(dossier_id), None, vi_name) == \
            "Check the dossier and look up judicial record information"
        assert step_label(version, None, "Hồ sơ đã được tiếp nhận") == "Dossier received"
        assert step_label(version, None, "Bước không có trong quy trình") == \
            "Bước không có trong quy trình"
        assert lane_label(version, lane) == "Specialist, Judicial Administration Division"
        assert step_label(None, None, None) == ""
    with app.test_request_context("/"):
        assert step_label(version, task.bpmn_id, vi_name) == vi_name
        assert lane_label(version, lane) == lane


def test_the_diagram_is_named_in_the_language_of_the_page(app: Flask, sqlite_core: Core) -> None:
    from web.views import diagram_xml

    code = _receive(sqlite_core, "judicial_record_certificate", MONDAY_9AM, _person(0))
    detail = dossiers.get_dossier(sqlite_core, code, with_bpmn=True)
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}=en"}):
        english = diagram_xml(detail.version.id, detail.version.bpmn_xml)
    names = re.findall(r' name="([^"]*)"', english)
    assert "Sign the judicial record certificate" in names and "Approved" in names
    assert "Department leadership" in names and "Dossier received" in names
    assert [name for name in names if has_vietnamese(name)] == []
    assert 'id="sign"' in english and "bpmndi:BPMNShape" in english  # the layout is kept
    with app.test_request_context("/"):
        assert diagram_xml(detail.version.id, detail.version.bpmn_xml) == detail.version.bpmn_xml


def test_a_reassigned_step_is_named_in_english(client: FlaskClient, auth: Auth,
                                               sqlite_core: Core, clock: Clock) -> None:
    from engine.services import accounts

    other = accounts.create_user(sqlite_core, username="specialist2", password="pw",
                                 full_name="Chuyên viên Hai", roles=["specialist"])
    _receive(sqlite_core, "judicial_record_certificate", MONDAY_9AM, _person(0))
    clock.now = MONDAY_9AM + timedelta(days=4, minutes=5)
    run_due(sqlite_core, clock.now, "test")
    auth.login("supervisor")
    client.get("/lang/en?next=/supervise/")
    page = client.get("/supervise/").get_data(as_text=True)
    assert "Check the dossier and look up judicial record information" in page
    [task_id] = re.findall(r"/supervise/tasks/([^/]+)/reassign", page)
    response = auth.post(f"/supervise/tasks/{task_id}/reassign", {"officer": str(other.id)},
                         page="/supervise/")
    page = client.get(response.headers["Location"]).get_data(  # type: ignore[attr-defined]
        as_text=True)
    assert "Step “Check the dossier and look up judicial record information” reassigned." \
        in page
