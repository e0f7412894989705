"""An export whose worker died does not stay "running" forever.

A real worker claims an export job, is held inside it (this test locks the contributions it
reads), and its pool child is killed with SIGKILL. acks_late + reject_on_worker_lost deliver the
task again, but the job is already claimed, so nothing finishes it: once its heartbeat is older
than EXPORT_STALE_SECONDS, the page (and beat's `reports.fail_stale_exports`) mark it failed
with a message; a live job is left alone.
"""

import datetime
import os
import signal
from datetime import timedelta

import psycopg
import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override

from partners.models import Membership
from partners.services import membership_create
from programme.categories import categories_seed
from programme.models import ContributionCategory
from reports import exports
from reports.models import ExportJob
from tests.factories import ContributionFactory, UserFactory
from tests.reliability.conftest import (
    celery_client,
    children_of,
    start_celery,
    stop_process,
    subprocess_env,
    test_database_dsn,
    wait_for,
    worker_ready,
)

pytestmark = pytest.mark.django_db(transaction=True)

STALE_MESSAGE = "The worker making this export stopped before the end. Start the export again."


def _waiting_on_contributions(blocker) -> bool:
    row = blocker.execute(
        "SELECT COUNT(*) FROM pg_locks WHERE relation = 'programme_contribution'::regclass "
        "AND NOT granted"
    ).fetchone()
    return row[0] > 0


def _job(user, **fields) -> ExportJob:
    return ExportJob.objects.create(
        user=user, kind="contributions", params={"filters": {}, "format": "csv"}, **fields
    )


def test_an_export_whose_worker_was_killed_is_marked_failed(
    private_redis, tmp_path, client, settings
):
    categories_seed(ContributionCategory)
    staff = UserFactory()
    membership_create(user=staff, role=Membership.Role.PROVINCE_STAFF)
    for day in (1, 2, 3):
        ContributionFactory(date=datetime.date(2025, 4, day))
    job = _job(staff)

    log = tmp_path / "worker.log"
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="tests.reliability.worker_settings",
        REDIS_URL=private_redis.url,
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        EXPORT_STALE_SECONDS="600",
    )
    app = celery_client(private_redis.url)
    worker = start_celery("worker", env=env, log=log)
    try:
        assert wait_for(lambda: worker_ready(log), seconds=60), log.read_text()[-3000:]
        blocker = psycopg.connect(test_database_dsn())
        try:
            blocker.execute("LOCK TABLE programme_contribution IN ACCESS EXCLUSIVE MODE")
            result = app.send_task("reports.export_contributions", args=[job.pk])
            assert wait_for(lambda: _waiting_on_contributions(blocker), seconds=30)
            (child,) = children_of(worker.pid)
            os.kill(child, signal.SIGKILL)
        finally:
            blocker.close()
        # Delivered again at once; the job is claimed, so that delivery does nothing.
        assert wait_for(lambda: result.state == "SUCCESS", seconds=60), log.read_text()[-3000:]
        assert result.result is None
        job.refresh_from_db()
        assert job.status == ExportJob.Status.RUNNING

        # Beat's sweep, through the worker, marks a job with an old heartbeat failed...
        old = _job(staff, status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
        live = _job(staff, status="running", heartbeat_at=timezone.now() + timedelta(minutes=5))
        swept = app.send_task("reports.fail_stale_exports")
        assert swept.get(timeout=60) >= 1
        old.refresh_from_db()
        live.refresh_from_db()
        assert old.status == ExportJob.Status.FAILED and old.finished_at
        assert live.status == ExportJob.Status.RUNNING, "a live export is left alone"
        job.refresh_from_db()
        assert job.status == ExportJob.Status.RUNNING, "its heartbeat is seconds old"
    finally:
        stop_process(worker)

    # ...and the page of the killed job says so without waiting for beat.
    settings.EXPORT_STALE_SECONDS = 1
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=5))
    client.force_login(staff)
    page = client.get(reverse("reports:export_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert 'data-status="failed"' in page.content.decode()
    assert "hx-trigger" not in page.content.decode(), "the page stops polling"
    with override("vi"):
        assert gettext(STALE_MESSAGE) in job.error  # written in the worker's language
    assert exports.exports_fail_stale() == 0, "nothing left to mark"
