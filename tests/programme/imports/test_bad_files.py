"""Whole files that must be refused with a clear message, with nothing saved."""

import io
import zipfile

import pytest
from django.urls import reverse

from programme.imports.models import ImportJob
from programme.models import Contribution
from tests.programme.conftest import JPEG_BYTES, PDF_BYTES
from tests.programme.imports.conftest import HEADERS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

GOOD_ROW = [
    "05/03/2024",
    "Gia Hưng",
    "",
    "Sở A",
    "An sinh xã hội",
    "Quà",
    "Tiền mặt",
    "1.000.000",
    "",
    "",
    "",
]


@pytest.fixture
def post(client, world, media_root, sheet_upload):
    client.force_login(world.staff)

    def send(data: bytes, name: str = "file.xlsx", kind: str = "contributions") -> ImportJob:
        response = client.post(
            reverse("programme:import_list"), {"kind": kind, "file": sheet_upload(data, name)}
        )
        assert response.status_code == 302, response.content[:500]
        return ImportJob.objects.latest("pk")

    return send


def assert_refused(job: ImportJob, fragment: str):
    assert job.status == ImportJob.Status.FAILED
    assert fragment in job.message, job.message
    assert Contribution.objects.count() == 0
    assert job.records.count() == 0


def test_not_a_spreadsheet(post):
    assert_refused(post(PDF_BYTES, "report.pdf"), "not a spreadsheet")
    assert_refused(post(JPEG_BYTES, "photo.xlsx"), "not a spreadsheet")


def test_a_word_document_is_not_a_workbook(post):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert_refused(post(buffer.getvalue(), "report.xlsx"), "not an Excel workbook")


def test_encrypted_or_old_xls_workbook(post):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000
    assert_refused(post(ole, "protected.xlsx"), "password")


def test_corrupt_xlsx(post):
    good = xlsx_bytes([HEADERS, GOOD_ROW])
    assert_refused(post(good[: len(good) // 2], "cut.xlsx"), "damaged")


def test_damaged_sheet_inside_a_valid_zip(post):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<this is not xml")
    assert_refused(post(buffer.getvalue(), "broken.xlsx"), "damaged")


def test_zip_bomb_is_not_inflated(post):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    assert_refused(post(data, "bomb.xlsx"), "zip bomb")


def test_hidden_sheets(post):
    def hide(workbook):
        workbook.create_sheet("Danh mục").sheet_state = "hidden"

    assert_refused(post(xlsx_bytes([HEADERS, GOOD_ROW], setup=hide)), "hidden sheets (“Danh mục”)")


def test_merged_header_cells(post):
    def merge(workbook):
        workbook.active.merge_cells("G1:H1")

    assert_refused(post(xlsx_bytes([HEADERS, GOOD_ROW], setup=merge)), "G1:H1")


def test_merged_cells_in_the_data(post):
    def merge(workbook):
        workbook.active.merge_cells("B2:B3")

    job = post(xlsx_bytes([HEADERS, GOOD_ROW, GOOD_ROW], setup=merge))
    assert_refused(job, "B2:B3")


def test_a_merged_title_above_the_header_is_fine(post):
    def title(workbook):
        workbook.active.merge_cells("A1:K1")

    rows = [["BẢNG TỔNG HỢP HỖ TRỢ NĂM 2024"], [], HEADERS, GOOD_ROW]
    job = post(xlsx_bytes(rows, setup=title))
    assert job.status == ImportJob.Status.CHECKED, job.message
    assert job.to_create == 1


def test_no_header_row(post):
    assert_refused(post(xlsx_bytes([["a", "b"], [1, 2]])), "No header row")


def test_required_columns_missing(post):
    rows = [["Ngày", "Xã", "Ghi chú"], ["05/03/2024", "Gia Hưng", ""]]
    job = post(xlsx_bytes(rows))
    assert_refused(job, "Required columns are missing")
    assert "“Đơn vị hỗ trợ”" in job.message and "“Hình thức”" in job.message


def test_two_columns_read_as_one(post):
    rows = [[*HEADERS, "Số tiền"], [*GOOD_ROW, "1.000.000"]]
    assert_refused(post(xlsx_bytes(rows)), "Two columns are both read as “Giá trị (đồng)”")


def test_header_only(post):
    assert_refused(post(xlsx_bytes([HEADERS, [], [None, ""]])), "no data rows")


def test_a_million_rows(post):
    lines = ",".join(HEADERS).encode() + b"\n" + b"05/03/2024,Gia Hung\n" * 1_000_000
    job = post(lines, "million.csv")
    assert_refused(job, "more than 100.000 data rows")


def test_a_million_rows_in_xlsx_is_refused_by_its_dimension(post):
    def tall(workbook):
        workbook.active.cell(row=1_000_000, column=1, value="x")

    assert_refused(post(xlsx_bytes([HEADERS, GOOD_ROW], setup=tall)), "more than 100.000")


def test_binary_noise_csv(post):
    assert_refused(post(bytes(range(256)) * 40, "noise.csv"), "not a spreadsheet")


def test_not_a_table(post):
    assert_refused(post(b"just a sentence\nand another", "notes.csv"), "not look like a table")


def test_blank_rows_are_skipped_and_counted(post):
    job = post(
        csv_bytes(
            [
                HEADERS,
                GOOD_ROW,
                [],
                ["", "", ""],
                GOOD_ROW[:3] + ["Sở A"] + GOOD_ROW[4:5] + ["Quà khác"] + GOOD_ROW[6:],
            ]
        ),
        "blank.csv",
    )
    assert job.status == ImportJob.Status.CHECKED, job.message
    assert (job.rows_total, job.rows_blank, job.to_create) == (2, 2, 2)


def test_formulas_are_refused_per_cell(post):
    rows = [HEADERS, [*GOOD_ROW[:7], "=2*500000", *GOOD_ROW[8:]]]
    job = post(xlsx_bytes(rows))
    assert job.status == ImportJob.Status.CHECKED
    assert job.problem_rows == 1
    [(row, column, message)] = job.problems
    assert (row, column) == (2, "Giá trị (đồng)")
    assert "formula" in message and "=2*500000" in message
    assert not job.can_commit


def test_upload_too_large_is_refused_by_the_form(client, world, sheet_upload, settings):
    from programme.imports import reading

    client.force_login(world.staff)
    big = b"a,b\n" * (reading.MAX_UPLOAD_BYTES // 4 + 10)
    response = client.post(
        reverse("programme:import_list"), {"kind": "contributions", "file": sheet_upload(big)}
    )
    assert response.status_code == 200
    assert "larger than" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_messages_are_vietnamese_by_default(client, world, media_root, sheet_upload, settings):
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    client.force_login(world.staff)
    client.post(
        reverse("programme:import_list"),
        {"kind": "contributions", "file": sheet_upload(PDF_BYTES, "report.pdf")},
    )
    job = ImportJob.objects.get()
    assert job.language == "vi"
    assert job.message == "Đây không phải bảng tính. Hãy tải lên tệp Excel (.xlsx) hoặc tệp CSV."
    rows = [HEADERS, ["31/02/2024", *GOOD_ROW[1:]]]
    client.post(
        reverse("programme:import_list"),
        {"kind": "contributions", "file": sheet_upload(xlsx_bytes(rows))},
    )
    job = ImportJob.objects.latest("pk")
    assert job.problems == [
        [2, "Ngày", "“31/02/2024” không phải ngày có thật. Hãy ghi dạng dd/mm/yyyy."]
    ]
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Dòng có lỗi" in page and "Tải toàn bộ danh sách lỗi (CSV)" in page
