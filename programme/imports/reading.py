"""Turn an uploaded file into rows, refusing anything that is not a plain, safe spreadsheet.

XLSX is read with calamine, its rows handed over one at a time (so 100.000 rows never become a
grid of Python objects); before that the zip is inspected so that a zip bomb never gets inflated.
CSV may be UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1258 as saved
by Vietnamese Excel.
"""

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_ROWS = 100_000
MAX_COLUMNS = 60
MAX_UPLOAD_BYTES = 40 * 1024 * 1024
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200  # compressed → uncompressed; real sheets stay far below it
MAX_CELL_CHARS = 10_000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class FileError(ValueError):
    """The whole file is refused; the message says why and what to do."""


class Formula(str):
    """A cell holding a formula instead of a value."""


@dataclass
class Sheet:
    """The rows of the sheet to import, numbered as Excel numbers them (1 = first row)."""

    rows: Iterator[tuple[int, list]]
    file_kind: str  # "xlsx" or "csv"
    encoding: str = ""
    sheet_name: str = ""
    merged: list[tuple[str, int, int]] = field(default_factory=list)  # (ref, first row, last row)
    ignored_sheets: list[str] = field(default_factory=list)
    total_rows: int = 0  # rows of the sheet, known before reading them (for the progress bar)


def _too_many_rows() -> FileError:
    return FileError(
        _(
            "The file has more than %(max)s data rows. Split it into files of at most %(max)s "
            "rows and import them one after the other."
        )
        % {"max": f"{MAX_ROWS:,}".replace(",", ".")}
    )


def open_sheet(data: bytes, *, name: str = "") -> Sheet:
    """Recognise the file by its content (never by its name) and open its data sheet."""
    if not data:
        raise FileError(_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileError(
            _("The file is larger than %(size)s MB. Split it and import the parts one by one.")
            % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    if data.startswith(OLE_MAGIC):
        raise FileError(
            _(
                "This workbook is protected by a password, or it is an old .xls file. Remove the "
                "password, save it as “Excel Workbook (.xlsx)” and upload it again."
            )
        )
    if data.startswith(ZIP_MAGIC):
        return _open_xlsx(data)
    return _open_csv(data)


# --- XLSX ---------------------------------------------------------------------------------------


def _check_zip(data: bytes) -> zipfile.ZipFile:
    corrupt = FileError(
        _(
            "The Excel file is damaged and cannot be read. Open it in Excel, save it again and retry."
        )
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise corrupt from None
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise FileError(
            _("This is not an Excel workbook (.xlsx). Upload an .xlsx or .csv spreadsheet.")
        )
    if len(entries) > 2000:
        raise corrupt
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise FileError(
                _("The workbook is encrypted. Remove the password and upload it again.")
            )
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if total > MAX_UNZIPPED_BYTES or (entry.file_size > 10 * 1024 * 1024 and ratio > MAX_RATIO):
            raise FileError(
                _(
                    "The workbook unpacks to far more data than a spreadsheet holds (a “zip "
                    "bomb”). It was not opened."
                )
            )
    return archive


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb'<(?:\w+:)?row(?:\s[^>]*?r="(\d+)")?')
_FORMULA = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*?)?(?:/>|>([^<]{0,60}))")
_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+)(\d+)"')
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters.decode():
        index = index * 26 + (ord(char) - 64)
    return index - 1


@dataclass
class _SheetScan:
    rows: int = 0
    merged: list = field(default_factory=list)
    formulas: dict = field(default_factory=dict)  # (row, column index) → formula text


def _scan_sheet(archive: zipfile.ZipFile, path: str) -> _SheetScan:
    """One streamed pass over the sheet's XML: rows, merged ranges and formula cells, without
    building the sheet (so a million-row file is refused before it is loaded)."""
    scan = _SheetScan()
    merged, tail = {}, b""
    with archive.open(path) as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            buffer = tail + chunk
            # Rows are counted in the new bytes only; the tail is re-read for split tags. A row
            # far down (an empty row 1.000.000) counts as much as that many rows.
            for number in _ROW.findall(buffer, len(tail) - min(len(tail), 16)):
                scan.rows = max(scan.rows + 1, int(number or 0))
            for match in _MERGE.finditer(buffer):
                first_col, first_row, last_col, last_row = match.groups()
                ref = first_col + first_row + (b":" + last_col + last_row if last_col else b"")
                merged[ref.decode()] = (int(first_row), int(last_row or first_row))
            for match in _FORMULA.finditer(buffer):
                cells = list(_CELL.finditer(buffer, max(0, match.start() - 600), match.start()))
                if cells:
                    letters, number = cells[-1].groups()
                    text = (match.group(1) or b"").decode("utf-8", "replace")
                    scan.formulas[int(number), _column_index(letters)] = "=" + text
            if scan.rows > MAX_ROWS + 20:
                raise _too_many_rows()
            tail = buffer[-700:]
    scan.merged = [(ref, first, last) for ref, (first, last) in merged.items()]
    return scan


def _sheets(archive: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(name, state, path in the zip) of each worksheet, in the workbook's order."""
    from defusedxml import DefusedXmlException, ElementTree  # noqa: PLC0415

    try:
        # defusedxml: entity expansion ("billion laughs") and external entities are refused.
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, DefusedXmlException):
        raise _damaged() from None
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("p:Relationship", _NS)}
    sheets = []
    for sheet in workbook.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        sheets.append((sheet.get("name", ""), sheet.get("state", "visible"), path))
    return sheets


def _damaged() -> FileError:
    return FileError(
        _(
            "The Excel file is damaged and cannot be read. Open it in Excel, save it again and retry."
        )
    )


def _open_xlsx(data: bytes) -> Sheet:
    from python_calamine import CalamineError, CalamineWorkbook  # noqa: PLC0415

    from communes.text import fold  # noqa: PLC0415

    archive = _check_zip(data)
    sheets = _sheets(archive)
    hidden = [name for name, state, _path in sheets if state != "visible"]
    if hidden:
        raise FileError(
            _(
                "The workbook has hidden sheets (%(sheets)s). Unhide or delete them, so that "
                "nothing is imported that nobody can see, and upload it again."
            )
            % {"sheets": ", ".join(f"“{title}”" for title in hidden)}
        )
    candidates = [s for s in sheets if fold(s[0]) not in {"huong dan", "instructions"}]
    if not candidates:
        raise FileError(_("The workbook has no sheet with data."))
    name, _state, path = candidates[0]
    try:
        scan = _scan_sheet(archive, path)
        calamine_sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name)
    except FileError:
        raise
    except (KeyError, CalamineError, ValueError, zipfile.BadZipFile, OSError):
        raise _damaged() from None
    # Rows are streamed one at a time from calamine's compact sheet, never turned into a grid of
    # Python objects all at once. They come from row 1, but start at the sheet's first used
    # column: blank cells in front keep the column indexes Excel's.
    first_column = calamine_sheet.start[1] if calamine_sheet.start else 0
    total_rows = calamine_sheet.end[0] + 1 if calamine_sheet.end else 0

    def rows() -> Iterator[tuple[int, list]]:
        try:
            for index, values in enumerate(calamine_sheet.iter_rows()):
                yield index + 1, _xlsx_row(index + 1, values)
        except CalamineError:
            raise _damaged() from None

    def _xlsx_row(number: int, values: list) -> list:
        cells = [None] * first_column + [
            _xlsx_value(value) for value in values[: max(0, MAX_COLUMNS - first_column)]
        ]
        if scan.formulas:
            for column, _value in enumerate(cells):
                formula = scan.formulas.get((number, column))
                if formula is not None:
                    cells[column] = Formula(formula)
        return cells

    return Sheet(
        rows=rows(),
        file_kind="xlsx",
        sheet_name=name,
        merged=scan.merged,
        ignored_sheets=[candidate[0] for candidate in candidates[1:]],
        total_rows=total_rows,
    )


def _xlsx_value(value):
    if isinstance(value, str):
        if value.startswith("="):
            return Formula(value)
        return unicodedata.normalize("NFC", value)[:MAX_CELL_CHARS] or None
    return value


# --- CSV ----------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    if b"\x00" in data[:4096]:
        raise FileError(
            _("This is not a spreadsheet. Upload an Excel workbook (.xlsx) or a CSV file.")
        )
    try:
        return data.decode("utf-8", errors="strict"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1258 writes some tones as combining marks: NFC puts letters back together.
        return unicodedata.normalize("NFC", data.decode("cp1258", errors="strict")), "Windows-1258"
    except UnicodeDecodeError:
        raise FileError(
            _(
                "The file's characters cannot be read. Save it from Excel as “CSV UTF-8” or as "
                ".xlsx and upload it again."
            )
        ) from None


def _looks_binary(sample: str) -> bool:
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return controls > max(2, len(sample) // 100)


def _open_csv(data: bytes) -> Sheet:
    if data.count(b"\n") > MAX_ROWS + 20:
        raise _too_many_rows()
    body, encoding = _decode(data)
    body = unicodedata.normalize("NFC", body)
    sample = body[:8192]
    if _looks_binary(sample) or data[:5] in (b"%PDF-",) or data[:3] == b"\xff\xd8\xff":
        raise FileError(
            _("This is not a spreadsheet. Upload an Excel workbook (.xlsx) or a CSV file.")
        )
    first_line = sample.splitlines()[0] if sample.splitlines() else ""
    delimiter = max((";", ",", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise FileError(
            _(
                "This does not look like a table: the first line has no columns separated by "
                "commas or semicolons."
            )
        )

    def rows() -> Iterator[tuple[int, list]]:
        reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
        try:
            for number, values in enumerate(reader, start=1):
                if number > MAX_ROWS + 20:
                    raise _too_many_rows()
                yield number, [_csv_value(value) for value in values[:MAX_COLUMNS]]
        except csv.Error:
            raise FileError(_("The CSV file is malformed (unbalanced quotes).")) from None

    csv.field_size_limit(MAX_CELL_CHARS * 4)
    return Sheet(rows=rows(), file_kind="csv", encoding=encoding, total_rows=body.count("\n"))


def _csv_value(value: str):
    value = value.strip()
    if value.startswith("="):
        return Formula(value)
    return value[:MAX_CELL_CHARS] or None
