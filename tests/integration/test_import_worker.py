"""A large import runs in a real worker: the page polls its progress, then the commit saves it."""

import datetime
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from programme.categories import categories_seed
from programme.imports.models import ImportJob
from programme.models import Contribution, ContributionCategory
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory
from tests.programme.imports.conftest import HEADERS, csv_bytes

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 6_000


def _wait(job: ImportJob, statuses, seconds=180) -> tuple[ImportJob, set]:
    seen = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.stage:
            seen.add((job.stage, job.progress_done > 0))
        if job.status in statuses:
            return job, seen
        time.sleep(0.1)
    pytest.fail(f"import still {job.status} after {seconds} s")


def test_a_large_file_is_checked_and_imported_by_the_worker(
    celery_worker_process, client, settings
):
    settings.IMPORT_INLINE_MAX_BYTES = 1_000  # everything bigger goes to the worker
    categories_seed(ContributionCategory)
    commune = CommuneFactory(name="Chất Bình")
    agency = AgencyFactory(short_name="Sở Nội vụ")
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    user = UserFactory(is_superuser=True, is_staff=True)
    start = datetime.date(2020, 1, 1)
    rows = [HEADERS] + [
        [
            (start + datetime.timedelta(days=n % 1500)).strftime("%d/%m/%Y"),
            "Chất Bình",
            "",
            "Sở Nội vụ",
            "Kinh tế",
            f"Hỗ trợ giống đợt {n}",
            "Hiện vật",
            f"{(1000 + n) * 1000:,}".replace(",", "."),
            "",
            "",
            "",
        ]
        for n in range(ROWS)
    ]
    data = csv_bytes(rows, encoding="utf-8-sig")
    client.force_login(user)
    response = client.post(
        reverse("programme:import_list"),
        {"kind": "contributions", "file": SimpleUploadedFile("lon.csv", data)},
    )
    job = ImportJob.objects.latest("pk")
    try:
        assert response.status_code == 302
        # The page polls while the worker checks.
        partial = client.get(job.get_absolute_url(), headers={"HX-Request": "true"})
        assert partial.status_code == 200
        job, seen = _wait(job, {ImportJob.Status.CHECKED, ImportJob.Status.FAILED})
        assert job.status == ImportJob.Status.CHECKED, job.message
        assert (job.rows_total, job.to_create, job.problem_rows) == (ROWS, ROWS, 0), job.problems[
            :3
        ]
        assert ("checking", True) in seen  # progress was written while it ran
        assert Contribution.objects.count() == 0

        client.post(reverse("programme:import_commit", args=[job.pk]))
        job, seen = _wait(job, {ImportJob.Status.DONE, ImportJob.Status.FAILED})
        assert job.status == ImportJob.Status.DONE, job.message
        assert job.created == ROWS
        assert Contribution.objects.count() == ROWS
        total = sum(Contribution.objects.values_list("value", flat=True))
        assert total == sum((1000 + n) * 1000 for n in range(ROWS))
        page = client.get(job.get_absolute_url()).content.decode()
        assert 'id="import-done"' in page

        # Undo runs in the worker too, and removes every row.
        client.post(reverse("programme:import_undo", args=[job.pk]))
        job, _seen = _wait(job, {ImportJob.Status.UNDONE}, seconds=300)
        assert Contribution.objects.count() == 0
    finally:
        job.file.delete(save=False)
