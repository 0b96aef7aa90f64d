"""The citizen portal's e-mails, in the shape of the outbox's letters (Vietnamese, plain text)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine.services.outbox import AGENCY_ZONE, Letter


def submitted_letter(*, agency_name: str, code: str, procedure_name: str,
                     applicant_name: str, submitted_at: datetime, lookup_url: str,
                     zone: str = AGENCY_ZONE) -> Letter:
    """The e-mail confirming an online submission, with its code and lookup address."""
    facts = [("Mã hồ sơ", code), ("Thủ tục", procedure_name),
             ("Thời điểm nộp", submitted_at.astimezone(ZoneInfo(zone)).strftime(
                 "%d/%m/%Y %H:%M")),
             ("Địa chỉ tra cứu", lookup_url)]
    lines = [f"Kính gửi Ông/Bà {applicant_name.strip()},", "",
             f"{agency_name} đã nhận được hồ sơ Ông/Bà nộp trực tuyến.", ""]
    lines += [f"{label}: {value}" for label, value in facts]
    lines += ["", "Bộ phận Một cửa sẽ kiểm tra hồ sơ. Khi hồ sơ được tiếp nhận, Ông/Bà sẽ nhận "
              "được thư báo ngày hẹn trả kết quả; nếu hồ sơ cần bổ sung, Ông/Bà có thể bổ sung "
              "trực tuyến tại địa chỉ tra cứu trên (cần mã hồ sơ và số giấy tờ tùy thân đã "
              "khai).", "", "Trân trọng,", agency_name, "",
              "Đây là thư tự động, vui lòng không trả lời thư này."]
    return Letter(f"[{agency_name}] Đã nhận hồ sơ nộp trực tuyến {code}", "\n".join(lines) + "\n")
