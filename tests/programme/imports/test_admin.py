"""Administrators import from the admin with the same checks, and see every import there."""

import pytest
from django.urls import reverse

from programme.imports.models import ImportJob
from programme.models import Contribution
from tests.programme.imports.conftest import HEADERS, xlsx_bytes

pytestmark = pytest.mark.django_db

ROW = [
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


def test_upload_check_and_import_from_the_admin(admin_client, world, media_root, sheet_upload):
    changelist = admin_client.get(reverse("admin:programme_importjob_changelist"))
    assert reverse("admin:programme_importjob_upload") in changelist.content.decode()
    response = admin_client.post(
        reverse("admin:programme_importjob_upload"),
        {"kind": "contributions", "file": sheet_upload(xlsx_bytes([HEADERS, ROW, ROW[:5]]))},
    )
    job = ImportJob.objects.get()
    assert job.via_admin
    report_url = reverse("admin:programme_importjob_report", args=[job.pk])
    assert response.url == report_url
    page = admin_client.get(report_url).content.decode()
    assert 'id="import-problems"' in page and job.problem_rows == 1

    response = admin_client.post(
        reverse("admin:programme_importjob_upload"),
        {"kind": "contributions", "file": sheet_upload(xlsx_bytes([HEADERS, ROW]))},
    )
    job = ImportJob.objects.latest("pk")
    page = admin_client.get(response.url).content.decode()
    assert 'id="import-commit"' in page
    response = admin_client.post(
        reverse("programme:import_commit", args=[job.pk]), {"next": response.url}
    )
    assert response.url == reverse("admin:programme_importjob_report", args=[job.pk])
    assert Contribution.objects.count() == 1
    # The change page shows the report; nothing of an import can be edited or deleted.
    change = admin_client.get(reverse("admin:programme_importjob_change", args=[job.pk]))
    assert change.url == reverse("admin:programme_importjob_report", args=[job.pk])
    delete = admin_client.post(reverse("admin:programme_importjob_delete", args=[job.pk]))
    assert delete.status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_the_next_parameter_never_leaves_the_site(client, world, media_root, sheet_upload):
    client.force_login(world.staff)
    client.post(
        reverse("programme:import_list"),
        {"kind": "contributions", "file": sheet_upload(xlsx_bytes([HEADERS, ROW]))},
    )
    job = ImportJob.objects.get()
    response = client.post(
        reverse("programme:import_commit", args=[job.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == job.get_absolute_url()
