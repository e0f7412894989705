"""Exports: a period report as XLSX, CSV and PDF, and large lists of contributions in the worker.

The report layout is the one Vietnamese offices use: TT | Nội dung | ĐVT | Kế hoạch | Thực hiện |
% so KH | Cùng kỳ | Lũy kế | Ghi chú, the TOTAL row first, the unit stated. An approved report is
exported with its approved figures (the snapshot), whatever was corrected since.

Every text cell goes through `neutralise`: a cell that begins with =, +, -, @ (or a tab or a
carriage return) is prefixed with an apostrophe, so a spreadsheet never runs it as a formula.
Numbers are written as numbers in XLSX, and the Vietnamese way (1.000.000; 22,5) in CSV and PDF.
"""

import csv
import io
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from django.core.files import File
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programme.listing import FORMULA_PREFIXES, neutralise
from programme.models import Area, Contribution
from programme.scoping import contributions_for
from programme.templatetags.vn import format_number
from programme.xlsx_stream import XlsxStreamWriter
from reports import figures as fig
from reports import reviews
from reports.models import ExportJob, PeriodReport

logger = logging.getLogger(__name__)

HEADERS = (
    gettext_lazy("No."),  # TT
    gettext_lazy("Item"),  # Nội dung
    gettext_lazy("Unit"),  # ĐVT
    gettext_lazy("Plan"),  # Kế hoạch
    gettext_lazy("Achieved"),  # Thực hiện
    # xgettext:no-python-format
    gettext_lazy("% of plan"),  # % so KH
    gettext_lazy("Same period last year"),  # Cùng kỳ
    gettext_lazy("Cumulative"),  # Lũy kế
    gettext_lazy("Notes"),  # Ghi chú
)


# --- The report, shared by every format ---------------------------------------------------------


@dataclass
class ReportDocument:
    report: PeriodReport
    title: str
    period: str
    scope: str
    status_line: str
    rows: list[fig.Row]
    generated_at: datetime


def report_filename_stem(report: PeriodReport) -> str:
    """report-quarter-1-2025-agency-7: plain ASCII, safe in a Content-Disposition header."""
    who = {
        PeriodReport.Scope.PROGRAMME: "programme",
        PeriodReport.Scope.COMMUNE: f"commune-{report.commune_id}",
        PeriodReport.Scope.AGENCY: f"agency-{report.agency_id}",
    }[report.scope]
    return slugify(f"report-{report.kind}-{report.number}-{report.year}-{who}")


def report_document(report: PeriodReport) -> ReportDocument:
    """The report as it is exported: the approved figures once approved, the current ones before."""
    figures, _current = reviews.report_figures_shown(report)
    if report.status == PeriodReport.Status.APPROVED:
        status_line = _("Approved by %(who)s on %(when)s") % {
            "who": _person(report.decided_by),
            "when": timezone.localtime(report.decided_at).strftime("%d/%m/%Y"),
        }
    elif report.status == PeriodReport.Status.SUBMITTED:
        status_line = _("Submitted by %(who)s on %(when)s, not approved yet") % {
            "who": _person(report.submitted_by),
            "when": timezone.localtime(report.submitted_at).strftime("%d/%m/%Y"),
        }
    else:
        status_line = _("%(status)s: not approved, the figures may still change") % {
            "status": report.get_status_display().capitalize()
        }
    period = fig.period_label(report.kind, report.year, report.number)
    return ReportDocument(
        report=report,
        title=_("Report on the support to the special communes"),
        period=period,
        scope=fig.scope_label(report),
        status_line=status_line,
        rows=fig.table_rows(figures),
        generated_at=timezone.localtime(),
    )


def _person(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


def _text(value) -> str:
    return neutralise(str(value)) if value else ""


def _vn(value, decimals: int = 0) -> str:
    return "" if value is None else format_number(value, decimals)


def _row_cells(row: fig.Row) -> list:
    """The nine cells of a line, numbers kept as numbers (None for an empty cell)."""
    line = row.line
    return [
        line.number,
        capfirst(str(line.label)),
        row.unit,
        row.plan,
        row.actual,
        row.percent,
        row.same_period,
        row.cumulative,
        str(line.note) if line.note else "",
    ]


def report_xlsx(report: PeriodReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    doc = report_document(report)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Report")[:31]
    bold = Font(bold=True, name="Times New Roman", size=12)
    normal = Font(name="Times New Roman", size=12)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    width = len(HEADERS)
    last_column = get_column_letter(width)

    def heading_line(row_number: int, text: str, font: Font) -> None:
        sheet.cell(row=row_number, column=1, value=_text(text)).font = font
        sheet.merge_cells(f"A{row_number}:{last_column}{row_number}")
        sheet.cell(row=row_number, column=1).alignment = centre

    heading_line(1, doc.title.upper(), Font(bold=True, name="Times New Roman", size=14))
    heading_line(2, f"{doc.period} · {doc.scope}", bold)
    heading_line(3, doc.status_line, Font(italic=True, name="Times New Roman", size=12))
    unit = sheet.cell(row=4, column=width, value=_("Unit of money: đồng"))
    unit.font = Font(italic=True, name="Times New Roman", size=11)
    unit.alignment = Alignment(horizontal="right")

    header_row = 5
    for column, header in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=header_row, column=column, value=str(header))
        cell.font = bold
        cell.alignment = centre
        cell.border = border
    for offset, row in enumerate(doc.rows, start=1):
        number = header_row + offset
        strong = row.line.total or row.line.heading
        for column, value in enumerate(_row_cells(row), start=1):
            if isinstance(value, str):
                value = _text(value)
            elif value is not None and column == 6:
                value = float(value)
            cell = sheet.cell(row=number, column=column, value=value)
            cell.font = bold if strong else normal
            cell.border = border
            if column in (1, 3):
                cell.alignment = Alignment(horizontal="center", vertical="top")
            elif column in (2, 9):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column in (4, 5, 7, 8):
                cell.number_format = "#,##0"
            elif column == 6:
                cell.number_format = "#,##0.0"
    for column, size in enumerate((6, 48, 9, 18, 18, 10, 18, 20, 24), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = size
    sheet.freeze_panes = f"A{header_row + 1}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_csv(report: PeriodReport) -> bytes:
    """The table only (one header row), UTF-8 with a BOM so that Excel reads the diacritics."""
    doc = report_document(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(header) for header in HEADERS])
    for row in doc.rows:
        cells = _row_cells(row)
        writer.writerow(
            [
                _text(cells[0]),
                _text(cells[1]),
                _text(cells[2]),
                _vn(cells[3]),
                _vn(cells[4]),
                _vn(cells[5], 1),
                _vn(cells[6]),
                _vn(cells[7]),
                _text(cells[8]),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_pdf(report: PeriodReport) -> bytes:
    """A4 landscape, ready to print (WeasyPrint)."""
    from weasyprint import HTML

    doc = report_document(report)
    html = render_to_string("reports/report_pdf.html", {"doc": doc, "headers": HEADERS})
    return HTML(string=html).write_pdf()


# --- Large exports of contributions, in the worker ----------------------------------------------

CONTRIBUTION_COLUMNS = (
    (gettext_lazy("Date"), "date"),
    (gettext_lazy("District or province"), "commune__parent__name"),
    (gettext_lazy("Commune"), "commune__name"),
    (gettext_lazy("Agency"), "agency__name"),
    (gettext_lazy("Enterprise"), "enterprise__name"),
    (gettext_lazy("Area"), "area"),
    (gettext_lazy("Category"), "category__name_vi"),
    (gettext_lazy("Form"), "form"),
    (gettext_lazy("Value (đồng)"), "value"),
    (gettext_lazy("Workdays"), "workdays"),
    (gettext_lazy("Quantity"), "quantity"),
    (gettext_lazy("Unit"), "unit"),
    (gettext_lazy("Beneficiaries"), "beneficiaries"),
    (gettext_lazy("Status"), "status"),
    (gettext_lazy("Confirmed by the commune"), "confirmed_at"),
    (gettext_lazy("Description"), "description"),
)
FORMATS = ("csv", "xlsx")
# programme.listing.neutralise, inlined for the millions of cells of a large export.
FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
PROGRESS_EVERY = 5000
XLSX_SHEET_ROWS = 1_000_000  # a sheet holds 1.048.576 rows: start another before that


def contributions_filtered(user, params: dict):
    """The contributions a user may see, narrowed by the list's filters (as on the list page)."""
    from django.http import QueryDict

    from programme.filters import ContributionFilter

    data = QueryDict(mutable=True)
    for key, value in (params or {}).items():
        if isinstance(value, list):
            data.setlist(key, [str(v) for v in value])
        elif value not in (None, ""):
            data[key] = str(value)
    filterset = ContributionFilter(
        data=data, queryset=contributions_for(user), request=SimpleNamespace(user=user)
    )
    return filterset


def _contribution_lines(queryset) -> Iterator[list]:
    # Translated once: a lazy label costs a gettext call on every row.
    areas = {code: str(label) for code, label in Area.choices}
    forms = {code: str(label) for code, label in Contribution.Form.choices}
    statuses = {code: str(label) for code, label in Contribution.Status.choices}
    fields = [name for _label, name in CONTRIBUTION_COLUMNS]
    at = {name: index for index, name in enumerate(fields)}
    area, form, status, confirmed = at["area"], at["form"], at["status"], at["confirmed_at"]
    rows = queryset.order_by("date", "pk").values_list(*fields)
    for values in rows.iterator(chunk_size=2000):
        line = list(values)
        line[area] = areas.get(line[area], line[area])
        line[form] = forms.get(line[form], line[form])
        line[status] = statuses.get(line[status], line[status])
        if line[confirmed]:
            line[confirmed] = timezone.localtime(line[confirmed]).strftime("%d/%m/%Y %H:%M")
        yield line


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


class _Progress:
    """Writes the count and percentage to the job now and then (the page polls it)."""

    def __init__(self, job_id: int, total: int):
        self.job_id = job_id
        self.total = max(total, 1)
        self.rows = 0

    def tick(self) -> None:
        self.rows += 1
        if self.rows % PROGRESS_EVERY == 0:
            self.save()

    def save(self) -> None:
        percent = min(99, self.rows * 100 // self.total)
        ExportJob.objects.filter(pk=self.job_id, status=ExportJob.Status.RUNNING).update(
            progress=percent, rows=self.rows, heartbeat_at=timezone.now()
        )


def _write_csv(handle, lines: Iterable[list], progress: _Progress) -> None:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow([str(label) for label, _name in CONTRIBUTION_COLUMNS])
    for line in lines:
        writer.writerow([_csv_cell(value) for value in line])
        progress.tick()
    text.flush()
    text.detach()


def _write_xlsx(handle, lines: Iterable[list], progress: _Progress) -> None:
    """One sheet per XLSX_SHEET_ROWS rows, each with the bold, frozen header; text neutralised
    by the writer. Streamed: openpyxl's write-only mode took 135 s for a million rows."""
    headers = [str(label) for label, _name in CONTRIBUTION_COLUMNS]
    with XlsxStreamWriter(handle) as book:
        sheets = 0
        for line in lines:
            if not sheets or book.rows_in_sheet > XLSX_SHEET_ROWS:
                sheets += 1
                book.add_sheet(_("Contributions %(n)s") % {"n": sheets}, headers)
            book.write_row(line)
            progress.tick()
        if not sheets:
            book.add_sheet(_("Contributions %(n)s") % {"n": 1}, headers)


def contributions_export_start(*, user, params: dict, file_format: str) -> ExportJob:
    """Queue an export of the filtered contributions; the worker is woken once committed."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    if file_format not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or XLSX.")})
    filterset = contributions_filtered(user, params)
    if not filterset.is_valid():
        raise ValidationError(_("Correct the filters first."))
    job = ExportJob(
        user=user, kind="contributions", params={"filters": params, "format": file_format}
    )
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from celery import current_app

    try:
        current_app.send_task("reports.export_contributions", args=[job_id], retry=False)
    except Exception:  # noqa: BLE001 (the broker being down is told to the user, not raised)
        logger.warning("could not queue export %s", job_id, exc_info=True)
        ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.FAILED,
            error=_("The export could not be started: the worker is not reachable. Try later."),
            finished_at=timezone.now(),
        )


def contributions_export_run(job_id: int) -> int | None:
    """Make the file of a queued export. Claims the job first: a second run does nothing."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, progress=0, heartbeat_at=timezone.now()
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    try:
        rows = _export_contributions(job)
    except Exception as error:
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED,
            error=str(error)[:2000] or error.__class__.__name__,
            finished_at=timezone.now(),
        )
        raise
    return rows


def exports_fail_stale(*, user=None) -> int:
    """Mark failed the running exports whose worker stopped (killed, out of memory, restarted).

    Such a job never finishes by itself: a redelivered task finds it claimed and does nothing.
    A running job is stale when its worker gave no sign of life for EXPORT_STALE_SECONDS
    (progress is written every few thousand rows). Returns how many jobs were marked.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Q

    limit = timezone.now() - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    stale = ExportJob.objects.filter(status=ExportJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, created_at__lt=limit)
    )
    if user is not None:
        stale = stale.filter(user=user)
    marked = stale.update(
        status=ExportJob.Status.FAILED,
        error=_("The worker making this export stopped before the end. Start the export again."),
        finished_at=timezone.now(),
    )
    if marked:
        logger.warning("%d export(s) marked failed: their worker stopped", marked)
    return marked


def _export_contributions(job: ExportJob) -> int:
    file_format = job.params.get("format", "csv")
    filterset = contributions_filtered(job.user, job.params.get("filters") or {})
    queryset = filterset.qs.select_related(None)
    progress = _Progress(job.pk, queryset.count())
    lines = _contribution_lines(queryset)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"export.{file_format}")
        with open(path, "w+b") as handle:
            if file_format == "xlsx":
                _write_xlsx(handle, lines, progress)
            else:
                _write_csv(handle, lines, progress)
            handle.seek(0)
            name = f"contributions-{timezone.localtime():%Y%m%d-%H%M}-{job.pk}.{file_format}"
            job.file.save(name, File(handle), save=False)
    ExportJob.objects.filter(pk=job.pk).update(
        file=job.file.name,
        status=ExportJob.Status.DONE,
        progress=100,
        rows=progress.rows,
        finished_at=timezone.now(),
    )
    return progress.rows
