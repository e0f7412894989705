"""The rollup core, one behaviour at a time (the property-based test covers sequences)."""

import datetime
from decimal import Decimal

import pytest

from programme.models import Contribution, RollupOutbox
from reports import rollups
from reports.models import ContributionRollup
from tests.factories import ContributionFactory

pytestmark = pytest.mark.django_db


def _rollup_total(commune, month):
    rows = ContributionRollup.objects.filter(commune=commune, month=month)
    return sum((row.total_value for row in rows), Decimal(0))


def test_a_saved_contribution_queues_its_cell_and_the_drain_fills_it():
    contribution = ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000)
    assert RollupOutbox.objects.filter(
        kind="contribution", commune_id=contribution.commune_id, day=contribution.date
    ).exists()
    assert rollups.outbox_drain() >= 1
    assert _rollup_total(contribution.commune, datetime.date(2025, 3, 1)) == 5_000_000
    assert not RollupOutbox.objects.exists()


def test_moving_a_contribution_to_another_month_empties_the_old_cell():
    contribution = ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000)
    rollups.outbox_drain()
    Contribution.objects.filter(pk=contribution.pk).update(date=datetime.date(2025, 5, 2))
    rollups.outbox_drain()
    assert _rollup_total(contribution.commune, datetime.date(2025, 3, 1)) == 0
    assert _rollup_total(contribution.commune, datetime.date(2025, 5, 1)) == 5_000_000


def test_deleting_a_contribution_removes_it_from_the_rollup():
    contribution = ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000)
    rollups.outbox_drain()
    Contribution.objects.filter(pk=contribution.pk).delete()
    rollups.outbox_drain()
    assert not ContributionRollup.objects.filter(commune=contribution.commune).exists()


def test_reconcile_repairs_a_tampered_cell():
    contribution = ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000)
    rollups.outbox_drain()
    ContributionRollup.objects.update(total_value=1)
    repaired = rollups.rollups_reconcile(years=[2025])
    assert repaired["contribution:2025"] == 1
    assert _rollup_total(contribution.commune, datetime.date(2025, 3, 1)) == 5_000_000


def test_rebuild_gives_the_same_rows_as_the_drain():
    ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000)
    ContributionFactory(date=datetime.date(2025, 7, 1), value=7_000_000)
    rollups.outbox_drain()
    before = sorted(ContributionRollup.objects.values_list("commune", "month", "total_value"))
    rollups.rollups_rebuild(year=2025)
    after = sorted(ContributionRollup.objects.values_list("commune", "month", "total_value"))
    assert before == after
    assert rollups.rollups_drift(rollups.SPECS["contribution"], year=2025) == []
