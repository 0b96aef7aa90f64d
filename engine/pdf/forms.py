"""The reception desk's three forms (receipt slip, supplement request, refusal) as PDF bytes.

The wording and layout follow Mẫu số 01, 02 and 03 of Thông tư 01/2018/TT-VPCP (guiding
Nghị định 61/2018/NĐ-CP as amended by Nghị định 107/2021/NĐ-CP), as seen in provincial
one-stop systems that reproduce them; the circular's own appendix could not be read here.
Not confirmed: the exact line order and the left header's second line; the paper copies
("Liên 1: Lưu / Liên 2: Giao khách hàng") and the paper register line ("Vào Sổ theo dõi hồ sơ,
Quyển số… Số thứ tự…") are left out because the register is electronic. Thông tư
03/2025/TT-VPCP (guiding Nghị định 118/2025/NĐ-CP) replaced these forms on 15/9/2025 with the
same numbers and titles; its changes were not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF

from engine.pdf import layout


@dataclass(frozen=True, kw_only=True)
class FormHead:
    """What every form prints about the agency, the dossier, the applicant and the officer."""

    agency_name: str
    code: str
    procedure_name: str
    applicant_name: str
    applicant_id_number: str
    applicant_address: str
    officer_name: str
    zone: ZoneInfo
    place: str = ""


@dataclass(frozen=True, kw_only=True)
class SlipData(FormHead):
    """What the receipt and appointment slip (form 01) prints."""

    applicant_phone: str
    applicant_email: str
    channel_title: str
    documents: list[tuple[str, int]]
    received_at: datetime
    appointment_at: datetime
    return_method_title: str
    lookup_url: str
    processing_time_title: str = ""


@dataclass(frozen=True, kw_only=True)
class SupplementRequestData(FormHead):
    """What the supplement request (form 02) prints: everything missing, stated once."""

    items: list[str]
    reason: str
    requested_at: datetime


@dataclass(frozen=True, kw_only=True)
class RefusalData(FormHead):
    """What the refusal (form 03) prints; `code` is empty when the dossier never got one."""

    reason: str
    refused_at: datetime


def _dated(place: str, moment: datetime, zone: ZoneInfo) -> str:
    date = layout.long_date(moment, zone)
    return f"{place}, {date}" if place else date[0].upper() + date[1:]


def _applicant(pdf: FPDF, name: str, id_number: str, address: str) -> None:
    layout.field(pdf, "Tiếp nhận hồ sơ của", name)
    if id_number:
        layout.field(pdf, "Số định danh cá nhân/Mã số doanh nghiệp", id_number)
    layout.field(pdf, "Địa chỉ", address)


def receipt_slip_pdf(data: SlipData, font_dir: Path | None = None) -> bytes:
    """Form 01: the receipt and appointment slip handed to the applicant."""
    return layout.render(f"Giấy tiếp nhận hồ sơ {data.code}", font_dir,
                         lambda pdf: _write_slip(pdf, data))


def _write_slip(pdf: FPDF, data: SlipData) -> None:
    layout.header(pdf, data.agency_name, _dated(data.place, data.received_at, data.zone))
    layout.title(pdf, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {data.code}")
    _applicant(pdf, data.applicant_name, data.applicant_id_number, data.applicant_address)
    layout.field(pdf, "Số điện thoại", data.applicant_phone or "—")
    layout.field(pdf, "Thư điện tử", data.applicant_email or "—")
    layout.field(pdf, "Nội dung yêu cầu giải quyết", data.procedure_name)
    layout.field(pdf, "Hình thức nộp hồ sơ", data.channel_title)
    layout.paragraph(pdf, "1. Thành phần hồ sơ nộp gồm:")
    layout.documents_table(pdf, data.documents)
    items = [("Số lượng hồ sơ", "01 (bộ)")]
    if data.processing_time_title:
        items.append(("Thời gian giải quyết hồ sơ theo quy định là", data.processing_time_title))
    items += [("Thời gian nhận hồ sơ", layout.long_datetime(data.received_at, data.zone)),
              ("Thời gian trả kết quả giải quyết hồ sơ",
               layout.long_datetime(data.appointment_at, data.zone)),
              ("Đăng ký nhận kết quả tại", data.return_method_title)]
    for number, (label, value) in enumerate(items, start=2):
        layout.field(pdf, f"{number}. {label}", value)
    layout.qr_block(pdf, data.lookup_url,
                    f"Tra cứu tình trạng giải quyết hồ sơ: quét mã QR hoặc truy cập "
                    f"{data.lookup_url}")
    layout.signatures(pdf, [("NGƯỜI NỘP HỒ SƠ", data.applicant_name),
                            ("NGƯỜI TIẾP NHẬN HỒ SƠ", data.officer_name)])


def supplement_request_pdf(data: SupplementRequestData, font_dir: Path | None = None) -> bytes:
    """Form 02: everything the applicant must supply or correct, and why, stated once."""
    return layout.render(f"Phiếu yêu cầu bổ sung hồ sơ {data.code}", font_dir,
                         lambda pdf: _write_supplement_request(pdf, data))


def _write_supplement_request(pdf: FPDF, data: SupplementRequestData) -> None:
    layout.header(pdf, data.agency_name, _dated(data.place, data.requested_at, data.zone))
    layout.title(pdf, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ")
    _applicant(pdf, data.applicant_name, data.applicant_id_number, data.applicant_address)
    if data.code:
        layout.field(pdf, "Mã hồ sơ", data.code)
    layout.field(pdf, "Nội dung yêu cầu giải quyết", data.procedure_name)
    layout.paragraph(pdf, "Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:")
    for number, item in enumerate(data.items, start=1):
        layout.paragraph(pdf, f"{number}. {item}", indent=6)
    layout.field(pdf, "Lý do", data.reason)
    layout.paragraph(pdf, "Trong quá trình hoàn thiện hồ sơ nếu có vướng mắc, Ông/Bà liên hệ "
                          f"với Bộ phận Một cửa, {data.agency_name} để được hướng dẫn./.")
    layout.signatures(pdf, [("NGƯỜI HƯỚNG DẪN", data.officer_name)])


def refusal_pdf(data: RefusalData, font_dir: Path | None = None) -> bytes:
    """Form 03: the refusal to receive or resolve a dossier, with the reason."""
    return layout.render("Phiếu từ chối tiếp nhận, giải quyết hồ sơ", font_dir,
                         lambda pdf: _write_refusal(pdf, data))


def _write_refusal(pdf: FPDF, data: RefusalData) -> None:
    layout.header(pdf, data.agency_name, _dated(data.place, data.refused_at, data.zone))
    layout.title(pdf, "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ")
    _applicant(pdf, data.applicant_name, data.applicant_id_number, data.applicant_address)
    if data.code:
        layout.field(pdf, "Mã hồ sơ", data.code)
    layout.field(pdf, "Nội dung yêu cầu giải quyết", data.procedure_name)
    layout.paragraph(pdf, f"Qua xem xét, {data.agency_name} thông báo không tiếp nhận, giải "
                          "quyết hồ sơ này với lý do cụ thể như sau:")
    layout.paragraph(pdf, data.reason, indent=6, style="B")
    layout.paragraph(pdf, "Xin thông báo cho Ông/Bà được biết và thực hiện./.")
    layout.signatures(pdf, [("NGƯỜI TIẾP NHẬN HỒ SƠ", data.officer_name)])
