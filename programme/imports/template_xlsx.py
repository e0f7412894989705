"""The downloadable template of each kind: an empty data sheet and an instructions sheet."""

import io

from django.utils.translation import gettext as _

from programme.imports.kinds import Kind
from programme.imports.reading import MAX_ROWS


def template_workbook(kind: Kind) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415

    workbook = Workbook()
    data = workbook.active
    data.title = "Dữ liệu"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FCE4D6")
    for index, column in enumerate(kind.columns, start=1):
        cell = data.cell(row=1, column=index, value=column.header_vi)
        cell.font = bold
        if column.required:
            cell.fill = fill
        data.column_dimensions[cell.column_letter].width = max(14, len(column.header_vi) + 4)
    data.freeze_panes = "A2"

    guide = workbook.create_sheet("Hướng dẫn")
    guide.column_dimensions["A"].width = 26
    guide.column_dimensions["B"].width = 22
    guide.column_dimensions["C"].width = 12
    guide.column_dimensions["D"].width = 70
    guide.column_dimensions["E"].width = 30
    lines = [
        _("How to fill in the sheet “Dữ liệu” (%(kind)s)") % {"kind": kind.label},
        _("One row per record, from row 2. Keep the header row; columns may be in any order."),
        _(
            "Headers are recognised without regard to case, diacritics or spaces; English headers "
            "work too."
        ),
        _("Do not merge cells, do not use formulas (paste values), do not hide sheets."),
        _("At most %(max)s rows per file. Importing the same file again creates nothing twice.")
        % {"max": f"{MAX_ROWS:,}".replace(",", ".")},
        _("Columns shaded orange are required."),
    ]
    for row, line in enumerate(lines, start=1):
        guide.cell(row=row, column=1, value=line).font = Font(bold=row == 1)
    start = len(lines) + 2
    headers = [_("Column"), _("English header"), _("Required"), _("What to type"), _("Example")]
    for index, header in enumerate(headers, start=1):
        guide.cell(row=start, column=index, value=header).font = bold
    for offset, column in enumerate(kind.columns, start=1):
        values = [
            column.header_vi,
            column.header_en,
            _("yes") if column.required else "",
            str(column.help),
            column.example,
        ]
        for index, value in enumerate(values, start=1):
            cell = guide.cell(row=start + offset, column=index, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
