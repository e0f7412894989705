"""The spreadsheet an office would import (issue #6, measurement 5), made from the bench data.

Columns as offices keep them: Ngày, Xã, Huyện, Đơn vị hỗ trợ, Loại hỗ trợ, Nội dung hỗ trợ,
Hình thức, Giá trị (đồng), Ghi chú (the import engine needs the category or the area). Each row names a legacy commune and its district, a contributor
assigned to or twinned with it on that day, and a category of the seeded taxonomy.
"""

from pathlib import Path

from django.db import connection

HEADERS = [
    "Ngày",
    "Xã",
    "Huyện",
    "Đơn vị hỗ trợ",
    "Loại hỗ trợ",
    "Nội dung hỗ trợ",
    "Hình thức",
    "Giá trị (đồng)",
    "Ghi chú",
]
FORMS = {"cash": "Tiền mặt", "in_kind": "Hiện vật", "labour": "Ngày công"}


def write_import_xlsx(path: Path, rows: int, *, skip: frozenset[int] = frozenset()) -> int:
    """Write `rows` rows (fewer if the database has fewer records to model them on), leaving
    out the records at the positions in `skip` (0-based, in the order of the query)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Hỗ trợ")
    sheet.append(HEADERS)
    written = 0
    position = -1
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.date, u.name, d.name, COALESCE(a.name, e.name), k.name_vi, c.form, c.value
            FROM programme_contribution c
            JOIN communes_adminunit u ON u.id = c.commune_id
            JOIN communes_adminunit d ON d.id = u.parent_id AND d.level = 'district'
            JOIN programme_contributioncategory k ON k.id = c.category_id
            LEFT JOIN partners_agency a ON a.id = c.agency_id
            LEFT JOIN partners_enterprise e ON e.id = c.enterprise_id
            -- Not in this sheet's columns: labour (workdays, daily rate) and the area of a
            -- category that has none. Communes whose folded name is not unique in the
            -- country (Vĩnh Hùng, Vĩnh Hưng; Phường 1…) would need a commune code column.
            WHERE c.form <> 'labour' AND k.area <> ''
              AND NOT EXISTS (
                  SELECT 1 FROM communes_adminunit o
                  WHERE o.level = 'commune' AND o.search_name = u.search_name
                    AND o.id <> u.id)
            ORDER BY c.id LIMIT %s""",
            [rows + len(skip)],
        )
        while batch := cursor.fetchmany(5000):
            for day, commune, district, giver, category, form, value in batch:
                position += 1
                if position in skip:
                    continue
                written += 1
                sheet.append(
                    [
                        day.strftime("%d/%m/%Y"),
                        commune,
                        district,
                        giver,
                        category,
                        f"Hỗ trợ {category.lower()}, đợt {written}",
                        FORMS[form],
                        f"{int(value):,}".replace(",", "."),
                        f"Nhập từ bảng tính, dòng {written + 1}",
                    ]
                )
    book.save(path)
    return written
