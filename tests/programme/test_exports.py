"""CSV and XLSX downloads of the record lists: exactly the filtered rows, safe for spreadsheets."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.conf import settings
from django.urls import resolve, reverse
from django.utils import translation
from django_tables2.export import TableExport
from python_calamine import CalamineWorkbook

from programme.listing import SafeTableExport
from programme.models import ContributionCategory
from tests.factories import (
    ContributionFactory,
    DesignationFactory,
    DifficultyFactory,
    PlanFactory,
    PlanItemFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def contributions(world, roads):
    DesignationFactory(commune=world.commune1)
    DesignationFactory(commune=world.commune2)
    seeds = ContributionCategory.objects.get(code="seed-stock")
    return {
        "roads": ContributionFactory(
            commune=world.commune1,
            agency=world.agency_a,
            value=3_000_000,
            description="Xi măng làm đường thôn Đông.",
        ),
        "seeds": ContributionFactory(
            commune=world.commune1,
            agency=None,
            enterprise=world.enterprise,
            date=datetime.date(2023, 5, 2),
            area="economy",
            category=seeds,
            value=1_000_000,
            description="Giống lúa chất lượng cao.",
        ),
        "other_commune": ContributionFactory(
            commune=world.commune2,
            agency=world.agency_b,
            value=2_000_000,
            description="Bóng đèn chiếu sáng.",
        ),
    }


def export(client, url_name: str, fmt: str, **params):
    return client.get(reverse(url_name), {**params, "_export": fmt})


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return list(workbook.active.iter_rows(values_only=True))


def test_csv_export_is_a_csv_download(client, world, contributions):
    client.force_login(world.staff)

    response = export(client, "programme:contribution_list", "csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="contributions.csv"' in response["Content-Disposition"]


def test_csv_export_has_a_header_row_and_only_the_filtered_rows(client, world, contributions):
    client.force_login(world.staff)

    rows = csv_rows(export(client, "programme:contribution_list", "csv", area="economy"))

    assert rows[0][:3] == ["Date", "Commune", "Contributor"]
    assert "Value (đồng)" in rows[0]  # the unit is stated
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Date"] == "02/05/2023"
    assert record["Commune"] == "Xã Gia Hưng"
    assert record["Contributor"] == "Công ty TNHH Xi măng E"
    assert record["Value (đồng)"] == "1000000"
    assert record["Description"] == "Giống lúa chất lượng cao."


def test_csv_export_follows_the_search(client, world, contributions):
    client.force_login(world.staff)

    rows = csv_rows(export(client, "programme:contribution_list", "csv", q="giong lua"))

    assert [row[6] for row in rows[1:]] == ["Giống lúa chất lượng cao."]


def test_csv_export_follows_the_sort_order(client, world, contributions):
    client.force_login(world.staff)

    rows = csv_rows(export(client, "programme:contribution_list", "csv", sort="-value"))

    assert [row[5] for row in rows[1:]] == ["3000000", "2000000", "1000000"]


def test_csv_export_holds_only_what_the_user_may_see(client, world, contributions):
    client.force_login(world.liaison_a)

    rows = csv_rows(export(client, "programme:contribution_list", "csv"))

    descriptions = {row[6] for row in rows[1:]}
    assert descriptions == {"Xi măng làm đường thôn Đông.", "Giống lúa chất lượng cao."}


def test_csv_export_holds_every_filtered_row_not_only_the_first_page(client, world):
    VisitFactory.create_batch(30, commune=world.commune1, agency=world.agency_a)
    client.force_login(world.liaison_a)

    rows = csv_rows(export(client, "programme:visit_list", "csv"))

    assert len(rows) == 1 + 30


def test_xlsx_export_opens_with_the_filtered_rows(client, world, contributions):
    client.force_login(world.staff)

    response = export(client, "programme:contribution_list", "xlsx", commune=world.commune1.pk)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    rows = xlsx_rows(response)
    assert rows[0][:3] == ("Date", "Commune", "Contributor")
    assert len(rows) == 3
    values = sorted(row[rows[0].index("Value (đồng)")] for row in rows[1:])
    assert values == [1_000_000, 3_000_000]


def test_xlsx_export_is_empty_but_for_the_header_when_nothing_matches(client, world, contributions):
    client.force_login(world.staff)

    rows = xlsx_rows(export(client, "programme:contribution_list", "xlsx", q="khong co gi"))

    assert len(rows) == 1
    assert rows[0][0] == "Date"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_a_cell_that_looks_like_a_formula_is_exported_as_text(client, world, roads, prefix):
    text = f'{prefix}HYPERLINK("http://example.com","bấm")'
    ContributionFactory(commune=world.commune1, agency=world.agency_a, description=text)
    client.force_login(world.liaison_a)

    csv_row = csv_rows(export(client, "programme:contribution_list", "csv"))[1]
    xlsx_cell = xlsx_rows(export(client, "programme:contribution_list", "xlsx"))[1][6]

    assert csv_row[6] == "'" + text
    assert xlsx_cell == "'" + text


def test_a_formula_in_a_visit_summary_is_neutralised_too(client, world):
    VisitFactory(commune=world.commune1, agency=world.agency_a, summary="=1+1")
    client.force_login(world.liaison_a)

    rows = csv_rows(export(client, "programme:visit_list", "csv"))

    assert rows[1][rows[0].index("Summary")] == "'=1+1"


def test_xlsx_formula_cell_is_stored_as_a_string(client, world, roads):
    ContributionFactory(commune=world.commune1, agency=world.agency_a, description="=SUM(A1:A9)")
    client.force_login(world.liaison_a)

    response = export(client, "programme:contribution_list", "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=7)
    assert cell.data_type == "s"
    assert cell.value == "'=SUM(A1:A9)"


@pytest.mark.parametrize(
    ("url_name", "header"),
    [
        ("programme:visit_list", "Date"),
        ("programme:difficulty_list", "Raised on"),
        ("programme:contribution_list", "Date"),
        ("programme:plan_item_list", "Title"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_list_exports_its_rows(client, world, roads, url_name, header, fmt):
    VisitFactory(commune=world.commune1, agency=world.agency_a)
    DifficultyFactory(commune=world.commune1)
    ContributionFactory(commune=world.commune1, agency=world.agency_a)
    PlanItemFactory(plan=PlanFactory(commune=world.commune1, year=2024))
    client.force_login(world.officer)

    response = export(client, url_name, fmt)

    assert response.status_code == 200
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
    assert rows[0][0] == header
    assert len(rows) == 2


def test_export_dates_are_written_day_first(client, world):
    DifficultyFactory(commune=world.commune1, raised_on=datetime.date(2024, 3, 5))
    client.force_login(world.officer)

    rows = csv_rows(export(client, "programme:difficulty_list", "csv"))

    assert rows[1][0] == "05/03/2024"


def test_unknown_export_format_shows_the_page(client, world, contributions):
    client.force_login(world.staff)

    response = export(client, "programme:contribution_list", "exe")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


class TablibXlsx(SafeTableExport):
    """The XLSX download as it was made before the streaming writer: tablib and openpyxl."""

    def __init__(self, export_format, table, exclude_columns=None, dataset_kwargs=None):
        TableExport.__init__(self, export_format, table, exclude_columns, dataset_kwargs)

    def export(self):
        return TableExport.export(self)


def _layout(content: bytes) -> dict:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    return {
        "titles": book.sheetnames,
        "rows": list(sheet.iter_rows(values_only=True)),
        "bold": [[cell.font.b for cell in row] for row in sheet.iter_rows()],
        "wrap": [[bool(cell.alignment.wrap_text) for cell in row] for row in sheet.iter_rows()],
        "frozen": sheet.freeze_panes,
        "widths": {key: dim.width for key, dim in sheet.column_dimensions.items()},
    }


@pytest.mark.parametrize(
    "url_name", ["programme:contribution_list", "programme:visit_list", "programme:difficulty_list"]
)
def test_the_xlsx_download_is_laid_out_as_tablib_laid_it_out(
    client, world, roads, monkeypatch, url_name
):
    """Same sheet, cells, bold frozen header, widths and wrapping as the tablib download."""
    text = '=HYPERLINK("http://x") <script>alert(1)</script>\ndòng hai & "ba"'
    ContributionFactory(commune=world.commune1, agency=world.agency_a, description=text)
    ContributionFactory(commune=world.commune1, agency=world.agency_a, description="Ngắn")
    VisitFactory(commune=world.commune1, agency=world.agency_a, summary=text)
    DifficultyFactory(commune=world.commune1, description=text)
    client.force_login(world.staff)
    view = resolve(reverse(url_name)).func.view_class

    ours = export(client, url_name, "xlsx")
    monkeypatch.setattr(view, "export_class", TablibXlsx)
    theirs = export(client, url_name, "xlsx")

    assert ours["Content-Type"] == theirs["Content-Type"] == XLSX
    expected = _layout(theirs.content)
    assert _layout(ours.content) == expected
    assert any("'" + text in row for row in expected["rows"])


def test_an_empty_xlsx_download_has_its_header_in_both_readers(client, world):
    client.force_login(world.staff)

    response = export(client, "programme:visit_list", "xlsx", q="khong co gi")

    rows = xlsx_rows(response)
    assert len(rows) == 1 and rows[0][0] == "Date"
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert calamine.get_sheet_by_index(0).to_python() == [list(rows[0])]
