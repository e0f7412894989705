"""Exports: a period report as XLSX, CSV and PDF (approved figures once approved), and the large
export of contributions made by the worker, with progress and a download."""

import csv
import datetime
import io
import re
import zlib
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from python_calamine import CalamineWorkbook

from programme.models import Contribution
from reports import exports
from reports.models import ExportJob
from reports.rollups import outbox_drain
from reports.tasks_exports import export_contributions
from tests.reports.test_reviews import approved, draft
from tests.reports.test_reviews import world as world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

XLSX_HEADER_ROW = 5


def pdf_text(data: bytes) -> str:
    """The text of a PDF made by WeasyPrint: enough to check which figures are printed.

    Reads the objects (also those inside object streams), maps each font's glyph codes to
    characters through its ToUnicode map, and decodes the text operators of the content streams.
    """
    objects: dict[int, bytes] = {}
    streams: dict[int, bytes] = {}
    for match in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S):
        number, body = int(match.group(1)), match.group(2)
        head, is_stream, rest = body.partition(b"stream")
        objects[number] = head
        if not is_stream:
            continue
        raw = re.sub(rb"^\r?\n", b"", rest).rsplit(b"endstream", 1)[0]
        if b"/FlateDecode" in head:
            raw = zlib.decompressobj().decompress(raw)
        streams[number] = raw
        if b"/ObjStm" in head:
            first = int(re.search(rb"/First\s+(\d+)", head).group(1))
            numbers = [int(n) for n in raw[:first].split()]
            pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
            for i, (inner, offset) in enumerate(pairs):
                end = pairs[i + 1][1] if i + 1 < len(pairs) else len(raw) - first
                objects[inner] = raw[first + offset : first + end]

    def unicode_map(number: int) -> dict[int, str]:
        table = {}
        text = streams.get(number, b"").decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                table[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
        for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
            for low, high, dst in re.findall(
                r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
            ):
                start = int(dst, 16)
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    table[code] = chr(start + offset)
        return table

    fonts: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/([^\s/<>\[\]()]+)\s+(\d+) 0 R", body):
            font = objects.get(int(ref), b"")
            to_unicode = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
            if b"/Font" in font and to_unicode:
                fonts[name] = unicode_map(int(to_unicode.group(1)))
    pieces = []
    operators = rb"/([^\s/]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj"
    for content in streams.values():
        if b"BT" not in content or b"Tf" not in content:
            continue
        glyphs: dict[int, str] = {}
        for token in re.finditer(operators, content, re.S):
            if token.group(1):
                glyphs = fonts.get(token.group(1), {})
                continue
            hexes = re.findall(rb"<([0-9a-fA-F]*)>", token.group(2) or b"") or [token.group(3)]
            for chunk in hexes:
                code = chunk.decode()
                pieces.append(
                    "".join(
                        glyphs.get(int(code[i : i + 4], 16), "?") for i in range(0, len(code), 4)
                    )
                )
            pieces.append(" ")
    return "".join(pieces)


def xlsx_rows(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return list(sheet.iter_rows(values_only=True))


def xlsx_figures(data: bytes) -> dict[str, tuple]:
    """{row label: the row} of the figure table."""
    rows = xlsx_rows(data)
    return {row[1]: row for row in rows[XLSX_HEADER_ROW:] if row[1]}


# --- XLSX ---------------------------------------------------------------------------------------


def test_the_xlsx_has_the_office_layout_with_the_total_first(world):
    with translation.override("en"):
        rows = xlsx_rows(exports.report_xlsx(draft()))
    assert rows[XLSX_HEADER_ROW - 1] == (
        "No.",
        "Item",
        "Unit",
        "Plan",
        "Achieved",
        "% of plan",
        "Same period last year",
        "Cumulative",
        "Notes",
    )
    total = rows[XLSX_HEADER_ROW]
    assert total[:8] == (
        None,
        "TOTAL VALUE OF SUPPORT",
        "đồng",
        20_000_000,
        22_000_000,
        110.0,
        4_000_000,
        27_000_000,
    )
    assert any("đồng" in str(cell) for cell in rows[3] if cell)  # the unit is stated above


def test_the_xlsx_is_set_up_for_a4(world):
    book = openpyxl.load_workbook(io.BytesIO(exports.report_xlsx(draft())))
    sheet = book.active
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.page_setup.orientation == "landscape"


def test_no_xlsx_cell_starts_like_a_formula(world):
    world.agency_a.name = '=HYPERLINK("http://x")'
    world.agency_a.save()
    rows = xlsx_rows(exports.report_xlsx(draft("agency", agency=world.agency_a)))
    assert any('=HYPERLINK("http://x")' in str(cell) for row in rows for cell in row)
    assert not any(
        isinstance(cell, str) and cell.startswith(("=", "+", "-", "@"))
        for row in rows
        for cell in row
    )


def test_an_approved_report_exports_its_approved_figures(world):
    report = approved(world, scope="agency", agency=world.agency_a)
    from programme.services import contribution_update

    contribution_update(
        user=world.staff,
        contribution=world.contribution,
        expected_version=world.contribution.version,
        value=12_000_000,
    )
    outbox_drain()
    with translation.override("en"):
        figures = xlsx_figures(exports.report_xlsx(report))
    assert figures["TOTAL VALUE OF SUPPORT"][4] == 10_000_000


# --- CSV ----------------------------------------------------------------------------------------


def test_the_csv_writes_numbers_the_vietnamese_way(world):
    with translation.override("en"):
        data = exports.report_csv(draft())
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["No.", "Item", "Unit"]
    assert rows[1][1:6] == ["TOTAL VALUE OF SUPPORT", "đồng", "20.000.000", "22.000.000", "110"]
    done = next(row for row in rows if row[1] == "Plan items done")
    assert done[5] == "50"


def test_the_csv_neutralises_formulas(world):
    world.agency_a.name = "@SUM(A1)"
    world.agency_a.save()
    report = draft("agency", agency=world.agency_a)
    # The agency name is not a cell of the table; a note or label never starts with =+-@.
    rows = list(csv.reader(io.StringIO(exports.report_csv(report).decode("utf-8-sig"))))
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- PDF ----------------------------------------------------------------------------------------


def test_the_pdf_prints_the_figures(world):
    data = exports.report_pdf(draft())
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "22.000.000" in text
    assert "27.000.000" in text


def test_the_pdf_of_an_approved_report_names_who_approved(world):
    world.staff.first_name = "Lan"
    world.staff.last_name = "Nguyễn"
    world.staff.save()
    report = approved(world)
    text = pdf_text(exports.report_pdf(report))
    assert "Lan Nguyễn" in text


# --- Download pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("csv", "text/csv; charset=utf-8"),
        ("pdf", "application/pdf"),
    ],
)
def test_a_reader_downloads_a_report(client, world, file_format, content_type):
    report = draft("commune", commune=world.commune1)
    client.force_login(world.officer1)
    response = client.get(reverse("reports:report_export", args=[report.pk, file_format]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert f'.{file_format}"' in response["Content-Disposition"]


def test_an_outsider_cannot_download_a_report(client, world):
    report = draft("commune", commune=world.commune1)
    client.force_login(world.liaison_b)
    response = client.get(reverse("reports:report_export", args=[report.pk, "xlsx"]))
    assert response.status_code == 404


def test_an_unknown_format_is_404(client, world):
    report = draft()
    client.force_login(world.staff)
    assert client.get(reverse("reports:report_export", args=[report.pk, "doc"])).status_code == 404


# --- Large exports of contributions -------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _job(user, params=None, file_format="csv") -> ExportJob:
    return exports.contributions_export_start(
        user=user, params=params or {}, file_format=file_format
    )


def test_the_worker_writes_the_filtered_contributions_as_csv(world, media):
    Contribution.objects.filter(pk=world.contribution.pk).update(description="=cmd|' /C calc'!A0")
    job = _job(world.staff, {"year": "2025"})
    assert export_contributions.run(job.pk) == 4
    job.refresh_from_db()
    assert job.status == "done" and job.progress == 100 and job.rows == 4
    with job.file.open("rb") as handle:
        rows = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert len(rows) == 5  # the header and the four contributions of 2025
    descriptions = [row[-1] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in descriptions


def test_the_export_is_scoped_to_the_user(world, media):
    job = _job(world.liaison_b)
    export_contributions.run(job.pk)
    job.refresh_from_db()
    assert job.rows == 1  # agency B's commune 2 only


def test_the_worker_writes_xlsx(world, media):
    job = _job(world.staff, file_format="xlsx")
    export_contributions.run(job.pk)
    job.refresh_from_db()
    with job.file.open("rb") as handle:
        sheet = openpyxl.load_workbook(io.BytesIO(handle.read())).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + Contribution.objects.count()
    assert 10_000_000 in {row[8] for row in values[1:]}


def _export_file(user, params, file_format) -> bytes:
    job = _job(user, params, file_format)
    export_contributions.run(job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    with job.file.open("rb") as handle:
        return handle.read()


def _as_csv_cell(value):
    """An XLSX cell as the CSV export writes it (numbers as Decimal), to compare the files."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _csv_cell(text: str):
    try:
        return Decimal(text)
    except ArithmeticError:
        return text


def test_the_xlsx_export_holds_what_the_csv_holds(world, media):
    Contribution.objects.filter(pk=world.contribution.pk).update(
        description="=cmd|' /C calc'!A0",
        unit="<b>bộ</b> & co",
        workdays=Decimal("2.5"),
        quantity=Decimal("1.25"),
    )
    csv_rows = list(
        csv.reader(io.StringIO(_export_file(world.staff, {}, "csv").decode("utf-8-sig")))
    )
    data = _export_file(world.staff, {}, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert book.sheetnames == [gettext("Contributions %(n)s") % {"n": 1}]
    assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
    assert sheet["A2"].is_date and isinstance(sheet["I2"].value, int)
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == csv_rows[0] == [str(label) for label, _name in exports.CONTRIBUTION_COLUMNS]
    assert len(rows) == len(csv_rows) == 1 + Contribution.objects.count()
    for ours, theirs in zip(rows[1:], csv_rows[1:], strict=True):
        assert [_as_csv_cell(value) for value in ours] == [_csv_cell(text) for text in theirs]
    assert [row[index] for row in rows if row[-1].startswith("'=") for index in (-1, 11)] == [
        "'=cmd|' /C calc'!A0",
        "<b>bộ</b> & co",
    ]
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert [[value if value != "" else None for value in row] for row in calamine][0] == rows[0]
    assert len(calamine) == len(rows)


def test_an_xlsx_export_of_nothing_holds_the_header(world, media):
    data = _export_file(world.staff, {"year": "2030"}, "xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows == [tuple(str(label) for label, _name in exports.CONTRIBUTION_COLUMNS)]


def test_a_large_xlsx_export_goes_on_in_new_sheets(world, media, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 4)
    book = openpyxl.load_workbook(io.BytesIO(_export_file(world.staff, {}, "xlsx")))
    counts = [sheet.max_row - 1 for sheet in book.worksheets]
    assert counts == [4, Contribution.objects.count() - 4]
    assert book.worksheets[1]["A1"].value == book.worksheets[0]["A1"].value


def test_a_job_runs_once(world, media):
    job = _job(world.staff)
    export_contributions.run(job.pk)
    assert export_contributions.run(job.pk) is None


def test_an_unknown_format_is_refused(world):
    with pytest.raises(ValidationError):
        _job(world.staff, file_format="ods")


def test_starting_an_export_on_the_page_queues_it_after_commit(
    client, world, media, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(exports, "_enqueue", sent.append)
    client.force_login(world.staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:export_contributions"), {"year": "2025", "format": "csv"}
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/exports/{job.pk}/")
    assert sent == [job.pk]
    assert job.params == {"filters": {"year": "2025"}, "format": "csv"}


def test_the_progress_page_polls_until_done_then_offers_the_download(client, world, media):
    job = _job(world.staff)
    client.force_login(world.staff)
    page = client.get(reverse("reports:export_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page
    export_contributions.run(job.pk)
    partial = client.get(reverse("reports:export_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in partial.content.decode()
    assert 'id="export-download"' in partial.content.decode()
    download = client.get(reverse("reports:export_download", args=[job.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith("\ufeff".encode())


def test_another_user_gets_404_on_an_export(client, world, media):
    job = _job(world.staff)
    export_contributions.run(job.pk)
    client.force_login(world.liaison_a)
    assert client.get(reverse("reports:export_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("reports:export_download", args=[job.pk])).status_code == 404


def test_a_broker_that_is_down_fails_the_job_with_a_message(world, monkeypatch):
    from celery import current_app

    def refuse(*args, **kwargs):
        raise ConnectionError("no broker")

    monkeypatch.setattr(current_app, "send_task", refuse)
    job = ExportJob.objects.create(user=world.staff, kind="contributions", params={})
    exports._enqueue(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error


def test_the_export_page_keeps_the_list_filters(client, world):
    client.force_login(world.staff)
    response = client.get(reverse("reports:export_contributions") + "?year=2025&page=3")
    assert response.status_code == 200
    assert 'value="2025"' in response.content.decode()
