"""The commit saves the rows the dry run kept, unless what they were checked against changed."""

import datetime

import pytest

from partners.models import Assignment
from programme.imports import checked
from programme.imports.checked import Records
from programme.imports.models import CheckedRows, ImportedRecord, ImportJob
from programme.models import Contribution, ContributionCategory
from tests.factories import AgencyFactory
from tests.programme.imports.conftest import commit, xlsx_bytes
from tests.programme.imports.test_flow import rows_for

pytestmark = pytest.mark.django_db


def _rewrite_note(job: ImportJob, note: str) -> None:
    """Change the note of the first kept row, keeping the fingerprint it was checked with."""
    kept = CheckedRows.objects.get(job=job)
    rows = checked.load(job, fingerprint=kept.fingerprint)
    records = Records(Contribution)
    values = list(records.decode(rows[0].line))
    values[records.position["note"]] = note
    names = [field.attname for field in records.fields]
    rows[0].line = records.encode(Contribution(**dict(zip(names, values, strict=True))))
    checked.store(job, rows, fingerprint=kept.fingerprint)


def test_the_commit_saves_the_rows_the_dry_run_kept(client, world, upload_as):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    assert job.status == ImportJob.Status.CHECKED
    kept = CheckedRows.objects.get(job=job)
    assert [item.row for item in checked.load(job, fingerprint=kept.fingerprint)] == [2, 3, 4]
    # What is saved comes from the kept rows, not from the file read again.
    _rewrite_note(job, "from the kept rows")

    job = commit(client, job)
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created, job.rows_total) == (3, 3)
    assert Contribution.objects.get(description="Tặng quà hộ nghèo").note == "from the kept rows"
    assert not CheckedRows.objects.filter(job=job).exists()  # dropped once saved
    # Each record has its history and its link for the undo, as before.
    for contribution in Contribution.objects.all():
        record = contribution.history.get()
        assert (record.history_type, record.history_user) == ("+", world.liaison_a)
        assert f"import #{job.pk}" in record.history_change_reason
        assert contribution.created_by == world.liaison_a and contribution.version == 1
    rows = dict(job.records.values_list("object_id", "row"))
    assert sorted(rows.values()) == [2, 3, 4]
    assert set(rows) == set(Contribution.objects.values_list("pk", flat=True))
    assert set(job.records.values_list("action", flat=True)) == {ImportedRecord.Action.CREATED}


def test_a_dry_run_with_problems_keeps_no_rows(world, upload_as):
    rows = rows_for(world)
    rows[2][7] = "hai triệu rưỡi"
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    assert job.problem_rows == 1
    assert not CheckedRows.objects.filter(job=job).exists()


def test_a_duplicate_saved_since_the_dry_run_is_skipped(client, world, upload_as):
    rows = rows_for(world)
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    # Meanwhile someone imports one of the rows.
    commit(client, upload_as(world.liaison_a, xlsx_bytes(rows[:2])))
    assert Contribution.objects.count() == 1

    job = commit(client, job)
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created, job.duplicates) == (2, 1)
    assert Contribution.objects.count() == 3


def test_a_term_ended_since_the_dry_run_the_file_is_checked_again_and_nothing_saved(
    client, world, upload_as
):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    assert job.can_commit
    Assignment.objects.filter(agency=world.agency_a).update(end_date=datetime.date(2020, 12, 31))

    job = commit(client, job)
    assert job.status == ImportJob.Status.CHECKED
    assert "changed since the dry run" in job.message
    assert job.problem_rows == 3 and not job.can_commit
    assert all("was not in charge of" in message for _row, _column, message in job.problems)
    assert Contribution.objects.count() == 0
    assert not job.records.exists()
    assert not CheckedRows.objects.filter(job=job).exists()
    page = client.get(job.get_absolute_url()).content.decode()
    assert "changed since the dry run" in page


def test_a_commune_renamed_since_the_dry_run_saves_nothing(client, world, upload_as):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    world.commune1.name = "Gia Hưng Mới"
    world.commune1.save()

    job = commit(client, job)
    assert job.status == ImportJob.Status.CHECKED
    assert {message[:15] for _row, _column, message in job.problems} == {"Unknown commune"}
    assert Contribution.objects.count() == 0


def test_other_reference_changes_check_the_file_again_then_save_it(client, world, upload_as):
    job = upload_as(world.liaison_a, xlsx_bytes(rows_for(world)))
    fingerprint = CheckedRows.objects.get(job=job).fingerprint
    AgencyFactory(short_name="Sở C")  # the kept rows no longer match what is in the database

    _rewrite_note(job, "from the kept rows")
    assert CheckedRows.objects.get(job=job).fingerprint == fingerprint
    job = commit(client, job)
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.created == 3
    # Saved from the file checked again, not from the (now stale) kept rows.
    assert Contribution.objects.get(description="Tặng quà hộ nghèo").note == "đợt 1"


def test_the_commit_still_updates_changed_details(client, world, upload_as):
    rows = rows_for(world)
    commit(client, upload_as(world.liaison_a, xlsx_bytes(rows)))
    rows[1][10] = "đợt 1, đã bàn giao"
    job = upload_as(world.liaison_a, xlsx_bytes(rows))
    gift = Contribution.objects.get(description="Tặng quà hộ nghèo")
    gift.note = "sửa tay sau khi kiểm tra"  # edited between the dry run and the commit
    gift.save()

    job = commit(client, job)
    assert (job.created, job.updated, job.duplicates) == (0, 1, 2)
    gift.refresh_from_db()
    assert gift.note == "đợt 1, đã bàn giao"
    # The link keeps what the commit replaced, read at the commit, not at the dry run.
    assert job.records.get().before == {"note": "sửa tay sau khi kiểm tra"}


def test_a_table_not_starting_at_a1_is_read_in_place(world, upload_as):
    """Rows are streamed from the sheet: a table from C3 keeps Excel's row numbers and columns
    (a formula is still found in its own cell)."""

    def shifted(workbook):
        sheet = workbook.active
        sheet.delete_rows(1, sheet.max_row)
        for row_index, values in enumerate(rows_for(world), start=3):
            for column_index, value in enumerate(values, start=3):
                sheet.cell(row=row_index, column=column_index, value=value)
        sheet["J6"] = "=1000000*22"  # the value (column 8 of the table) of its last row

    job = upload_as(world.liaison_a, xlsx_bytes([], setup=shifted))
    assert job.status == ImportJob.Status.CHECKED, job.message
    assert (job.rows_total, job.to_create, job.problem_rows) == (3, 2, 1)
    assert [problem[:2] for problem in job.problems] == [[6, "Giá trị (đồng)"]]
    assert "formula" in job.problems[0][2]


def test_a_record_whose_commune_is_gone_is_refused_by_the_database(world):
    """COPY reports a broken foreign key as Django's IntegrityError, which the commit turns
    into “Nothing was imported”; the transaction keeps nothing. (Foreign keys are checked at the
    end of the transaction; here at once, to see COPY's own error.)"""
    from django.db import IntegrityError, connection, transaction
    from django.utils import timezone

    from programme.imports import copying

    records = Records(Contribution)
    contribution = Contribution(
        date=datetime.date(2024, 3, 5),
        commune_id=world.commune1.pk + 10_000,
        agency=world.agency_a,
        area="welfare",
        category_id=ContributionCategory.objects.get(code="gifts").pk,
        form="cash",
        value=1_000_000,
        description="Tặng quà",
    )
    record = records.decode(records.encode(contribution))
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        copying.create_records(
            Contribution, [record], 1, user_id=world.staff.pk, reason="test", now=timezone.now()
        )
    assert Contribution.objects.count() == 0
    assert Contribution.history.count() == 0
