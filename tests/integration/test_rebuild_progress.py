"""The rebuild button with a real worker: the task goes through Redis, the bar follows it to 100 %.

The worker process must use this run's test database (tests/integration/conftest.py passes its
URL), since it rebuilds the rollups from the records this test commits.
"""

import datetime
import time

import pytest
from django.urls import reverse

from partners.models import Membership
from partners.services import membership_create
from reports import rollups
from reports.models import VisitRollup
from tests.factories import UserFactory, VisitFactory


@pytest.fixture
def categories_back(transactional_db):
    """A transactional test starts from empty tables; seed the categories the factories use."""
    from programme.categories import categories_seed
    from programme.models import ContributionCategory

    categories_seed(ContributionCategory)


@pytest.mark.django_db(transaction=True)
def test_the_bar_follows_a_real_rebuild_to_the_end(categories_back, celery_worker_process, client):
    staff = UserFactory(username="ban_to_chuc")
    membership_create(user=staff, role=Membership.Role.PROVINCE_STAFF)
    visit = VisitFactory(date=datetime.date(2024, 3, 10), kind="cell_meeting", village="Thôn 1")
    rollups.outbox_drain()
    VisitRollup.objects.all().delete()
    client.force_login(staff)

    response = client.post(reverse("reports:completeness_rebuild"), {"year": "2024"})
    assert response.status_code == 302
    task_id = response["Location"].rstrip("/").split("/")[-1]
    status_url = reverse("reports:completeness_rebuild_status", args=[task_id])

    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = client.get(status_url)
        seen.append(status.context["state"])
        if not status.context["running"]:
            break
        assert b'hx-trigger="every 1s"' in status.content
        time.sleep(0.2)

    assert status.context["succeeded"], seen
    assert 'aria-valuenow="100"' in status.content.decode()
    assert b"hx-trigger" not in status.content
    assert VisitRollup.objects.filter(commune=visit.commune, kind="cell_meeting", count=1).exists()
