"""The national summaries of the contribution rollup (migration reports/0007): database triggers
keep them equal to the rollup whoever writes it, and the reconciliation repairs them."""

import datetime
import threading
from decimal import Decimal

import psycopg
import pytest

from programme.categories import categories_seed
from programme.models import Contribution, ContributionCategory
from reports import rollups
from reports.models import ContributionRollup, DeliveredByCommuneYear, SupportByMonth
from reports.selectors import NO_YEARS, split_by_years
from tests.factories import CommuneFactory, ContributionFactory
from tests.integration.conftest import worker_database_url

pytestmark = pytest.mark.django_db

DELIVERED = Contribution.Status.DELIVERED
PLEDGED = Contribution.Status.PLEDGED


def _no_drift():
    assert rollups.summaries_drift() == dict.fromkeys(rollups.SUMMARIES, 0)


def _delivered(commune, year) -> Decimal | None:
    row = DeliveredByCommuneYear.objects.filter(commune=commune, year=year).first()
    return row and row.total_value


def test_drained_writes_reach_both_summaries():
    commune = CommuneFactory()
    first = ContributionFactory(
        commune=commune, date=datetime.date(2025, 3, 10), value=5_000_000, status=DELIVERED
    )
    ContributionFactory(
        commune=commune, date=datetime.date(2025, 3, 12), value=2_000_000, status=PLEDGED
    )
    ContributionFactory(
        commune=commune, date=datetime.date(2024, 8, 1), value=1_000_000, status=DELIVERED
    )
    rollups.outbox_drain()
    _no_drift()
    assert _delivered(commune, 2025) == 5_000_000  # the pledge is not delivered support
    assert _delivered(commune, 2024) == 1_000_000
    march = SupportByMonth.objects.filter(month=datetime.date(2025, 3, 1))
    assert sum(row.total_value for row in march) == 7_000_000
    assert sum(row.count for row in march) == 2

    # An update, a move to another year, a delivery and a deletion.
    Contribution.objects.filter(pk=first.pk).update(value=6_000_000)
    rollups.outbox_drain()
    assert _delivered(commune, 2025) == 6_000_000
    Contribution.objects.filter(pk=first.pk).update(date=datetime.date(2024, 8, 2))
    Contribution.objects.filter(status=PLEDGED).update(status=DELIVERED)
    rollups.outbox_drain()
    _no_drift()
    assert _delivered(commune, 2024) == 7_000_000
    assert _delivered(commune, 2025) == 2_000_000
    Contribution.objects.all().delete()
    rollups.outbox_drain()
    _no_drift()
    # Rows that sum to nothing are removed, not kept as zeros.
    assert not SupportByMonth.objects.exists()
    assert not DeliveredByCommuneYear.objects.exists()


@pytest.mark.parametrize("year", [2025, None], ids=["one year", "everything"])
def test_rebuilds_keep_the_summaries(year):
    commune = CommuneFactory()
    for day in (datetime.date(2025, 1, 5), datetime.date(2025, 6, 5), datetime.date(2023, 2, 1)):
        ContributionFactory(commune=commune, date=day, value=3_000_000, status=DELIVERED)
    rollups.outbox_drain()
    before = sorted(SupportByMonth.objects.values_list("month", "area", "total_value", "count"))
    rollups.rollups_rebuild(year=year)
    _no_drift()
    after = sorted(SupportByMonth.objects.values_list("month", "area", "total_value", "count"))
    assert after == before
    assert DeliveredByCommuneYear.objects.count() == 2  # 2023 and 2025, one commune each


def test_the_reconciliation_repairs_a_summary_edited_by_hand():
    ContributionFactory(date=datetime.date(2025, 3, 10), value=5_000_000, status=DELIVERED)
    rollups.outbox_drain()
    DeliveredByCommuneYear.objects.update(total_value=1)
    SupportByMonth.objects.all().delete()
    assert rollups.summaries_drift() == {
        "reports_supportbymonth": 1,
        "reports_deliveredbycommuneyear": 2,  # the stored row and the right one
    }
    repaired = rollups.rollups_reconcile(years=[2025])
    assert repaired["summaries"] == 3
    _no_drift()
    assert DeliveredByCommuneYear.objects.get().total_value == 5_000_000


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_month_wait_for_each_other_and_both_count():
    """Two transactions changing rollup rows of the same month (two drains): the second waits
    for the first one's commit (the summaries' lock) and adds its own change on top."""
    categories_seed(ContributionCategory)
    communes = [CommuneFactory() for _ in range(2)]
    category = ContributionFactory().category
    ContributionRollup.objects.all().delete()
    dsn = worker_database_url()
    insert = (
        "INSERT INTO reports_contributionrollup (month, commune_id, category_id, area, form, "
        "status, total_value, count) VALUES ('2025-03-01', %s, %s, 'economy', 'cash', "
        "'delivered', %s, 1)"
    )
    with psycopg.connect(dsn) as first, psycopg.connect(dsn) as second:
        first.execute(insert, [communes[0].pk, category.pk, 4_000_000])
        done = threading.Event()

        def write_second():
            second.execute(insert, [communes[1].pk, category.pk, 6_000_000])
            second.commit()
            done.set()

        thread = threading.Thread(target=write_second)
        thread.start()
        assert not done.wait(1), "the second writer went ahead of the first one's commit"
        first.commit()
        thread.join(30)
        assert done.is_set()
    _no_drift()
    assert SupportByMonth.objects.get().total_value == 10_000_000
    assert {row.commune_id: row.total_value for row in DeliveredByCommuneYear.objects.all()} == {
        communes[0].pk: 4_000_000,
        communes[1].pk: 6_000_000,
    }


@pytest.mark.parametrize(
    ("first", "last", "years", "months"),
    [
        ((2016, 1), (2026, 11), (2016, 2025), [((2026, 1), (2026, 11))]),
        ((2016, 4), (2026, 12), (2017, 2026), [((2016, 4), (2016, 12))]),
        ((2016, 4), (2018, 2), (2017, 2017), [((2016, 4), (2016, 12)), ((2018, 1), (2018, 2))]),
        ((2024, 1), (2024, 12), (2024, 2024), []),
        ((2024, 4), (2024, 6), NO_YEARS, [((2024, 4), (2024, 6))]),
        ((2024, 4), (2025, 3), NO_YEARS, [((2024, 4), (2025, 3))]),
        ((2024, 5), (2024, 4), NO_YEARS, []),
    ],
)
def test_split_by_years(first, last, years, months):
    def month(pair):
        return datetime.date(*pair, 1)

    assert split_by_years(month(first), month(last)) == (
        years,
        [(month(a), month(b)) for a, b in months],
    )
