"""Upload → dry run → import → re-import → corrected file → undo, through the pages."""

import datetime

import pytest
from django.urls import reverse

from programme.imports.models import ImportedRecord, ImportJob
from programme.models import Contribution, RollupOutbox
from tests.programme.imports.conftest import HEADERS, commit, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def rows_for(world):
    return [
        HEADERS,
        [
            "05/03/2024",
            "Xã Gia Hưng",
            "",
            "Sở A",
            "An sinh xã hội",
            "Tặng quà hộ nghèo",
            "Tiền mặt",
            "1,5 triệu",
            "",
            "",
            "đợt 1",
        ],
        [
            datetime.datetime(2024, 3, 6),
            "gia hung",
            None,
            "Sở A",
            "Kinh tế",
            "Giống lúa",
            "Hiện vật",
            2500000,
            10,
            "tạ",
            None,
        ],
        [
            "7/3/24",
            "GIA HƯNG",
            "",
            "sở a",
            "Nông thôn mới",
            "Xi măng làm đường",
            "hiện vật",
            "22,5 tỷ",
            "",
            "",
            "",
        ],
    ]


def test_dry_run_saves_nothing_then_commit_saves_everything(client, world, upload_as):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    assert job.status == ImportJob.Status.CHECKED
    assert (job.rows_total, job.to_create, job.to_update, job.duplicates, job.problem_rows) == (
        3,
        3,
        0,
        0,
        0,
    )
    assert Contribution.objects.count() == 0
    page = client.get(job.get_absolute_url()).content.decode()
    assert 'id="import-commit"' in page

    job = commit(client, job)
    assert job.status == ImportJob.Status.DONE
    assert (job.created, job.updated) == (3, 0)
    values = sorted(Contribution.objects.values_list("value", flat=True))
    assert values == [1_500_000, 2_500_000, 22_500_000_000]
    gift = Contribution.objects.get(description="Tặng quà hộ nghèo")
    assert (gift.commune, gift.agency, gift.note, gift.created_by) == (
        world.commune1,
        world.agency_a,
        "đợt 1",
        world.liaison_a,
    )
    assert gift.date == datetime.date(2024, 3, 5)
    # History says who and why; the outbox got the rollup refreshes in the same transaction.
    record = gift.history.get()
    assert record.history_user == world.liaison_a
    assert f"import #{job.pk}" in record.history_change_reason
    assert RollupOutbox.objects.filter(kind="contribution", commune_id=world.commune1.pk).exists()
    assert job.records.filter(action=ImportedRecord.Action.CREATED).count() == 3


def test_the_same_file_twice_creates_nothing_the_second_time(client, world, upload_as):
    data = xlsx_bytes(rows_for(world))
    commit(client, upload_as(world.liaison_a, data))
    again = upload_as(world.liaison_a, data)
    assert (again.to_create, again.to_update, again.duplicates) == (0, 0, 3)
    assert not again.can_commit
    assert "nothing to import" in client.get(again.get_absolute_url()).content.decode()
    response = client.post(reverse("programme:import_commit", args=[again.pk]))
    assert response.status_code == 302
    assert Contribution.objects.count() == 3


def test_a_row_repeated_inside_the_file_is_created_once(client, world, upload_as):
    rows = rows_for(world)
    job = upload_as(world.liaison_a, xlsx_bytes([*rows, rows[1]]))
    assert (job.to_create, job.duplicates) == (3, 1)


def test_a_corrected_file_imports_the_fixed_rows_and_skips_the_rest(client, world, upload_as):
    rows = rows_for(world)
    bad = [list(row) for row in rows]
    bad[2][7] = "hai triệu rưỡi"  # bad amount
    bad[3][1] = "Gia Hung Moi"  # unknown commune
    first = upload_as(world.liaison_a, xlsx_bytes(bad))
    assert first.problem_rows == 2
    assert not first.can_commit
    response = client.post(reverse("programme:import_commit", args=[first.pk]))
    assert response.status_code == 302
    assert Contribution.objects.count() == 0  # all or nothing

    # Only the good row now: it goes in.
    commit(client, upload_as(world.liaison_a, xlsx_bytes([bad[0], bad[1]])))
    assert Contribution.objects.count() == 1
    fixed = upload_as(world.liaison_a, xlsx_bytes(rows))
    assert (fixed.to_create, fixed.duplicates, fixed.problem_rows) == (2, 1, 0)
    commit(client, fixed)
    assert Contribution.objects.count() == 3


def test_changed_details_update_the_record(client, world, upload_as):
    rows = rows_for(world)
    commit(client, upload_as(world.liaison_a, xlsx_bytes(rows)))
    gift = Contribution.objects.get(description="Tặng quà hộ nghèo")
    rows[1][10] = "đợt 1, đã bàn giao"
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    assert (job.to_create, job.to_update, job.duplicates) == (0, 1, 2)
    commit(client, job)
    gift.refresh_from_db()
    assert gift.note == "đợt 1, đã bàn giao"
    assert gift.version == 2
    link = job.records.get()
    assert link.before == {"note": "đợt 1"}


def test_problem_rows_are_listed_with_row_column_and_message(client, world, upload_as):
    rows = rows_for(world)
    rows[1][0] = "31/02/2024"
    rows[2][3] = "Sở Không Có"
    rows[3][6] = ""
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    problems = {(row, column): message for row, column, message in job.problems}
    assert set(problems) == {(2, "Ngày"), (3, "Đơn vị hỗ trợ"), (4, "Hình thức")}
    assert "not a real date" in problems[2, "Ngày"]
    assert "Unknown organisation" in problems[3, "Đơn vị hỗ trợ"]
    assert "Fill in “Hình thức”" in problems[4, "Hình thức"]
    page = client.get(job.get_absolute_url()).content.decode()
    assert 'id="import-problems"' in page and "Sở Không Có" in page
    assert 'id="import-commit"' not in page
    csv_text = client.get(reverse("programme:import_problems", args=[job.pk])).content.decode()
    assert csv_text.startswith("\ufeff") and "Sở Không Có" in csv_text


def test_contributor_not_assigned_on_that_date(client, world, upload_as):
    rows = rows_for(world)
    rows[1][0] = "01/03/2016"  # before agency A's term (from 1/6/2016)
    rows[2][1] = "Ninh Hòa"  # agency A is not in charge of commune 2
    job = upload_as(world.staff, xlsx_bytes(rows))
    messages = [message for _row, _column, message in job.problems]
    assert len(messages) == 2
    assert all("was not in charge of" in message for message in messages)
    assert "01/03/2016" in messages[0]


def test_liaisons_import_only_into_their_scope(client, world, upload_as):
    rows = rows_for(world)
    job = upload_as(world.liaison_b, xlsx_bytes(rows))
    assert job.problem_rows == 3
    assert {message for _r, _c, message in job.problems} == {"You do not act for this agency."}
    # The enterprise's representative may import the enterprise's own contributions only.
    rows[1][3] = world.enterprise.tax_code
    job = upload_as(world.rep, xlsx_bytes(rows))
    assert job.problem_rows == 2
    assert job.problems[0][0] == 3


def test_liaisons_cannot_import_reference_data(client, world):
    client.force_login(world.liaison_a)
    page = client.get(reverse("programme:import_list")).content.decode()
    assert 'value="contributions"' in page and 'value="agencies"' not in page
    response = client.get(reverse("programme:import_template", args=["agencies"]))
    assert response.status_code == 404


def test_imports_of_others_are_not_visible(client, world, upload_as):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    client.force_login(world.liaison_b)
    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.post(reverse("programme:import_commit", args=[job.pk])).status_code == 404
    assert client.get(reverse("programme:import_problems", args=[job.pk])).status_code == 404
    client.force_login(world.staff)
    assert client.get(job.get_absolute_url()).status_code == 200


def test_undo_removes_created_and_restores_updated_records(client, world, upload_as):
    rows = rows_for(world)
    commit(client, upload_as(world.liaison_a, xlsx_bytes(rows[:3])))
    rows[1][10] = "sửa ghi chú"
    second = commit(client, upload_as(world.liaison_a, xlsx_bytes(rows)))
    assert (second.created, second.updated) == (1, 1)

    # A liaison sees the import but may not undo it.
    response = client.post(reverse("programme:import_undo", args=[second.pk]))
    assert response.status_code == 403

    client.force_login(world.staff)
    response = client.post(reverse("programme:import_undo", args=[second.pk]))
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == ImportJob.Status.UNDONE and second.undone_by == world.staff
    assert Contribution.objects.count() == 2
    # The deleted record's history keeps who deleted it and why.
    deleted = Contribution.history.get(history_type="-")
    assert deleted.description == "Xi măng làm đường"
    assert deleted.history_user == world.staff
    assert f"import #{second.pk}" in deleted.history_change_reason
    gift = Contribution.objects.get(description="Tặng quà hộ nghèo")
    assert gift.note == "đợt 1"
    assert gift.history.first().history_user == world.staff
    assert "Undo of import" in gift.history.first().history_change_reason
    # Undone once: a second undo is refused, nothing changes.
    client.post(reverse("programme:import_undo", args=[second.pk]))
    assert Contribution.objects.count() == 2


def test_encodings_of_csv(client, world, upload_as):
    rows = rows_for(world)
    for index, (encoding, delimiter) in enumerate(
        [("utf-8", ","), ("utf-8-sig", ";"), ("cp1258", ","), ("utf-16", "\t")]
    ):
        job = upload_as(
            world.liaison_a,
            csv_bytes(rows[:2], encoding=encoding, delimiter=delimiter),
            f"f{index}.csv",
        )
        assert job.status == ImportJob.Status.CHECKED, (encoding, job.message)
        assert job.problem_rows == 0, (encoding, job.problems)
        assert job.to_create == 1
        assert (
            encoding[:5].upper().replace("-", "") in job.file_info.replace("-", "").upper()
            or encoding == "cp1258"
            and "1258" in job.file_info
        )
    commit(client, job)
    assert Contribution.objects.get().description == "Tặng quà hộ nghèo"


def test_headers_without_case_diacritics_or_spacing_and_in_english(client, world, upload_as):
    loose = [
        "NGAY",
        "xa",
        "huyen",
        "don vi  ho tro",
        "LINH VUC",
        "noi dung ho tro",
        "hinh thuc",
        "Gia tri(dong)",
        "so luong",
        "DVT",
        "ghi chu",
    ]
    rows = rows_for(world)
    job = upload_as(world.liaison_a, xlsx_bytes([loose, *rows[1:]]))
    assert (job.to_create, job.problem_rows) == (3, 0), job.problems
    english = [
        "Date",
        "Commune",
        "District",
        "Contributor",
        "Area",
        "Description",
        "Form",
        "Value (đồng)",
        "Quantity",
        "Unit",
        "Note",
    ]
    job = upload_as(world.liaison_a, xlsx_bytes([english, *rows[1:]]))
    assert (job.to_create, job.problem_rows) == (3, 0), job.problems


def test_unused_columns_and_extra_sheets_are_reported(client, world, upload_as):
    rows = [[*HEADERS, "Người ký"], *[[*row, "x"] for row in rows_for(world)[1:]]]

    def extra(workbook):
        workbook.create_sheet("Tổng hợp")

    job = upload_as(world.liaison_a, xlsx_bytes(rows, setup=extra))
    notices = " ".join(job.notices)
    assert "“Người ký”" in notices and "“Tổng hợp”" in notices


def test_template_has_the_columns_and_instructions(client, world):
    import io

    import openpyxl

    client.force_login(world.staff)
    for kind in (
        "contributions",
        "visits",
        "difficulties",
        "agencies",
        "enterprises",
        "assignments",
        "twinnings",
    ):
        response = client.get(reverse("programme:import_template", args=[kind]))
        assert response.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook.sheetnames == ["Dữ liệu", "Hướng dẫn"]
        headers = [cell.value for cell in workbook["Dữ liệu"][1]]
        assert headers and all(headers)
    # The contribution template, filled in, imports as it is.
    response = client.get(reverse("programme:import_template", args=["contributions"]))
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    headers = [cell.value for cell in workbook["Dữ liệu"][1]]
    assert headers[:4] == ["Ngày", "Xã", "Huyện", "Mã xã"]


def test_without_category_column_the_description_names_it(client, world, upload_as):
    rows = rows_for(world)
    job = commit(client, upload_as(world.liaison_a, xlsx_bytes(rows)))
    assert job.created == 3
    codes = dict(Contribution.objects.values_list("description", "category__code"))
    assert codes == {
        "Tặng quà hộ nghèo": "gifts",
        "Giống lúa": "seed-stock",
        "Xi măng làm đường": "roads",
    }
    job = upload_as(
        world.liaison_a, xlsx_bytes([HEADERS, [*rows[1][:5], "Hỗ trợ khác", *rows[1][6:]]])
    )
    assert "taken from the description" not in " ".join(job.notices)
    assert job.to_create == 1  # filed under "Khác", in the area the row gives


def test_a_sheet_without_area_or_category_columns(client, world, upload_as):
    rows = [
        ["Ngày", "Xã", "Đơn vị hỗ trợ", "Nội dung hỗ trợ", "Hình thức", "Giá trị (đồng)"],
        ["05/03/2024", "Gia Hưng", "Sở A", "Xây nhà Đại đoàn kết", "Tiền mặt", "50 triệu"],
        ["06/03/2024", "Gia Hưng", "Sở A", "Hỗ trợ chung", "Tiền mặt", "5 triệu"],
    ]
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    assert job.status == ImportJob.Status.CHECKED
    assert job.to_create == 1 and job.problem_rows == 1
    assert job.problems[0][:2] == [3, "Lĩnh vực"]
    assert "1 rows have no category" in " ".join(job.notices)
