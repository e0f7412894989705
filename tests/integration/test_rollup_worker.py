"""A save through a service reaches the rollups through a real worker, or waits in the outbox
when the broker is down."""

import datetime
import json
import socket
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from celery import current_app

from programme.categories import categories_seed
from programme.models import Contribution, ContributionCategory, RollupOutbox
from programme.services import contribution_record
from reports.models import ContributionRollup
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory
from tests.integration.conftest import BASE_DIR, subprocess_env

DAY = datetime.date(2025, 3, 10)
MONTH = datetime.date(2025, 3, 1)

# Committed writes: the worker and the child processes read them.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def field():
    """An agency in charge of a commune, and a province staff user."""
    categories_seed(ContributionCategory)  # a transactional test may start from a flushed database
    commune = CommuneFactory()
    agency = AgencyFactory()
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    user = UserFactory(is_superuser=True, is_staff=True)
    return commune, agency, user


def _rollup_total(commune) -> Decimal:
    rows = ContributionRollup.objects.filter(commune=commune, month=MONTH)
    return sum((row.total_value for row in rows), Decimal(0))


def _wait_for(condition, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_saved_contribution_reaches_the_rollup_through_the_worker(celery_worker_process, field):
    commune, agency, user = field
    contribution_record(
        user=user,
        date=DAY,
        commune=commune,
        agency=agency,
        category=ContributionCategory.objects.get(code="roads"),
        form="cash",
        value=7_000_000,
        description="Hỗ trợ xi măng làm đường thôn",
    )
    # No drain here: the service's on_commit woke the worker.
    assert _wait_for(lambda: _rollup_total(commune) == 7_000_000, seconds=20)
    assert _wait_for(lambda: not RollupOutbox.objects.exists(), seconds=5)
    assert celery_worker_process.poll() is None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Saves a contribution through the service in a process whose broker is unreachable.
SAVE_WITH_THE_BROKER_DOWN = """
import datetime, json, sys, time
import django
django.setup()
from django.contrib.auth import get_user_model
from communes.models import AdminUnit
from partners.models import Agency
from programme.models import ContributionCategory
from programme.services import contribution_record

commune_id, agency_id, user_id = map(int, sys.argv[1:4])
started = time.monotonic()
contribution = contribution_record(
    user=get_user_model().objects.get(pk=user_id),
    date=datetime.date(2025, 3, 10),
    commune=AdminUnit.objects.get(pk=commune_id),
    agency=Agency.objects.get(pk=agency_id),
    category=ContributionCategory.objects.get(code="roads"),
    form="cash",
    value=5_000_000,
    description="Hỗ trợ khi Redis ngừng",
)
print(json.dumps({"pk": contribution.pk, "seconds": time.monotonic() - started}))
"""


def test_a_save_succeeds_with_the_broker_down_and_the_outbox_keeps_the_refresh(
    celery_worker_process, field
):
    commune, agency, user = field
    broker = f"redis://127.0.0.1:{_closed_port()}/0"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SAVE_WITH_THE_BROKER_DOWN,
            *map(str, (commune.pk, agency.pk, user.pk)),
        ],
        cwd=BASE_DIR,
        env=subprocess_env(REDIS_URL=broker),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads(done.stdout.strip().splitlines()[-1])
    assert "could not wake the rollup worker" in done.stderr
    contribution = Contribution.objects.get(pk=saved["pk"])
    assert contribution.value == 5_000_000
    # The refresh waits in the outbox; nothing reached the rollup.
    assert RollupOutbox.objects.filter(kind="contribution", commune_id=commune.pk, day=DAY).exists()
    assert not ContributionRollup.objects.filter(commune=commune).exists()

    # Beat's minute-by-minute drain (the same task, sent by name) picks it up once Redis is back.
    current_app.send_task("reports.drain_outbox", ignore_result=True)
    assert _wait_for(lambda: _rollup_total(commune) == 5_000_000, seconds=20)
    assert _wait_for(lambda: not RollupOutbox.objects.exists(), seconds=5)

    # The save did not wait for the unreachable broker.
    assert saved["seconds"] < 5
