"""The report's columns, as the page, the CSV and the XLSX file show them."""

from __future__ import annotations

import csv
import io

from flask_babel import format_date, gettext, lazy_gettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from workflows.report import Grouping, Report, ReportRow, total

# The form's column groups, each with its columns (a ReportRow attribute and a title).
GROUPS = (
    (lazy_gettext("Dossiers received"), (
        ("received", lazy_gettext("Total")),
        ("online", lazy_gettext("Online")),
        ("in_person_post", lazy_gettext("In person or by post")),
        ("carried_over", lazy_gettext("Carried over from the previous period")))),
    (lazy_gettext("Dossiers resolved"), (
        ("resolved", lazy_gettext("Total")),
        ("early", lazy_gettext("Early")),
        ("on_time", lazy_gettext("On time")),
        ("late", lazy_gettext("Late")))),
    (lazy_gettext("Dossiers in progress"), (
        ("in_progress", lazy_gettext("Total")),
        ("within_deadline", lazy_gettext("Within deadline")),
        ("overdue", lazy_gettext("Overdue")))),
    (lazy_gettext("Rate (%)"), (
        ("early_pct", lazy_gettext("Early")),
        ("on_time_pct", lazy_gettext("On time")),
        ("late_pct", lazy_gettext("Late")),
        ("early_or_on_time_pct", lazy_gettext("Early or on time")))),
)
KEYS = tuple(key for _, columns in GROUPS for key, _ in columns)


def row_title(report: Report) -> str:
    """The heading of the rows' column: field or procedure."""
    return gettext("Field") if report.by == Grouping.FIELD else gettext("Procedure")


def flat_headers(report: Report) -> list[str]:
    """One header per column, each naming its group, for files with a single header row."""
    return [row_title(report)] + [f"{group} – {title}" for group, columns in GROUPS
                                  for _, title in columns]


def values(row: ReportRow) -> list[int | float]:
    """The row's numbers in the columns' order."""
    return [getattr(row, key) for key in KEYS]


def rows_with_total(report: Report) -> list[ReportRow]:
    """The report's rows followed by the total row."""
    return [*report.rows, total(report.rows, label=gettext("Grand total"))]


def title(report: Report) -> str:
    """The report's title with its period."""
    return gettext("Results of administrative procedures (Form II.06a), %(first)s – %(last)s",
                   first=format_date(report.first, "dd/MM/yyyy"),
                   last=format_date(report.last, "dd/MM/yyyy"))


def to_csv(report: Report) -> str:
    """The report as CSV (UTF-8 with a byte order mark, so that Excel reads the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(flat_headers(report))
    for row in rows_with_total(report):
        writer.writerow([row.label, *values(row)])
    return "\ufeff" + buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    """The report as an Excel workbook: a title, the form's two header rows, the rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has a sheet
    sheet.title = "II.06a"
    sheet.append([title(report)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append([row_title(report)])
    sheet.append([None])
    sheet.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    column = 2
    for group, columns in GROUPS:
        sheet.cell(row=3, column=column, value=str(group))
        sheet.merge_cells(start_row=3, start_column=column, end_row=3,
                          end_column=column + len(columns) - 1)
        for offset, (_, heading) in enumerate(columns):
            sheet.cell(row=4, column=column + offset, value=str(heading))
        column += len(columns)
    for cells in sheet.iter_rows(min_row=3, max_row=4):
        for cell in cells:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows_with_total(report):
        sheet.append([row.label, *values(row)])
    for cells in sheet.iter_rows(min_row=5, min_col=2 + len(KEYS) - 4, max_col=1 + len(KEYS)):
        for cell in cells:
            cell.number_format = "0.00"
    sheet.column_dimensions["A"].width = 40
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
