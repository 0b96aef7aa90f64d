"""Demo data for `make run`: users with password 'demo' and dossiers in several states.

Only for the demo database: a real deployment creates its users through administration.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from engine.bootstrap import Core
from engine.models import Task, User
from engine.services import accounts, dossiers, tasks
from workflows.calendar import WorkingCalendar

JUDICIAL_RECORD = "judicial_record_certificate"
DEMO_PASSWORD = "demo"
USERS = [
    ("reception", "Nguyễn Thị Lan", ["reception"], "one_stop"),
    ("specialist", "Trần Văn Minh", ["specialist"], None),
    ("head", "Lê Thị Hồng", ["head"], None),
    ("leader", "Phạm Quốc Hùng", ["leader"], None),
    ("clerk", "Bùi Thị Ngọc", ["clerk"], None),
    ("supervisor", "Hoàng Văn Nam", ["supervisor"], None),
    ("designer", "Võ Thị Mai", ["designer"], None),
    ("admin", "Đặng Minh Tuấn", ["admin"], None),
]
APPLICANTS = [
    ("Nguyễn Văn An", "001089012345", "0912345678", "12 Lý Thường Kiệt, phường Hàng Bài, Hà Nội"),
    ("Trần Thị Bích", "031195004321", "0987654321", "45 Lê Lợi, phường Bến Thành, TP. Hồ Chí Minh"),
    ("Lê Hoàng Cường", "079201009876", "0901234567", "8 Trần Phú, phường Lộc Thọ, Nha Trang"),
    ("Phạm Thị Dung", "036187001122", "0934567890", "27 Nguyễn Huệ, phường Vĩnh Ninh, Huế"),
    ("Hoàng Minh Đức", "040099003344", "0978123456", "102 Quang Trung, phường Quang Trung, Vinh"),
    ("Vũ Thị Hạnh", "025190005566", "0945678123", "3 Hai Bà Trưng, phường Lê Lợi, Bắc Giang"),
]


def step_data(bpmn_id: str, day: str, *, complete: bool = True) -> dict[str, Any]:
    """Plausible form data for each step of the judicial record procedure."""
    steps: dict[str, dict[str, Any]] = {
        "check_records": {"dossier_complete": complete, "residence_history": "one_province",
                          "needs_verification": False,
                          **({} if complete else {"missing_documents": "Bản chụp CCCD"})},
        "receive_supplement": {"supplement_received_date": day,
                               "supplement_documents": "Bản chụp CCCD", "supplement_channel":
                               "in_person"},
        "draft_certificate": {"certificate_type": "no_1", "criminal_record_found": False,
                              "copies_requested": 2},
        "review": {"review_approved": True},
        "sign": {"signed": True, "certificate_number": "123/PLLTP", "signed_date": day},
        "return_result": {"return_method": "in_person", "receiver_name": "Người yêu cầu",
                          "returned_date": day},
    }
    return steps[bpmn_id]


def advance(core: Core, code: str, steps: list[str], start: datetime, now: datetime,
            users: dict[str, User], complete: bool = True) -> None:
    """Complete the dossier's next steps in order, a working half-day apart, until `now`."""
    moment = start
    calendar = current_calendar(core)
    dossier_id = dossiers.get_dossier(core, code).dossier.id
    for bpmn_id in steps:
        with core.uow() as uow:
            task = uow.session.scalars(select(Task).where(
                Task.state == "ready", Task.bpmn_id == bpmn_id, Task.dossier_id == dossier_id)
            ).one()
        moment = min(calendar.add_working_days(moment, 0.5), now)
        day = moment.date().isoformat()
        tasks.complete_task(core, users[task.role], task.id,
                            step_data(bpmn_id, day, complete=complete), moment)


def current_calendar(core: Core) -> WorkingCalendar:
    """The calendar with the overrides the database holds now."""
    with core.uow() as uow:
        return core.calendar_for(uow.session)


def _office_moment(core: Core, around: datetime, now: datetime) -> datetime:
    """09:15 on the latest working day on or before `around`, and not after `now`."""
    calendar = current_calendar(core)
    zone = calendar.zone
    day = around.astimezone(zone).date()
    while True:
        moment = datetime.combine(day, time(9, 15), tzinfo=zone)
        if calendar.is_working_day(day) and moment <= now:
            return moment
        day -= timedelta(days=1)


def load_demo(core: Core, now: datetime) -> str:
    """Create the demo users and dossiers unless they already exist."""
    with core.uow() as uow:
        if uow.session.scalars(select(User).where(User.username == "reception")).first():
            return "demo data already present"
    users = {}
    for username, name, roles, department in USERS:
        user = accounts.create_user(core, username=username, password=DEMO_PASSWORD,
                                    full_name=name, roles=roles, department=department)
        for role in roles:
            users[role] = user
    main_path = ["check_records", "draft_certificate", "review", "sign", "return_result"]
    plans: list[tuple[int, list[str], bool]] = [
        (0, [], True),                       # just received: the specialist checks it
        (9, main_path[:1], True),            # drafting is long overdue: escalates at once
        (4, main_path[:2], True),            # the head reviews
        (3, main_path[:3], True),            # the leader signs
        (3, main_path[:1], False),           # incomplete: waiting for a supplement
        (14, main_path, True),               # result returned
    ]
    for (days_ago, steps, complete), (name, id_number, phone, address) in zip(
            plans, APPLICANTS, strict=True):
        received = _office_moment(core, now - timedelta(days=days_ago), now)
        dossier = dossiers.receive_dossier(
            core, procedure_code=JUDICIAL_RECORD, channel="in_person", actor="reception",
            applicant={"name": name, "id_number": id_number, "phone": phone, "address": address},
            now=received)
        advance(core, dossier.code, steps, received, now, users, complete)
    submitted = _online_submissions(core, now)
    return (f"{len(USERS)} demo users (password '{DEMO_PASSWORD}'), {len(plans)} dossiers "
            f"and {submitted} online submissions waiting for reception")


ONLINE_APPLICANTS = [
    ("Đỗ Thu Trang", "001195007788", "0916222333", "15 Phan Đình Phùng, phường Quán Thánh, "
     "Hà Nội", "1995-03-08", "trang.dt@example.com"),
    ("Ngô Quang Vinh", "038092004455", "0982444555", "9 Lê Hồng Phong, phường Điện Biên, "
     "Thanh Hóa", "1992-10-21", ""),
]


def _scan(title: str) -> bytes:
    """A one-page PDF standing for a citizen's scanned document (ASCII title)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(text=title)
    return bytes(pdf.output())


def _online_submissions(core: Core, now: datetime) -> int:
    """Judicial record requests submitted on the portal, waiting in reception's queue."""
    from engine.services.online_submission import Submission, submit_online
    from engine.services.portal import Upload

    for hours, (name, id_number, phone, address, born, email) in zip(
            (20, 2), ONLINE_APPLICANTS, strict=True):
        documents = {index: [Upload(io.BytesIO(_scan(f"Scan {index + 1} - ID {id_number}")),
                                    f"giay-to-{index + 1}.pdf")] for index in range(3)}
        submit_online(core, Submission(
            procedure_code=JUDICIAL_RECORD, applicant={
                "name": name, "id_number": id_number, "phone": phone, "address": address,
                "birth_date": born, **({"email": email} if email else {})},
            documents=documents, return_method="post" if hours > 10 else "in_person",
            return_address=address if hours > 10 else "", consent=True),
            now - timedelta(hours=hours))
    return len(ONLINE_APPLICANTS)
