"""An import and its undo name the import in the history of every record they touch, whatever
the length of the file's name (the reason column holds 100 characters)."""

import pytest
from django.urls import reverse

from programme.imports.models import ImportJob
from programme.models import Contribution
from tests.programme.imports.conftest import commit, xlsx_bytes
from tests.programme.imports.test_flow import rows_for

pytestmark = pytest.mark.django_db

LONG_NAME = (
    "bao-cao-dong-gop-cua-cac-co-quan-don-vi-ho-tro-xa-dac-thu-"
    "quy-mot-nam-2025-ban-chinh-thuc-da-ky-duyet.xlsx"
)


def test_a_long_file_name_is_shortened_in_the_history_not_refused(client, world, upload_as):
    job = commit(client, upload_as(world.liaison_a, xlsx_bytes(rows_for(world)), name=LONG_NAME))
    assert job.status == ImportJob.Status.DONE, job.message
    for record in Contribution.history.all():
        assert f"#{job.pk}" in record.history_change_reason
        assert LONG_NAME[:20] in record.history_change_reason
        assert len(record.history_change_reason) <= 100

    client.force_login(world.staff)
    client.post(reverse("programme:import_undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE, job.message
    deleted = Contribution.history.filter(history_type="-")
    assert deleted.exists()
    assert all(f"#{job.pk}" in record.history_change_reason for record in deleted)
