"""The statistics report (Biểu II.06a): a page with a chart, CSV and XLSX files, and JSON."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import Forbidden, InvalidInput, ServiceError, Unauthenticated
from engine.services import reports
from web import current_core, lang, now, translate
from web.api import error_body, token_required
from web.auth import role_required
from web.report_files import GROUPS, rows_with_total, title, to_csv, to_xlsx
from web.views import OUTCOME_LABELS
from workflows.report import Report, ReportRow

bp = Blueprint("reports", __name__, url_prefix="/reports")
api_bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")
ROLES = ("supervisor", "head", "leader")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STATUS = {InvalidInput: 422, Unauthenticated: 401, Forbidden: 403}


def _query() -> dict[str, str]:
    """The period asked for; the current month up to today when the page opens bare."""
    args = request.args
    if "from" not in args and "to" not in args:
        zone = ZoneInfo(current_core().settings.hours.timezone)
        today = now().astimezone(zone).date()
        return {"from": today.replace(day=1).isoformat(), "to": today.isoformat(),
                "by": args.get("by", "field")}
    return {"from": args.get("from", ""), "to": args.get("to", ""),
            "by": args.get("by", "field")}


def _summary(query: dict[str, str]) -> Report:
    return reports.summary(current_core(), first=query["from"], last=query["to"],
                           by=query["by"], lang=lang(), now=now())


def _chart(report: Report) -> dict[str, Any]:
    """Labels and the early, on time and late series of the stacked bar chart."""
    return {"labels": [row.label for row in report.rows],
            "datasets": [{"label": str(OUTCOME_LABELS[key]),
                          "data": [getattr(row, key) for row in report.rows]}
                         for key in ("early", "on_time", "late")]}


@bp.get("/")
@role_required(*ROLES)
def index() -> ResponseReturnValue:
    """The report for a period, by field or procedure, as a table and a chart."""
    query = _query()
    try:
        report = _summary(query)
    except InvalidInput as exc:
        return render_template("reports/index.html", query=query, report=None,
                               error=translate(exc), errors=exc.fields), 422
    return render_template("reports/index.html", query=query, report=report, error=None,
                           errors={}, groups=GROUPS, rows=rows_with_total(report),
                           title=title(report), chart=_chart(report))


def _download(body: str | bytes, mimetype: str, report: Report, extension: str) -> Response:
    name = f"bieu-II.06a-{report.first}-{report.last}-{report.by}.{extension}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _refusal(exc: InvalidInput) -> Response:
    lines = [translate(exc), *(f"{name}: {message}" for name, message in exc.fields.items())]
    return Response("\n".join(lines), status=422, mimetype="text/plain")


@bp.get("/summary.csv")
@role_required(*ROLES)
def summary_csv() -> ResponseReturnValue:
    """The report as a CSV file."""
    try:
        report = _summary(_query())
    except InvalidInput as exc:
        return _refusal(exc)
    return _download(to_csv(report), "text/csv", report, "csv")


@bp.get("/summary.xlsx")
@role_required(*ROLES)
def summary_xlsx() -> ResponseReturnValue:
    """The report as an Excel workbook."""
    try:
        report = _summary(_query())
    except InvalidInput as exc:
        return _refusal(exc)
    return _download(to_xlsx(report), XLSX, report, "xlsx")


@api_bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    return error_body(status, exc.code, translate(exc), getattr(exc, "fields", None))


def _row_json(row: ReportRow) -> dict[str, Any]:
    return {"key": row.key, "label": row.label, **row.counts(), **row.percentages()}


@api_bp.get("/summary")
@token_required(*ROLES)
def summary() -> ResponseReturnValue:
    """The report for ?from=YYYY-MM-DD&to=YYYY-MM-DD&by=field|procedure as JSON."""
    args = request.args
    report = reports.summary(current_core(), first=args.get("from"), last=args.get("to"),
                             by=args.get("by"), lang=lang(), now=now())
    *rows, total = rows_with_total(report)
    return jsonify({"from": report.first.isoformat(), "to": report.last.isoformat(),
                    "by": report.by.value, "rows": [_row_json(row) for row in rows],
                    "total": _row_json(total)})
