"""The texts of the e-mails MotCua sends: to citizens about their dossier, to officers about
their late steps. Pure: no I/O; times are shown in the agency's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

AGENCY_ZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Letter:
    """An e-mail's subject and plain-text body."""

    subject: str
    body: str


def received_letter(*, agency_name: str, code: str, procedure_name: str,
                    applicant_name: str, received_at: datetime, appointment_at: datetime,
                    zone: str = AGENCY_ZONE) -> Letter:
    """The e-mail telling the applicant their dossier was received, with its appointment."""
    return _letter(agency_name, f"Đã tiếp nhận hồ sơ {code}", applicant_name,
                   f"{agency_name} đã tiếp nhận hồ sơ của Ông/Bà.",
                   [("Mã hồ sơ", code), ("Thủ tục", procedure_name),
                    ("Ngày tiếp nhận", _local(received_at, zone)),
                    ("Ngày hẹn trả kết quả", _local(appointment_at, zone))],
                   "Ông/Bà có thể tra cứu tình trạng hồ sơ bằng mã hồ sơ trên.")


def supplement_letter(*, agency_name: str, code: str, procedure_name: str,
                      applicant_name: str, requested_at: datetime,
                      missing: str | None = None, zone: str = AGENCY_ZONE) -> Letter:
    """The e-mail asking the applicant to complete their dossier (what is missing, if known)."""
    what = (missing or "").strip() or (f"vui lòng liên hệ Bộ phận Một cửa của {agency_name} "
                                        "để được hướng dẫn")
    return _letter(agency_name, f"Yêu cầu bổ sung hồ sơ {code}", applicant_name,
                   f"{agency_name} đề nghị Ông/Bà bổ sung hồ sơ để tiếp tục giải quyết.",
                   [("Mã hồ sơ", code), ("Thủ tục", procedure_name),
                    ("Ngày yêu cầu", _local(requested_at, zone)),
                    ("Nội dung cần bổ sung", what)],
                   "Thời gian giải quyết tạm dừng từ ngày yêu cầu cho đến khi Ông/Bà nộp "
                   "đủ hồ sơ bổ sung; ngày hẹn trả kết quả sẽ được lùi tương ứng.")


def result_ready_letter(*, agency_name: str, code: str, procedure_name: str,
                        applicant_name: str, resolved_at: datetime,
                        zone: str = AGENCY_ZONE) -> Letter:
    """The e-mail telling the applicant the result is ready to collect (status 9)."""
    return _letter(agency_name, f"Đã có kết quả giải quyết hồ sơ {code}", applicant_name,
                   f"Hồ sơ của Ông/Bà đã được {agency_name} giải quyết xong.",
                   [("Mã hồ sơ", code), ("Thủ tục", procedure_name),
                    ("Ngày có kết quả", _local(resolved_at, zone))],
                   f"Mời Ông/Bà đến Bộ phận Một cửa của {agency_name} để nhận kết quả, "
                   "hoặc nhận theo hình thức Ông/Bà đã đăng ký. Khi đến, vui lòng mang theo "
                   "Giấy tiếp nhận hồ sơ và hẹn trả kết quả.")


def apology_letter(*, agency_name: str, code: str, procedure_name: str,
                   applicant_name: str, reason: str, new_appointment_at: datetime,
                   previous_appointment_at: datetime | None = None,
                   zone: str = AGENCY_ZONE) -> Letter:
    """The apology for a late dossier, with the reason and the new appointment date."""
    facts = [("Mã hồ sơ", code), ("Thủ tục", procedure_name)]
    if previous_appointment_at is not None:
        facts.append(("Ngày hẹn trả kết quả trước đây", _local(previous_appointment_at, zone)))
    facts += [("Lý do", reason.strip()),
              ("Ngày hẹn trả kết quả mới", _local(new_appointment_at, zone))]
    return _letter(agency_name, f"Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}",
                   applicant_name,
                   f"{agency_name} thành thật xin lỗi Ông/Bà vì hồ sơ dưới đây chưa được "
                   "giải quyết đúng hẹn.", facts,
                   "Rất mong Ông/Bà thông cảm. Kết quả sẽ được trả vào ngày hẹn mới nêu trên.")


def _letter(agency_name: str, subject: str, applicant_name: str, opening: str,
            facts: list[tuple[str, str]], closing: str) -> Letter:
    lines = [f"Kính gửi Ông/Bà {applicant_name.strip()},", "", opening, ""]
    lines += [f"{label}: {value}" for label, value in facts]
    lines += ["", closing, "", "Trân trọng,", agency_name, "",
              "Đây là thư tự động, vui lòng không trả lời thư này."]
    return Letter(f"[{agency_name}] {subject}", "\n".join(lines) + "\n")


def _local(moment: datetime, zone: str) -> str:
    """dd/mm/yyyy HH:MM in the agency's time zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")


def escalation_letter(*, agency_name: str, officer_name: str, code: str, step: str | None,
                      level: int, due_at: datetime, link: str,
                      zone: str = AGENCY_ZONE) -> Letter:
    """The e-mail telling an officer that a step (or an appointment date) nears or passed."""
    what = f"bước \u201c{step}\u201d" if step else "ngày hẹn trả kết quả"
    if level == 0:
        subject, opening = (f"Sắp đến hạn: hồ sơ {code}",
                            f"{what.capitalize()} của hồ sơ {code} sắp đến hạn.")
    elif level == 1:
        subject, opening = (f"Đã đến hạn: hồ sơ {code}",
                            f"{what.capitalize()} của hồ sơ {code} đã đến hạn mà chưa xong.")
    else:
        subject, opening = (f"Chuyển cấp: hồ sơ {code} quá hạn",
                            f"{what.capitalize()} của hồ sơ {code} đã quá hạn; việc xử lý "
                            f"được chuyển lên cấp {level} để đôn đốc.")
    lines = [f"Kính gửi {officer_name.strip()},", "", opening, "",
             f"Mã hồ sơ: {code}", f"Hạn: {_local(due_at, zone)}", f"Xem hồ sơ: {link}", "",
             agency_name, "", "Đây là thư tự động của hệ thống Một cửa điện tử."]
    return Letter(f"[{agency_name}] {subject}", "\n".join(lines) + "\n")
