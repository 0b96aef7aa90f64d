"""The reception desk's PDF forms, read back with poppler's pdftotext and zbar's zbarimg."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.bootstrap import Core
from engine.pdf import (
    FontMissing,
    RefusalData,
    SlipData,
    SupplementRequestData,
    default_font_dir,
    receipt_slip_pdf,
    refusal_pdf,
    supplement_request_pdf,
)
from engine.services import papers
from tests.conftest import MONDAY_9AM
from tests.engine.walk import receive

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.18.H47-260316-0042"
LOOKUP = f"https://motcua.example.vn/tra-cuu/{CODE}"
AGENCY = "Sở Tư pháp tỉnh Quảng Nam"
ADDRESS = "12 Trần Hưng Đạo, phường Hội An, tỉnh Quảng Nam"

SLIP = SlipData(
    agency_name=AGENCY, code=CODE,
    procedure_name="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
    applicant_name="Nguyễn Thị Hương", applicant_id_number="049190001234",
    applicant_phone="0905123456", applicant_email="huong@example.vn", applicant_address=ADDRESS,
    channel_title="Trực tiếp",
    documents=[("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", 1),
               ("Bản chụp giấy tờ chứng minh nơi cư trú", 2)],
    received_at=datetime(2026, 3, 16, 2, 0, tzinfo=UTC),
    appointment_at=datetime(2026, 3, 30, 9, 30, tzinfo=UTC),
    return_method_title="Bộ phận Một cửa", lookup_url=LOOKUP, officer_name="Trần Văn Đức",
    zone=HANOI, place="Quảng Nam")
SUPPLEMENT = SupplementRequestData(
    agency_name=AGENCY, code=CODE, procedure_name=SLIP.procedure_name,
    applicant_name="Nguyễn Thị Hương", applicant_id_number="049190001234",
    applicant_address=ADDRESS,
    items=["Bản chụp giấy tờ chứng minh nơi thường trú tại Đà Nẵng",
           "Tờ khai ghi thiếu họ tên cha, mẹ"],
    reason="Hồ sơ chưa đủ thành phần theo Điều 45 Luật Lý lịch tư pháp.",
    requested_at=datetime(2026, 3, 16, 17, 30, tzinfo=UTC), officer_name="Trần Văn Đức",
    zone=HANOI)
REFUSAL = RefusalData(
    agency_name=AGENCY, code="", procedure_name="Đăng ký hoạt động Văn phòng công chứng",
    applicant_name="Lê Quốc Bảo", applicant_id_number="", applicant_address=ADDRESS,
    reason="Yêu cầu không thuộc thẩm quyền giải quyết của Sở Tư pháp tỉnh Quảng Nam.",
    refused_at=datetime(2026, 2, 4, 23, 0, tzinfo=UTC), officer_name="Trần Văn Đức",
    zone=HANOI)


def _tools(*names: str, package: str) -> None:
    """Skip, saying what to install, unless the tools are there or CI requires them."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = (f"{', '.join(missing)} missing: run `sudo apt-get install {package}` "
               "(CI installs it)")
    if os.environ.get("MOTCUA_REQUIRE_PDFTOOLS"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pdf_text(tmp_path: Path) -> Callable[[bytes], str]:
    """Reads a PDF back with pdftotext; whitespace (line breaks included) collapsed."""
    _tools("pdftotext", package="poppler-utils")

    def read(pdf: bytes) -> str:
        path = tmp_path / "form.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                             capture_output=True, text=True).stdout
        return " ".join(out.split())

    return read


@pytest.fixture
def qr_codes(tmp_path: Path) -> Callable[[bytes], list[str]]:
    """Renders a PDF's first page with pdftoppm and decodes its QR codes with zbarimg."""
    _tools("pdftoppm", package="poppler-utils")
    _tools("zbarimg", package="zbar-tools")

    def decode(pdf: bytes) -> list[str]:
        (tmp_path / "form.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile",
                        str(tmp_path / "form.pdf"), str(tmp_path / "page")], check=True)
        out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                              str(tmp_path / "page.png")],
                             check=True, capture_output=True, text=True).stdout
        return out.splitlines()

    return decode


def test_slip_shows_title_applicant_code_and_channel(pdf_text: Callable[[bytes], str]) -> None:
    text = pdf_text(receipt_slip_pdf(SLIP))
    for expected in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "SỞ TƯ PHÁP TỈNH QUẢNG NAM", f"Mã hồ sơ: {CODE}",
                     "Tiếp nhận hồ sơ của: Nguyễn Thị Hương", "049190001234", "0905123456",
                     "huong@example.vn", ADDRESS, "Trực tiếp", SLIP.procedure_name,
                     "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Trần Văn Đức", LOOKUP):
        assert expected in text


def test_slip_shows_times_in_the_agency_zone(pdf_text: Callable[[bytes], str]) -> None:
    text = pdf_text(receipt_slip_pdf(SLIP))
    assert "Thời gian nhận hồ sơ: 09 giờ 00 phút, ngày 16 tháng 3 năm 2026" in text
    assert ("Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 30 phút, ngày 30 tháng 3 năm 2026"
            in text)
    assert "Quảng Nam, ngày 16 tháng 3 năm 2026" in text


def test_slip_lists_each_document_with_its_copies(pdf_text: Callable[[bytes], str]) -> None:
    text = pdf_text(receipt_slip_pdf(SLIP))
    assert "1 Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp 01 bản" in text
    assert "2 Bản chụp giấy tờ chứng minh nơi cư trú 02 bản" in text


def test_slip_qr_code_opens_the_lookup_address(qr_codes: Callable[[bytes], list[str]]) -> None:
    assert qr_codes(receipt_slip_pdf(SLIP)) == [LOOKUP]


def test_long_slip_flows_onto_a_second_page_with_the_signatures(
        pdf_text: Callable[[bytes], str]) -> None:
    documents = [(f"Giấy tờ số {n} kèm theo hồ sơ", 1) for n in range(1, 41)]
    text = pdf_text(receipt_slip_pdf(replace(SLIP, documents=documents)))
    assert "40 Giấy tờ số 40 kèm theo hồ sơ 01 bản" in text
    assert text.index("Giấy tờ số 40") < text.index("NGƯỜI TIẾP NHẬN HỒ SƠ")


def test_supplement_request_states_every_item_and_the_reason(
        pdf_text: Callable[[bytes], str]) -> None:
    text = pdf_text(supplement_request_pdf(SUPPLEMENT))
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert "Tiếp nhận hồ sơ của: Nguyễn Thị Hương" in text
    assert f"Mã hồ sơ: {CODE}" in text
    assert "1. Bản chụp giấy tờ chứng minh nơi thường trú tại Đà Nẵng" in text
    assert "2. Tờ khai ghi thiếu họ tên cha, mẹ" in text
    assert f"Lý do: {SUPPLEMENT.reason}" in text
    assert "NGƯỜI HƯỚNG DẪN" in text and "Trần Văn Đức" in text


def test_supplement_request_is_dated_on_the_local_day(pdf_text: Callable[[bytes], str]) -> None:
    # 17:30 UTC on the 16th is already 00:30 on the 17th in Vietnam.
    assert "Ngày 17 tháng 3 năm 2026" in pdf_text(supplement_request_pdf(SUPPLEMENT))


def test_refusal_shows_the_reason_without_a_code(pdf_text: Callable[[bytes], str]) -> None:
    text = pdf_text(refusal_pdf(REFUSAL))
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ" in text
    assert "Tiếp nhận hồ sơ của: Lê Quốc Bảo" in text
    assert REFUSAL.procedure_name in text
    assert REFUSAL.reason in text
    assert "Mã hồ sơ" not in text


def test_refusal_pads_early_days_and_months_with_a_zero(
        pdf_text: Callable[[bytes], str]) -> None:
    # 23:00 UTC on 4 February is 06:00 on 5 February in Vietnam.
    assert "Ngày 05 tháng 02 năm 2026" in pdf_text(refusal_pdf(REFUSAL))


def test_refusal_shows_the_code_when_there_is_one(pdf_text: Callable[[bytes], str]) -> None:
    assert f"Mã hồ sơ: {CODE}" in pdf_text(refusal_pdf(replace(REFUSAL, code=CODE)))


def test_missing_font_says_to_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="make setup"):
        refusal_pdf(REFUSAL, font_dir=tmp_path)


def test_font_directory_can_be_set_by_environment(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_FONT_DIR", str(tmp_path))
    assert default_font_dir() == tmp_path
    with pytest.raises(FontMissing, match=str(tmp_path)):
        receipt_slip_pdf(SLIP)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        refusal_pdf(replace(REFUSAL, refused_at=datetime(2026, 2, 5, 9, 0)))


def test_a_dossiers_slip_gives_the_statutory_time_not_the_agencys_commitment(
        core: Core, pdf_text: Callable[[bytes], str]) -> None:
    dossier = receive(core, MONDAY_9AM)  # statutory 10 days (15 with verification), committed 8
    text = pdf_text(papers.receipt_slip(core, dossier.code))
    assert ("Thời gian giải quyết hồ sơ theo quy định là: 10 ngày làm việc "
            "(15 ngày làm việc nếu phải xác minh)") in text
    assert "8 ngày làm việc" not in text
