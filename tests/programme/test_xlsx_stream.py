"""The streaming XLSX writer of the large exports: what it writes must read back the same in
openpyxl and in calamine (the two readers of the project), and in LibreOffice where installed."""

import io
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from programme import xlsx_stream
from programme.xlsx_stream import XlsxStreamWriter, column_letter, sheet_title


def write(rows, header=("A", "B"), name="Data", **options) -> bytes:
    buffer = io.BytesIO()
    with XlsxStreamWriter(buffer, **options) as book:
        book.add_sheet(name, header)
        book.write_rows(rows)
    return buffer.getvalue()


def _plain(value):
    """A cell as both readers agree on it: whole numbers as int, dates as date."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "":
        return None
    return value


def read_openpyxl(data: bytes, sheet: int = 0) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = book.worksheets[sheet].iter_rows(values_only=True)
    return [[_plain(value) for value in row] for row in rows]


def read_calamine(data: bytes, sheet: int = 0) -> list[list]:
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(sheet)
    return [[_plain(value) for value in row] for row in rows.to_python(skip_empty_area=False)]


def read_both(data: bytes, sheet: int = 0) -> list[list]:
    """The rows, after checking that openpyxl and calamine read exactly the same."""
    ours = read_openpyxl(data, sheet)
    assert read_calamine(data, sheet) == ours
    return ours


def test_values_keep_their_kind():
    row = [
        "Xã Tân Lập – huyện Mường Nhé",
        0,
        1_234_567_890_123,
        Decimal("12.5"),
        Decimal("0.25"),
        Decimal("1000000"),
        date(2025, 3, 1),
        None,
        2.75,
        "cuối",
    ]
    rows = read_both(write([row], header=[f"c{n}" for n in range(len(row))]))
    assert rows[1] == [
        "Xã Tân Lập – huyện Mường Nhé",
        0,
        1_234_567_890_123,
        12.5,
        0.25,
        1_000_000,
        date(2025, 3, 1),
        None,
        2.75,
        "cuối",
    ]


def test_dates_are_numbers_with_a_date_style():
    data = write([[date(2024, 2, 29), datetime(2025, 1, 2, 13, 30)]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    day, moment = sheet["A2"], sheet["B2"]
    assert day.is_date and day.number_format == "yyyy-mm-dd"
    assert day.value == datetime(2024, 2, 29)
    assert moment.is_date and moment.value == datetime(2025, 1, 2, 13, 30)
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>45351</v>" in sheet_xml  # 29/02/2024 as Excel counts days


def test_booleans_and_odd_numbers():
    rows = read_openpyxl(write([[True, False], [Decimal("NaN"), float("inf")]]))
    assert rows[1] == [True, False]
    assert rows[2] == ["NaN", "inf"]  # no number a spreadsheet could not read


def test_a_time_zone_is_refused():
    with pytest.raises(TypeError):
        write([[datetime(2025, 1, 1, tzinfo=UTC)]])


@pytest.mark.parametrize(
    "text",
    [
        '<script>alert("x")</script>',
        "<img src=x onerror=alert(1)>",
        "A & B &amp; C",
        "]]><!-- -->",
        "'quoted' \"double\"",
        "  spaces kept  ",
        "line 1\nline 2",
        "tab\tinside",
        "Nội dung có dấu: Đắk Lắk, Điện Biên",
        "emoji 🚜",
    ],
)
def test_text_is_escaped_and_read_back_unchanged(text):
    assert read_both(write([[text, "x"]]))[1] == [text, "x"]


def test_a_carriage_return_inside_text_survives():
    assert read_openpyxl(write([["a\r\nb", "x"]]))[1] == ["a\r\nb", "x"]


def test_characters_xml_forbids_are_dropped():
    text = "a\x00b\x01c\x08d\x0be\x0cf\x1bg\x1fh\ufffei\uffffj"
    data = write([[text, "ok"]], name="Sheet\x07name")
    assert read_both(data)[1] == ["abcdefghij", "ok"]
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["Sheetname"]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_looks_like_a_formula_gets_an_apostrophe(prefix):
    text = prefix + 'HYPERLINK("http://evil","x")'
    data = write([[text, -5]])
    book = openpyxl.load_workbook(io.BytesIO(data))
    cell = book.active["A2"]
    assert cell.data_type == "s" and cell.value == "'" + text
    assert book.active["B2"].value == -5  # numbers are never touched
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml


def test_the_header_is_bold_and_frozen_with_widths():
    buffer = io.BytesIO()
    with XlsxStreamWriter(buffer) as book:
        book.add_sheet("Đóng góp", ["Ngày", "Giá trị"], widths=[12, 20.5])
        book.write_row([date(2025, 1, 1), 5])
    sheet = openpyxl.load_workbook(buffer).active
    assert sheet.title == "Đóng góp"
    assert [cell.value for cell in sheet[1]] == ["Ngày", "Giá trị"]
    assert all(cell.font.b for cell in sheet[1]) and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 12
    assert sheet.column_dimensions["B"].width == 20.5


def test_an_empty_export_holds_only_its_header():
    data = write([], header=["Ngày", "Xã"])
    assert read_both(data) == [["Ngày", "Xã"]]


def test_a_workbook_without_sheets_still_opens():
    buffer = io.BytesIO()
    XlsxStreamWriter(buffer).close()
    assert openpyxl.load_workbook(buffer).sheetnames == ["Sheet"]
    assert read_calamine(buffer.getvalue()) == []


def test_sheets_follow_one_another_with_valid_distinct_names():
    buffer = io.BytesIO()
    with XlsxStreamWriter(buffer) as book:
        for name in ["Q1/2025: A & B", "Q1/2025: A & B", "x" * 40]:
            book.add_sheet(name, ["n"])
            book.write_row([len(book._sheets)])
    data = buffer.getvalue()
    names = openpyxl.load_workbook(io.BytesIO(data)).sheetnames
    assert names == ["Q1-2025- A & B", "Q1-2025- A & B (2)", "x" * 31]
    assert CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names == names
    assert [read_both(data, index)[1] for index in range(3)] == [[1], [2], [3]]


def test_every_part_is_well_formed_xml():
    data = write([["<&>\"'", 1, date(2025, 1, 1)]], name='<"sheet" & co>')
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))


def test_a_sheet_refuses_more_rows_than_a_spreadsheet_holds(monkeypatch):
    monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 3)
    with pytest.raises(ValueError, match="at most 3 rows"):
        write([[1], [2], [3]])  # the header and two rows fit, not a third


def test_column_letters():
    assert [column_letter(n) for n in (0, 25, 26, 51, 701, 702, 16383)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
        "XFD",
    ]
    assert sheet_title("") == "Sheet"


def test_many_rows_are_streamed_to_the_file_as_they_come(tmp_path):
    """50.000 rows from a generator: the file already holds compressed rows long before the
    generator ends, so the writer keeps only a small batch in memory, not the rows."""
    path = tmp_path / "many.xlsx"
    sizes = []

    with open(path, "wb") as handle:

        def rows():
            for number in range(50_000):
                if number % 10_000 == 0:
                    sizes.append(handle.tell())
                yield [number, f"dòng {number}", date(2025, 1, 1) + timedelta(days=number % 365)]

        with XlsxStreamWriter(handle) as book:
            book.add_sheet("Many", ["n", "text", "day"])
            assert book.write_rows(rows()) == 50_000
    assert all(later > earlier for earlier, later in zip(sizes, sizes[1:], strict=False))
    assert sizes[-1] > sizes[0] + 100_000  # 40.000 rows written while 10.000 are still to come
    data = path.read_bytes()
    rows = read_calamine(data)
    assert len(rows) == 50_001
    assert rows[1] == [0, "dòng 0", date(2025, 1, 1)]
    assert rows[-1] == [49_999, "dòng 49999", date(2025, 1, 1) + timedelta(days=49_999 % 365)]
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == 50_001


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_the_workbook(tmp_path):
    source = tmp_path / "book.xlsx"
    source.write_bytes(write([["Đà Lạt <&>", 12, date(2025, 5, 6)]], header=["a", "b", "c"]))
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(source)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    text = (tmp_path / "book.csv").read_text(encoding="utf-8", errors="replace")
    assert "Đà Lạt <&>" in text and "12" in text
