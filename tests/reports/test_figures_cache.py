"""The dashboard's combined queries give the figures of the separate ones, and kept results
(reports.figures_cache) follow every committed change of the data behind them."""

import datetime
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Membership
from partners.services import membership_create
from programme.models import Area, Contribution, Visit
from programme.periods import Period
from reports import figures_cache, selectors
from reports.models import ContributionRollup, DataChange
from reports.rollups import outbox_drain
from tests.factories import (
    AgencyFactory,
    CommuneFactory,
    ContributionFactory,
    DesignationFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 3, 1)


@pytest.fixture(autouse=True)
def _fresh():
    figures_cache.forget()
    yield
    figures_cache.forget()


def _records(count: int = 60) -> None:
    """Contributions and visits of several communes, statuses, areas, forms and kinds, spread
    over 2015–2025 (some before the programme's first month)."""
    rng = random.Random(140)
    communes = [CommuneFactory() for _ in range(4)]
    agency = AgencyFactory()
    for _ in range(count):
        day = datetime.date(rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28))
        commune = rng.choice(communes)
        form = rng.choice(Contribution.Form.values)
        labour = {"workdays": 10, "daily_rate": 200_000} if form == "labour" else {}
        ContributionFactory(
            commune=commune,
            agency=agency,
            date=day,
            area=rng.choice(Area.values),
            form=form,
            status=rng.choice(Contribution.Status.values),
            value=2_000_000 if labour else rng.randint(1, 9) * 1_000_000,
            **labour,
        )
        VisitFactory(
            commune=commune,
            agency=agency,
            date=day,
            kind=rng.choice(Visit.Kind.values),
            village="Thôn 1",
        )
    outbox_drain()


PERIODS = [
    Period("quarter", 2024, 1),
    Period("month", 2023, 7),
    Period("half", 2022, 2),
    Period("year", 2024),
    Period("year", 2016),  # the first year: last year's months come before the start
    Period("quarter", 2016, 3),
]


@pytest.mark.parametrize("start", [None, datetime.date(2016, 4, 1)], ids=["january", "april"])
@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_the_combined_queries_give_the_figures_of_the_separate_ones(period, start):
    """support_all reads the summaries (whole years, national months) and the rollup (months
    of partial years); the separate queries read only the rollup."""
    _records()
    start = start or selectors.reporting_month(selectors.programme_start())
    windows = selectors.Windows(period, start)

    support, by_commune, quarters, years = selectors.support_all(windows)
    visit_kinds, visits = selectors.visits_all(windows)

    assert support == selectors.support_figures(windows)
    assert support.total.cumulative + support.total.last_year > 0  # records were found
    # A commune whose rows all fall outside the three columns may be listed with zeros or not.
    assert by_commune == {
        commune: figures
        for commune, figures in selectors.support_by_commune(windows).items()
        if figures != selectors.Trio() or commune in by_commune
    }
    assert quarters == selectors.support_by_quarter(period.year)
    assert years == selectors.support_by_year(windows.start, period.year)
    assert visit_kinds == selectors.visits_by_kind(windows)
    assert visits == selectors.visits_by_commune(windows)


def _support_total(period: Period) -> int:
    return selectors.dashboard(period, today=TODAY).support.total.period


def test_a_kept_dashboard_is_served_again_with_a_single_query_until_the_data_changes():
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2024, 2, 1), value=3_000_000)
    outbox_drain()
    period = Period("quarter", 2024, 1)

    first = selectors.dashboard(period, today=TODAY)
    with CaptureQueriesContext(connection) as queries:
        again = selectors.dashboard(period, today=TODAY)
    assert again is first
    assert len(queries) == 1 and "reports_datachange" in queries[0]["sql"]
    assert first.support.total.period == 3_000_000

    # A record and its rollup refresh.
    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 1), value=2_000_000)
    outbox_drain()
    assert _support_total(period) == 5_000_000

    # A change written straight into a rollup table, around the services.
    ContributionRollup.objects.filter(month=datetime.date(2024, 3, 1)).update(total_value=4_000_000)
    assert _support_total(period) == 7_000_000

    # A change of a reference table: the commune is no longer designated in the period.
    before = selectors.dashboard(period, today=TODAY)
    assert [row.place.pk for row in before.communes] == [commune.pk]
    commune.designations.update(valid_from=datetime.date(2024, 6, 1))
    assert selectors.dashboard(period, today=TODAY).communes == []

    # Other periods, days and modes are kept apart.
    assert selectors.dashboard(period, today=datetime.date(2025, 3, 2)) is not first
    assert selectors.dashboard(period, today=TODAY, mode=selectors.TODAY).mode == "today"


def test_the_change_log_is_cut_back_without_serving_old_figures(monkeypatch):
    monkeypatch.setattr(figures_cache, "PRUNE_ABOVE", 5)
    monkeypatch.setattr(figures_cache, "PRUNE_KEEP", 2)
    commune = DesignationFactory().commune
    period = Period("quarter", 2024, 1)
    for value in range(1, 9):
        ContributionFactory(commune=commune, date=datetime.date(2024, 1, 5), value=value)
        outbox_drain()
        assert _support_total(period) == sum(range(1, value + 1))
    assert DataChange.objects.count() <= 5 + 10  # cut back while growing


def test_the_cold_dashboard_costs_a_fixed_number_of_queries(client):
    user = UserFactory()
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    client.force_login(user)
    url = "/dashboard/?kind=year&year=2024"
    DesignationFactory()
    outbox_drain()
    client.get(url)

    def cold() -> int:
        figures_cache.forget()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = cold()
    for _ in range(30):
        DesignationFactory()
    outbox_drain()
    assert cold() == small <= 16


WATCHED = __import__("reports.migrations.0004_datachange_triggers", fromlist=["WATCHED"]).WATCHED


@pytest.mark.parametrize("table", WATCHED)
def test_every_statement_on_a_watched_table_changes_the_stamp(table):
    before = figures_cache.data_stamp()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE false")  # noqa: S608 - fixed names
    assert figures_cache.data_stamp() != before


def test_a_dashboard_read_back_from_the_workers_store_is_the_same_dashboard():
    import pickle

    _records()
    for commune in {c.commune for c in Contribution.objects.select_related("commune")}:
        DesignationFactory(commune=commune)
    outbox_drain()
    dashboard = selectors.dashboard(Period("year", 2024), today=TODAY)
    assert dashboard.communes and dashboard.support.total.cumulative > 0
    again = pickle.loads(pickle.dumps(dashboard, protocol=pickle.HIGHEST_PROTOCOL))
    for name in selectors.Dashboard.__dataclass_fields__:
        assert getattr(again, name) == getattr(dashboard, name), name
    assert again.markers == dashboard.markers
