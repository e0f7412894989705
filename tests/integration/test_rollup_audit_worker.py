"""The audit rows of drains run by a real worker: after a save, and when sent by beat."""

import datetime

import pytest
from celery import current_app

from programme.categories import categories_seed
from programme.models import ContributionCategory
from programme.services import contribution_record
from reports.models import RollupWrite
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    ContributionFactory,
    UserFactory,
)
from tests.integration.test_rollup_worker import _wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_names_a_save_or_the_schedule_as_the_reason(celery_worker_process):
    categories_seed(ContributionCategory)  # a transactional test may start from a flushed database
    commune, agency = CommuneFactory(), AgencyFactory()
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    user = UserFactory(is_superuser=True, is_staff=True)
    contribution_record(
        user=user,
        date=datetime.date(2025, 3, 10),
        commune=commune,
        agency=agency,
        category=ContributionCategory.objects.get(code="roads"),
        form="cash",
        value=7_000_000,
        description="Hỗ trợ xi măng làm đường thôn",
    )
    # The service's on_commit woke the worker.
    assert _wait_for(lambda: RollupWrite.objects.exists(), seconds=20)
    write = RollupWrite.objects.get()
    assert (write.kind, write.trigger, write.reason, write.outcome) == (
        "drain",
        "on_commit",
        "records_changed",
        "done",
    )
    assert (write.outbox_rows, write.counts) == (1, {"contribution": 1})
    assert write.task_id

    # The same task as django-celery-beat sends it, with its entry's name in a header.
    ContributionFactory(commune=commune, agency=agency, date=datetime.date(2025, 4, 20))
    current_app.send_task(
        "reports.drain_outbox",
        headers={"periodic_task_name": "drain-rollup-outbox"},
        ignore_result=True,
    )
    assert _wait_for(lambda: RollupWrite.objects.count() == 2, seconds=20)
    scheduled = RollupWrite.objects.order_by("-pk").first()
    assert (scheduled.trigger, scheduled.outbox_rows) == ("scheduled", 1)
    assert celery_worker_process.poll() is None
