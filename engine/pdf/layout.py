"""Page furniture of the reception desk's forms: fonts, national header, title, fields, QR code."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

# DejaVu Serif Condensed: full Vietnamese coverage, and nearly as narrow as Times New Roman,
# the face official documents are set in.
FAMILY = "DejaVuSerifCondensed"
FONT_FILES = {"": "DejaVuSerifCondensed.ttf", "B": "DejaVuSerifCondensed-Bold.ttf",
              "I": "DejaVuSerifCondensed-Italic.ttf", "BI": "DejaVuSerifCondensed-BoldItalic.ttf"}
SIZE = 12
LINE = 6.5
LEFT_COLUMN = 72
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


class FontMissing(RuntimeError):
    """The Vietnamese TrueType font is not where the forms look for it."""


def default_font_dir() -> Path:
    """MOTCUA_FONT_DIR, else web/static/vendor/fonts under the project root (from `make setup`)."""
    if configured := os.environ.get("MOTCUA_FONT_DIR"):
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "fonts"


def new_document(title: str, font_dir: Path | None = None) -> FPDF:
    """An A4 portrait page with the Vietnamese font and official margins (Decree 30/2020)."""
    directory = font_dir or default_font_dir()
    missing = [name for name in FONT_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise FontMissing(f"The PDF forms need the DejaVu Serif Condensed fonts "
                          f"({', '.join(missing)}) in {directory}: run `make setup`, or set "
                          f"MOTCUA_FONT_DIR to a folder holding them.")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    for style, name in FONT_FILES.items():
        pdf.add_font(FAMILY, style, directory / name)
    pdf.set_margins(left=30, top=20, right=15)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(title)
    pdf.set_lang("vi")
    pdf.add_page()
    pdf.set_font(FAMILY, "", SIZE)
    return pdf


def render(title: str, font_dir: Path | None, write: Callable[[FPDF], None]) -> bytes:
    """A document written by `write`; the font files it opened are closed, even on error."""
    pdf = new_document(title, font_dir)
    try:
        write(pdf)
        return bytes(pdf.output())
    finally:
        for font in pdf.fonts.values():
            close = getattr(font, "close", None)
            if close is not None:
                close()


# Dates follow Decree 30/2020/NĐ-CP on official documents ("ngày 05 tháng 02 năm 2026").
def long_date(moment: datetime, zone: ZoneInfo) -> str:
    """'ngày 05 tháng 3 năm 2026' in the zone; a zero before days < 10 and months 1-2."""
    if moment.tzinfo is None:
        raise ValueError("form times must be timezone-aware")
    day = moment.astimezone(zone)
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def long_datetime(moment: datetime, zone: ZoneInfo) -> str:
    """'09 giờ 00 phút, ngày 16 tháng 3 năm 2026', in the zone, as form 01 writes times."""
    date = long_date(moment, zone)
    time = moment.astimezone(zone)
    return f"{time.hour:02d} giờ {time.minute:02d} phút, {date}"


def _centred(pdf: FPDF, x: float, width: float, text: str, style: str, size: float) -> None:
    pdf.set_xy(x, pdf.get_y())
    pdf.set_font(FAMILY, style, size)
    pdf.multi_cell(width, LINE - 1, text, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)


def _rule_under(pdf: FPDF, centre: float, length: float) -> None:
    y = pdf.get_y() + 0.8
    pdf.set_line_width(0.3)
    pdf.line(centre - length / 2, y, centre + length / 2, y)
    pdf.set_y(y + 2)


def header(pdf: FPDF, agency_name: str, dated: str) -> None:
    """The agency (left) and the national title with the motto and the place and date (right)."""
    top, left = pdf.get_y(), pdf.l_margin
    right_x, right_w = left + LEFT_COLUMN, pdf.epw - LEFT_COLUMN
    _centred(pdf, left, LEFT_COLUMN, agency_name.upper(), "", SIZE - 1)
    _centred(pdf, left, LEFT_COLUMN, "BỘ PHẬN MỘT CỬA", "B", SIZE - 1)
    _rule_under(pdf, left + LEFT_COLUMN / 2, 26)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _centred(pdf, right_x, right_w, NATION, "B", SIZE - 1)
    _centred(pdf, right_x, right_w, MOTTO, "B", SIZE)
    _rule_under(pdf, right_x + right_w / 2, pdf.get_string_width(MOTTO))
    _centred(pdf, right_x, right_w, dated, "I", SIZE)
    pdf.set_xy(left, max(left_bottom, pdf.get_y()) + 6)
    pdf.set_font(FAMILY, "", SIZE)


def title(pdf: FPDF, text: str, subtitle: str = "") -> None:
    """The form's name in bold capitals, centred, with an optional line under it."""
    _centred(pdf, pdf.l_margin, pdf.epw, text, "B", SIZE + 2)
    if subtitle:
        _centred(pdf, pdf.l_margin, pdf.epw, subtitle, "B", SIZE)
    pdf.set_xy(pdf.l_margin, pdf.get_y() + 4)
    pdf.set_font(FAMILY, "", SIZE)


def field(pdf: FPDF, label: str, value: str) -> None:
    """One 'Label: value' line, the value in bold, wrapping under the label."""
    pdf.set_x(pdf.l_margin)
    pdf.write(LINE, f"{label}: ")
    pdf.set_font(FAMILY, "B", SIZE)
    pdf.write(LINE, value)
    pdf.set_font(FAMILY, "", SIZE)
    pdf.ln(LINE)


def paragraph(pdf: FPDF, text: str, indent: float = 0, style: str = "") -> None:
    """A justified paragraph, optionally indented."""
    pdf.set_font(FAMILY, style, SIZE)
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(pdf.epw - indent, LINE, text, align="J", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", SIZE)


def documents_table(pdf: FPDF, rows: Sequence[tuple[str, int]]) -> None:
    """The documents received: number, name, number of copies."""
    pdf.set_font(FAMILY, "", SIZE - 1)
    with pdf.table(col_widths=(12, 125, 28), text_align=("CENTER", "LEFT", "CENTER"),
                   align="LEFT", line_height=LINE - 0.5, padding=1) as table:
        table.row(("TT", "Tên giấy tờ", "Số lượng"))
        for number, (name, copies) in enumerate(rows, start=1):
            table.row((str(number), name, f"{copies:02d} bản"))
    pdf.set_font(FAMILY, "", SIZE)
    pdf.ln(2)


def qr_block(pdf: FPDF, url: str, caption: str, size: float = 28) -> None:
    """A QR code of the URL on the left with its caption beside it."""
    if pdf.will_page_break(size + 2):
        pdf.add_page()
    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=10, border=2)
    top = pdf.get_y() + 1
    pdf.image(png, x=pdf.l_margin, y=top, w=size, h=size, alt_text=url)
    pdf.set_xy(pdf.l_margin + size + 4, top + 4)
    pdf.set_font(FAMILY, "I", SIZE - 1)
    pdf.multi_cell(pdf.epw - size - 4, LINE - 1, caption, align="L", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + size) + 2)
    pdf.set_font(FAMILY, "", SIZE)


def signatures(pdf: FPDF, blocks: Sequence[tuple[str, str]]) -> None:
    """Signature blocks (role, printed name) side by side; a single block sits on the right."""
    height = 4 * LINE + 22
    if pdf.will_page_break(height):
        pdf.add_page()
    width = pdf.epw / 2
    top = pdf.get_y() + 4
    first = 0 if len(blocks) > 1 else 1
    for column, (role, name) in enumerate(blocks, start=first):
        x = pdf.l_margin + column * width
        pdf.set_y(top)
        _centred(pdf, x, width, role, "B", SIZE)
        _centred(pdf, x, width, "(Ký và ghi rõ họ tên)", "I", SIZE - 1)
        pdf.set_y(pdf.get_y() + 22)
        _centred(pdf, x, width, name, "B", SIZE)
    pdf.set_font(FAMILY, "", SIZE)
