"""Every rollup write leaves a RollupWrite row: who, when, what, why and how it ended."""

import datetime
import getpass
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation

from partners.models import Membership
from partners.services import membership_create
from programme.models import RollupOutbox
from reports import audit, rollups
from reports.models import ContributionRollup, RollupWrite
from reports.tasks import drain_outbox, reconcile
from reports.tasks_completeness import rebuild_with_progress
from tests.factories import ContributionFactory, UserFactory, VisitFactory

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2025, 3, 10)
BEAT = {"periodic_task_name": "drain-rollup-outbox"}  # what django-celery-beat sends


@pytest.fixture
def failing_table():
    """A real database error on the next INSERT into a rollup table (a trigger that raises)."""

    def make(table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                CREATE FUNCTION audit_test_refuse() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION 'disk full (test)'; END $$ LANGUAGE plpgsql"""
            )
            cursor.execute(
                f"CREATE TRIGGER audit_test_refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_test_refuse()"
            )

    return make  # created inside the test's transaction: rolled back with it


def test_a_drain_after_a_save_leaves_one_row_with_its_counts():
    ContributionFactory(date=MARCH, value=5_000_000)
    ContributionFactory(date=datetime.date(2025, 4, 20), value=1_000_000)
    VisitFactory(date=MARCH)
    pending = RollupOutbox.objects.count()

    assert drain_outbox.apply().get() == pending
    write = RollupWrite.objects.get()
    assert (write.kind, write.trigger, write.reason, write.outcome) == (
        "drain",
        "on_commit",
        "records_changed",
        "done",
    )
    assert write.outbox_rows == pending
    assert write.counts == {"contribution": 2, "visit": 1}
    assert write.total == 3
    assert write.started_at <= write.finished_at
    with translation.override("en"):
        assert write.why == f"records changed: {pending} pending refreshes"


def test_an_empty_drain_leaves_no_row():
    assert drain_outbox.apply().get() == 0
    assert not RollupWrite.objects.exists()


def test_a_drain_sent_by_beat_is_scheduled():
    ContributionFactory(date=MARCH)
    drain_outbox.apply(headers=BEAT)
    assert RollupWrite.objects.get().trigger == "scheduled"


def test_a_drain_of_several_batches_is_still_one_row():
    for day in (MARCH, datetime.date(2025, 5, 1), datetime.date(2025, 8, 1)):
        ContributionFactory(date=day)
    pending = RollupOutbox.objects.count()
    assert audit.drain(audit.by_command(), batch=1) == pending
    write = RollupWrite.objects.get()
    assert write.outbox_rows == pending
    assert write.counts == {"contribution": 3}
    assert (write.total, write.trigger, write.os_user) == (3, "command", getpass.getuser())


def test_a_failing_drain_counts_only_the_batches_that_committed(failing_table):
    ContributionFactory(date=MARCH)  # first outbox row: refreshed and committed
    VisitFactory(date=MARCH)  # second: its batch fails and rolls back
    failing_table("reports_visitrollup")
    with pytest.raises(Exception, match="disk full"):
        audit.drain(audit.by_command(), batch=1)
    write = RollupWrite.objects.get()
    assert write.outcome == "failed"
    assert "disk full (test)" in write.error
    assert (write.outbox_rows, write.counts, write.total) == (1, {"contribution": 1}, 1)
    assert list(RollupOutbox.objects.values_list("kind", flat=True)) == ["visit"]


def test_a_drain_whose_only_batch_fails_claims_nothing(failing_table):
    VisitFactory(date=MARCH)
    failing_table("reports_visitrollup")
    with pytest.raises(Exception, match="disk full"):
        audit.drain(audit.by_command())
    write = RollupWrite.objects.get()
    assert (write.outcome, write.outbox_rows, write.counts, write.total) == ("failed", 0, {}, 0)
    assert RollupOutbox.objects.count() == 1  # left for the next drain


def test_a_rebuild_from_the_command_names_the_command_and_the_account():
    ContributionFactory(date=MARCH)
    ContributionFactory(date=datetime.date(2024, 3, 10))
    call_command("rollups", "rebuild", "--year", "2025", stdout=io.StringIO())
    write = RollupWrite.objects.get()
    assert (write.kind, write.trigger, write.reason, write.outcome) == (
        "rebuild",
        "command",
        "requested",
        "done",
    )
    assert write.os_user == getpass.getuser()
    assert write.years == [2025]
    assert (
        write.counts["contribution"] == ContributionRollup.objects.filter(month__year=2025).count()
    )
    assert write.counts["contribution"] >= 1
    with translation.override("en"):
        assert write.why == (
            f"rebuild requested by the rollups command (system account {getpass.getuser()})"
        )
    assert write.finished_at is not None


def test_a_rebuild_from_the_button_names_the_user(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    staff = UserFactory(username="ban_to_chuc", first_name="Lan", last_name="Nguyễn")
    membership_create(user=staff, role=Membership.Role.PROVINCE_STAFF)
    client.force_login(staff)
    ContributionFactory(date=MARCH)
    sent = []  # the task the page queues, run below in-process instead of by a worker
    monkeypatch.setattr(rebuild_with_progress, "apply_async", lambda **kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:completeness_rebuild"), {"year": ""})
    (queued,) = sent
    rebuild_with_progress.apply(kwargs=queued["kwargs"], task_id=queued["task_id"])

    write = RollupWrite.objects.get()
    assert (write.trigger, write.user, write.task_id) == ("user", staff, queued["task_id"])
    assert (write.years, write.outcome) == ([], "done")
    with translation.override("en"):
        assert write.scope == "all years"
        assert write.why == f"rebuild requested by {staff.get_full_name()}"


def test_a_failing_rebuild_is_recorded_as_failed(failing_table):
    ContributionFactory(date=MARCH)
    failing_table("reports_contributionrollup")
    with pytest.raises(Exception, match="disk full"):
        call_command("rollups", "rebuild", "--year", "2025", stdout=io.StringIO())
    write = RollupWrite.objects.get()
    assert (write.kind, write.outcome) == ("rebuild", "failed")
    assert "disk full (test)" in write.error
    assert write.finished_at is not None
    assert write.counts == {}


def test_the_nightly_reconciliation_records_the_drift_it_repaired():
    ContributionFactory(date=MARCH, value=5_000_000)
    rollups.outbox_drain()  # not through the audit: the rows below are the reconciliations'
    ContributionRollup.objects.update(total_value=1)  # drift

    reconcile.apply(kwargs={"years": [2025]}, headers=BEAT)
    write = RollupWrite.objects.get()
    assert (write.kind, write.trigger, write.reason, write.outcome) == (
        "reconcile",
        "scheduled",
        "drift_repaired",
        "done",
    )
    assert write.counts["contribution:2025"] == 1
    assert write.total == sum(write.counts.values()) >= 1
    assert write.years == [2025]

    reconcile.apply(kwargs={"years": [2025]}, headers=BEAT)  # nothing left to repair
    clean = RollupWrite.objects.order_by("-pk").first()
    with translation.override("en"):
        assert (clean.reason, clean.total, clean.why) == ("nightly", 0, "nightly reconciliation")
