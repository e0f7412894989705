"""The province dashboard: figures from the rollups, places as recorded or by today's units, the
map data, who may see it, period input, query count and the assets it loads.

Records are made with the factories and reach the rollup tables through outbox_drain(), as in
production. Periods are in the past (quarter 1 of 2024 against quarter 1 of 2023), so that
"today" never cuts them short.
"""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from communes.models import NtmRecognition, Succession
from partners.models import Membership
from partners.services import membership_create
from programme.models import Contribution, ContributionCategory
from programme.periods import Period
from reports import selectors
from reports.rollups import outbox_drain
from tests.factories import (
    AgencyFactory,
    CommuneFactory,
    ContributionFactory,
    CriteriaSetFactory,
    DesignationFactory,
    DifficultyFactory,
    DistrictFactory,
    EnterpriseFactory,
    ProgrammeFactory,
    ProvinceFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

Q1_2024 = {"kind": "quarter", "year": "2024", "number": "1"}
PERIOD = Period("quarter", 2024, 1)
LATER = datetime.date(2024, 6, 1)  # a "today" after the period


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def staff(db):
    user = UserFactory(username="ban_to_chuc")
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def category(code: str) -> ContributionCategory:
    return ContributionCategory.objects.get(code=code)


def figures(**kwargs) -> selectors.Dashboard:
    kwargs.setdefault("today", LATER)
    return selectors.dashboard(PERIOD, **kwargs)


def figure(response, name: str) -> str:
    """The text of the element marked data-figure="name"."""
    match = re.search(rf'data-figure="{name}"[^>]*>([^<]*)<', response.content.decode())
    assert match, f"no figure {name}"
    return match.group(1).strip()


def json_data(response, element_id: str):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no json_script {element_id}"
    return json.loads(match.group(1))


# --- Support --------------------------------------------------------------------------------------


def test_support_totals_are_the_sums_of_the_delivered_contributions(staff_client):
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2024, 1, 5), value=500_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 31), value=22_000_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2023, 2, 10), value=7_500_000)
    ContributionFactory(commune=commune, date=datetime.date(2022, 8, 1), value=3_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2024, 4, 1), value=99_000_000)
    ContributionFactory(
        commune=commune, date=datetime.date(2024, 2, 1), value=4_000_000, status="pledged"
    )
    outbox_drain()

    support = figures().support

    assert support.total.period == Decimal("22500000000")
    assert support.total.last_year == Decimal("7500000")
    # Cumulative: from the programme's start to the end of the period (not the later April).
    assert support.total.cumulative == Decimal("22510500000")
    assert support.count.period == 2
    # A pledge is not support yet: it stands apart.
    assert support.pledged == selectors.Trio(period=4_000_000, last_year=0, cumulative=4_000_000)
    response = staff_client.get(reverse("reports:dashboard"), Q1_2024)
    assert figure(response, "support-period") == "22,5 billion đồng"
    assert figure(response, "support-last-year") == "7,5 million đồng"
    assert figure(response, "support-cumulative") == "22,5 billion đồng"
    assert figure(response, "support-pledged") == "4 million đồng"


def test_support_is_split_by_area_and_by_form(staff_client):
    commune = DesignationFactory().commune
    day = datetime.date(2024, 2, 1)
    ContributionFactory(commune=commune, date=day, value=10_000_000)  # ntm, cash
    ContributionFactory(
        commune=commune,
        date=day,
        area="welfare",
        category=category("scholarships"),
        value=4_000_000,
    )
    ContributionFactory(
        commune=commune,
        date=day,
        area="economy",
        category=category("seed-stock"),
        form="in_kind",
        value=6_000_000,
    )
    ContributionFactory(
        commune=commune,
        date=day,
        form="labour",
        workdays=10,
        daily_rate=200_000,
        value=2_000_000,
    )
    ContributionFactory(
        commune=commune,
        date=datetime.date(2023, 3, 1),
        area="welfare",
        category=category("gifts"),
        form="in_kind",
        value=5_000_000,
    )
    outbox_drain()

    support = figures().support
    by_area = {code: trio for code, _label, trio in support.by_area}
    by_form = {code: trio for code, _label, trio in support.by_form}

    assert by_area["ntm"].period == 12_000_000
    assert by_area["welfare"].period == 4_000_000
    assert by_area["welfare"].last_year == 5_000_000
    assert by_area["economy"].period == 6_000_000
    assert by_area["party"].cumulative == 0
    assert by_form["cash"].period == 14_000_000
    assert by_form["in_kind"].period == 6_000_000
    assert by_form["in_kind"].last_year == 5_000_000
    assert by_form["labour"].period == 2_000_000
    assert sum(t.period for t in by_area.values()) == support.total.period == 22_000_000
    page = staff_client.get(reverse("reports:dashboard"), Q1_2024).content.decode()
    assert re.search(
        r'data-row="labour">\s*<td>Labour \(workdays\)</td>\s*<td[^>]*>2 million', page
    )


def test_support_by_quarter_and_by_year_feed_the_charts():
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2024, 2, 1), value=3_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2024, 11, 1), value=5_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2023, 6, 1), value=7_000_000)
    outbox_drain()

    charts = figures().charts

    ntm = next(d for d in charts["quarters"]["datasets"] if d["key"] == "ntm")
    assert ntm["data"] == [3_000_000, 0, 0, 5_000_000]
    years = dict(zip(charts["years"]["labels"], charts["years"]["data"], strict=True))
    assert years["2023"] == 7_000_000
    assert years["2024"] == 8_000_000
    assert years["2016"] == 0


# --- NTM, difficulties, visits --------------------------------------------------------------------


def test_ntm_levels_count_designated_communes_in_the_period_last_year_and_cumulatively():
    criteria = CriteriaSetFactory(first_year=2016, last_year=2025)
    a, b, c = (DesignationFactory().commune for _ in range(3))
    outsider = CommuneFactory()

    def recognise(commune, level, year, day=None):
        NtmRecognition.objects.create(
            commune=commune, criteria_set=criteria, level=level, year=year, recognised_on=day
        )

    recognise(a, "standard", 2023, datetime.date(2023, 2, 10))  # same period last year
    recognise(b, "standard", 2024, datetime.date(2024, 3, 1))  # in the period
    recognise(b, "advanced", 2024, datetime.date(2024, 2, 1))  # in the period
    recognise(c, "standard", 2022)  # undated: counts from the end of 2022
    recognise(outsider, "standard", 2024, datetime.date(2024, 3, 1))  # not a special commune

    data = figures()
    ntm = {level: trio for level, _label, trio in data.ntm}

    assert ntm["standard"] == selectors.Trio(period=1, last_year=1, cumulative=3)
    assert ntm["advanced"] == selectors.Trio(period=1, last_year=0, cumulative=1)
    assert ntm["model"] == selectors.Trio(period=0, last_year=0, cumulative=0)
    levels = {row.place.pk: row.ntm_level for row in data.communes}
    assert levels == {a.pk: "standard", b.pk: "advanced", c.pk: "standard"}


def test_open_difficulties_and_their_median_age(staff_client):
    first, second = DesignationFactory().commune, DesignationFactory().commune
    for day in (datetime.date(2024, 1, 10), datetime.date(2024, 1, 20), datetime.date(2024, 3, 1)):
        DifficultyFactory(commune=first, raised_on=day)
    DifficultyFactory(commune=second, raised_on=datetime.date(2024, 2, 1))
    DifficultyFactory(
        commune=second,
        raised_on=datetime.date(2023, 12, 1),
        status="resolved",
        resolution="Đã sửa đường.",
        resolved_on=datetime.date(2024, 2, 15),
    )
    outbox_drain()

    data = figures()

    assert data.open_now.count == 4
    # Open ones raised 10/1, 20/1, 1/3 and 1/2: the median day is 20/1/2024.
    assert data.open_now.median_raised_on == datetime.date(2024, 1, 20)
    assert data.median_age == (LATER - datetime.date(2024, 1, 20)).days
    assert data.difficulties["raised"] == selectors.Trio(period=4, last_year=0, cumulative=5)
    assert data.difficulties["resolved"] == selectors.Trio(period=1, last_year=0, cumulative=1)
    row = next(row for row in data.communes if row.place.pk == first.pk)
    assert (row.open.count, row.median_age) == (3, (LATER - datetime.date(2024, 1, 20)).days)
    response = staff_client.get(reverse("reports:dashboard"), Q1_2024)
    assert figure(response, "open-difficulties") == "4"
    age = (timezone.localdate() - datetime.date(2024, 1, 20)).days
    assert figure(response, "median-age") == f"{age:,} days".replace(",", ".")


def test_visit_completeness_counts_months_with_the_expected_party_cell_meetings():
    programme = ProgrammeFactory(cell_meetings_per_month=2)
    commune = DesignationFactory(programme=programme).commune
    agency = AgencyFactory()
    for day in (1, 2):  # January: two meetings, met
        VisitFactory(
            commune=commune,
            agency=agency,
            kind="cell_meeting",
            village="Thôn Đông",
            date=datetime.date(2024, 1, day),
        )
    VisitFactory(  # February: one meeting of the two expected
        commune=commune,
        agency=agency,
        kind="cell_meeting",
        village="Thôn Đông",
        date=datetime.date(2024, 2, 3),
    )
    for day in (4, 5):  # March: two visits, but not Party-cell meetings
        VisitFactory(commune=commune, agency=agency, date=datetime.date(2024, 3, day))
    outbox_drain()

    data = figures()
    row = data.communes[0]

    assert row.completeness.met.period == 1
    assert row.completeness.expected.period == 3
    assert row.completeness_percent == 33
    assert row.colour == selectors.COLOUR_POOR
    assert row.visits.period == 5
    assert data.completeness.percent["period"] == 33
    visits = {kind: trio for kind, _label, trio in data.visits}
    assert visits["cell_meeting"].period == 3
    assert visits["survey"].period == 2


def test_months_still_to_come_are_not_due():
    commune = DesignationFactory().commune
    VisitFactory(
        commune=commune, kind="cell_meeting", village="Thôn Đông", date=datetime.date(2024, 1, 9)
    )
    outbox_drain()

    row = figures(today=datetime.date(2024, 1, 20)).communes[0]

    assert (row.completeness.met.period, row.completeness.expected.period) == (1, 1)
    assert row.colour == selectors.COLOUR_GOOD


# --- The map --------------------------------------------------------------------------------------


def test_the_map_markers_are_in_the_page_for_each_designated_commune(staff_client):
    placed = DesignationFactory(
        commune=CommuneFactory(
            name="Gia Hưng", latitude=Decimal("20.401719"), longitude=Decimal("105.823159")
        )
    ).commune
    unplaced = DesignationFactory(commune=CommuneFactory(name="Chất Bình")).commune
    for month in (1, 2, 3):
        VisitFactory(
            commune=placed,
            kind="cell_meeting",
            village="Thôn Đông",
            date=datetime.date(2024, month, 9),
        )
    outbox_drain()

    response = staff_client.get(reverse("reports:dashboard"), Q1_2024)

    markers = json_data(response, "dashboard-markers")
    assert markers == [
        {
            "id": placed.pk,
            "name": "Xã Gia Hưng",
            "district": placed.parent.full_name,
            "lat": 20.401719,
            "lon": 105.823159,
            "colour": selectors.COLOUR_GOOD,
            "completeness": 100,
            "url": reverse("programme:commune_detail", args=[placed.pk]),
        }
    ]
    assert unplaced.full_name in response.content.decode().split('id="unplaced"')[1]


def test_the_commune_table_drills_down_to_the_commune_page(staff_client):
    commune = DesignationFactory(commune=CommuneFactory(name="Ninh Hòa")).commune

    response = staff_client.get(reverse("reports:dashboard"), Q1_2024)

    url = reverse("programme:commune_detail", args=[commune.pk])
    assert f'<a href="{url}">Xã Ninh Hòa</a>' in response.content.decode()
    assert staff_client.get(url).status_code == 200


# --- Places: as recorded or by today's units ------------------------------------------------------


@pytest.fixture
def merger():
    """Ninh Xuân (Hoa Lư district) was absorbed into Ninh Nhất on 1/1/2025, which became the
    ward Hoa Lư on 1/7/2025; part of Ninh Xuân also went to Ninh Phong (not the default)."""
    province = ProvinceFactory(name="Ninh Bình")
    district = DistrictFactory(name="Hoa Lư", parent=province)
    old = CommuneFactory(
        name="Ninh Xuân",
        parent=district,
        valid_until=datetime.date(2024, 12, 31),
        latitude=Decimal("20.2"),
        longitude=Decimal("105.9"),
    )
    middle = CommuneFactory(
        name="Ninh Nhất", parent=district, valid_until=datetime.date(2025, 6, 30)
    )
    today_unit = CommuneFactory(
        name="Hoa Lư",
        kind="phuong",
        parent=province,
        latitude=Decimal("20.25"),
        longitude=Decimal("105.97"),
    )
    side = CommuneFactory(name="Ninh Phong", parent=province)
    Succession.objects.create(
        predecessor=old, successor=middle, effective_date=datetime.date(2025, 1, 1)
    )
    Succession.objects.create(
        predecessor=old,
        successor=side,
        effective_date=datetime.date(2025, 1, 1),
        partial=True,
        is_default=False,
    )
    Succession.objects.create(
        predecessor=middle, successor=today_unit, effective_date=datetime.date(2025, 7, 1)
    )
    DesignationFactory(commune=old)
    ContributionFactory(commune=old, date=datetime.date(2024, 2, 1), value=9_000_000)
    outbox_drain()
    return old, today_unit, district, province


def test_as_recorded_figures_stay_with_the_old_commune_and_its_district(staff_client, merger):
    old, today_unit, district, _province = merger

    data = figures(mode=selectors.RECORDED)

    assert [row.place.pk for row in data.communes] == [old.pk]
    assert data.communes[0].district == district.full_name
    assert data.communes[0].support.period == 9_000_000
    assert data.charts["districts"]["labels"] == [district.full_name]


def test_by_todays_units_maps_a_merged_commune_to_its_successor(staff_client, merger):
    old, today_unit, _district, province = merger

    data = figures(mode=selectors.TODAY)

    assert [row.place.pk for row in data.communes] == [today_unit.pk]
    row = data.communes[0]
    assert [unit.pk for unit in row.members] == [old.pk]
    assert row.support.period == 9_000_000
    assert row.district == province.full_name
    assert data.charts["districts"]["labels"] == [province.full_name]
    response = staff_client.get(reverse("reports:dashboard"), {**Q1_2024, "units": "today"})
    markers = json_data(response, "dashboard-markers")
    assert [(m["name"], m["lat"], m["lon"]) for m in markers] == [("Phường Hoa Lư", 20.25, 105.97)]
    assert reverse("programme:commune_detail", args=[old.pk]) in response.content.decode()


def test_by_todays_units_follows_a_succession_recorded_after_an_earlier_page(merger):
    old, today_unit, _district, province = merger
    figures(mode=selectors.TODAY)  # fills the cache of successions
    newest = CommuneFactory(name="Hoa Lư mới", parent=province)
    today_unit.valid_until = datetime.date(2026, 1, 1)
    today_unit.save()
    Succession.objects.create(
        predecessor=today_unit, successor=newest, effective_date=datetime.date(2026, 1, 2)
    )

    data = figures(mode=selectors.TODAY)

    assert [row.place.pk for row in data.communes] == [newest.pk]


def test_the_units_toggle_links_keep_the_period(staff_client):
    response = staff_client.get(reverse("reports:dashboard"), Q1_2024)

    page = response.content.decode()
    assert 'href="?kind=quarter&amp;year=2024&amp;number=1&amp;units=today"' in page
    assert response.context["mode"] == selectors.RECORDED


# --- Query count ----------------------------------------------------------------------------------


def _dashboard_queries(client) -> int:
    cache.clear()
    client.get(reverse("reports:dashboard"), Q1_2024)  # the same cache state for each count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reports:dashboard"), Q1_2024)
    assert response.status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_number_of_contributions(staff_client):
    communes = [DesignationFactory().commune for _ in range(3)]
    agency = AgencyFactory()
    for i in range(5):
        ContributionFactory(
            commune=communes[i % 3], agency=agency, date=datetime.date(2024, 1 + i % 3, 10)
        )
    outbox_drain()
    with_5 = _dashboard_queries(staff_client)

    roads = category("roads")
    Contribution.objects.bulk_create(
        Contribution(
            commune=communes[i % 3],
            agency=agency,
            date=datetime.date(2023 + i % 2, 1 + i % 3, 1 + i % 28),
            area="ntm",
            category=roads,
            form="cash",
            value=1_000_000,
            description="Hỗ trợ xi măng.",
        )
        for i in range(495)
    )
    outbox_drain()
    with_500 = _dashboard_queries(staff_client)

    assert with_500 == with_5 < 25
    assert figures().support.count.cumulative == 500


# --- Who may see it -------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("reports:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "role", [Membership.Role.AGENCY_LIAISON, Membership.Role.ENTERPRISE_REP, None]
)
def test_users_other_than_province_staff_get_403(client, role):
    user = UserFactory(username="lien_lac")
    if role == Membership.Role.AGENCY_LIAISON:
        membership_create(user=user, role=role, agency=AgencyFactory())
    elif role == Membership.Role.ENTERPRISE_REP:
        membership_create(user=user, role=role, enterprise=EnterpriseFactory())
    client.force_login(user)

    assert client.get(reverse("reports:dashboard")).status_code == 403


def test_a_superuser_sees_the_dashboard(admin_client):
    assert admin_client.get(reverse("reports:dashboard")).status_code == 200


# --- Period input ---------------------------------------------------------------------------------


def test_without_parameters_the_current_quarter_is_shown(staff_client):
    response = staff_client.get(reverse("reports:dashboard"))

    assert response.status_code == 200
    assert response.context["period"] == Period.containing("quarter", timezone.localdate())
    assert response.context["mode"] == selectors.RECORDED


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "decade"},
        {"kind": "quarter", "year": "abc", "number": "x"},
        {"kind": "quarter", "year": "1999", "number": "0"},
        {"kind": "quarter", "year": "99999999999999999999", "number": "-1"},
        {"kind": "quarter", "year": "3000", "number": "5"},
        {"kind": "quarter", "year": "２０２４", "number": "１"},
        {"kind": "quarter", "year": "2024\x00", "number": "1.5"},
        {"units": "tomorrow"},
    ],
)
def test_bad_parameters_fall_back_to_the_defaults(staff_client, query):
    response = staff_client.get(reverse("reports:dashboard"), query)

    assert response.status_code == 200
    assert response.context["period"] == Period.containing("quarter", timezone.localdate())
    assert response.context["mode"] == selectors.RECORDED


def test_a_bad_number_keeps_the_good_kind_and_year(staff_client):
    response = staff_client.get(
        reverse("reports:dashboard"), {"kind": "month", "year": "2024", "number": "13"}
    )

    period = response.context["period"]
    assert (period.kind, period.year) == ("month", 2024)
    assert period.number == Period.containing("month", timezone.localdate()).number


@pytest.mark.parametrize(
    ("query", "period"),
    [
        ({"kind": "month", "year": "2024", "number": "12"}, Period("month", 2024, 12)),
        ({"kind": "half", "year": "2023", "number": "2"}, Period("half", 2023, 2)),
        ({"kind": "year", "year": "2020", "number": "1"}, Period("year", 2020, 1)),
    ],
)
def test_good_parameters_choose_the_period(staff_client, query, period):
    response = staff_client.get(reverse("reports:dashboard"), query)

    assert response.context["period"] == period


# --- Assets ---------------------------------------------------------------------------------------


def test_the_page_loads_only_vendored_assets_and_the_configured_tile_server(staff_client, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    DesignationFactory(commune=CommuneFactory(latitude=Decimal("20.3"), longitude=Decimal("105.9")))

    page = staff_client.get(reverse("reports:dashboard")).content.decode()

    for asset in (
        "vendor/chart/chart.umd.min.js",
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "js/dashboard.js",
    ):
        assert f"{settings.STATIC_URL}{asset}" in page
        assert finders.find(asset), asset
    external = set(re.findall(r"(?:https?:)?//[^\s\"'<>\\]+", page))
    assert external == {"https://tiles.example.org/{z}/{x}/{y}.png"}


def test_an_empty_tile_setting_turns_the_tiles_off(staff_client, settings):
    settings.MAP_TILE_URL = ""

    response = staff_client.get(reverse("reports:dashboard"))

    assert json_data(response, "dashboard-map-config")["tileUrl"] == ""
    assert 'id="tiles-off"' in response.content.decode()
    assert not re.search(r"https?://", response.content.decode())


def test_the_vendored_files_carry_no_source_map_comment():
    for asset in ("vendor/chart/chart.umd.min.js", "vendor/leaflet/leaflet.js"):
        with open(finders.find(asset), encoding="utf-8") as handle:
            assert "sourceMappingURL" not in handle.read()


def test_under_decree_09_a_quarter_starts_on_the_15th_of_the_month_before(settings):
    settings.REPORTING_CALENDAR = "decree09"
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2023, 12, 20), value=2_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 14), value=3_000_000)
    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 15), value=50_000_000)
    outbox_drain()

    support = figures().support

    assert support.total.period == 5_000_000
    assert support.total.cumulative == 5_000_000
