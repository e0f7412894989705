"""Completeness and timeliness: obligations, done/missing/late, plan items, rates and the page.

The world: commune 1 (district 1) is in the charge of agency A, commune 2 (district 2) of
agency B, both since 2016. Reporting months are calendar months unless a test says otherwise.
"""

import datetime
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import Membership
from partners.scoping import Scope
from partners.services import membership_create
from programme.periods import Period
from reports import figures_cache, rollups
from reports.completeness import completeness
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    DesignationFactory,
    DistrictFactory,
    EnterpriseFactory,
    PlanFactory,
    PlanItemFactory,
    ProgrammeFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

PROVINCE = Scope(user_id=None, is_province=True)
MARCH = Period("month", 2024, 3)
LATER = datetime.date(2024, 6, 1)  # every month of the tests is past its due date


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def meeting(agency, commune, day: datetime.date, *, recorded: datetime.datetime | None = None):
    return VisitFactory(
        agency=agency,
        commune=commune,
        date=day,
        kind="cell_meeting",
        village="Thôn Đông",
        created_at=recorded or at(day),
    )


@dataclass
class World:
    commune1: object
    commune2: object
    agency_a: object
    agency_b: object
    staff: object
    liaison_a: object
    liaison_b: object
    officer: object
    rep: object
    nobody: object


@pytest.fixture
def world() -> World:
    district1 = DistrictFactory(name="Gia Viễn")
    district2 = DistrictFactory(name="Kim Sơn", parent=district1.parent)
    commune1 = CommuneFactory(name="Gia Hưng", parent=district1)
    commune2 = CommuneFactory(name="Kim Đông", parent=district2)
    agency_a = AgencyFactory(name="Sở Tài chính", short_name="Sở TC")
    agency_b = AgencyFactory(name="Sở Y tế", short_name="Sở YT")
    AssignmentFactory(agency=agency_a, commune=commune1, start_date=datetime.date(2016, 6, 1))
    AssignmentFactory(agency=agency_b, commune=commune2, start_date=datetime.date(2016, 6, 1))
    Role = Membership.Role

    def member(username, role, **organisation):
        user = UserFactory(username=username)
        membership_create(user=user, role=role, **organisation)
        return user

    return World(
        commune1=commune1,
        commune2=commune2,
        agency_a=agency_a,
        agency_b=agency_b,
        staff=member("ban_to_chuc", Role.PROVINCE_STAFF),
        liaison_a=member("lien_lac_a", Role.AGENCY_LIAISON, agency=agency_a),
        liaison_b=member("lien_lac_b", Role.AGENCY_LIAISON, agency=agency_b),
        officer=member("can_bo_xa", Role.COMMUNE_OFFICER, commune=commune1),
        rep=member("dai_dien_dn", Role.ENTERPRISE_REP, enterprise=EnterpriseFactory()),
        nobody=UserFactory(username="nguoi_ngoai"),
    )


def report_of(period=MARCH, *, today=LATER, **filters):
    rollups.outbox_drain()
    return completeness(period, scope=PROVINCE, today=today, **filters)


def row_of(report, agency, commune):
    (row,) = [r for r in report.rows if r.agency == agency and r.commune == commune]
    return row


# --- Obligations and figures -------------------------------------------------------------------


def test_a_meeting_in_the_month_fulfils_the_obligation(world):
    meeting(world.agency_a, world.commune1, datetime.date(2024, 3, 10))
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.expected, row.tally.done, row.tally.late, row.tally.missing) == (1, 1, 0, 0)
    assert row.months[0].state == "done"
    assert row.tally.rate_percent == 100


def test_an_agency_without_a_meeting_is_missing_it(world):
    row = row_of(report_of(), world.agency_b, world.commune2)
    assert (row.tally.expected, row.tally.done, row.tally.missing) == (1, 0, 1)
    assert row.months[0].state == "missing"
    assert row.tally.rate_percent == 0


def test_other_kinds_of_visit_do_not_count(world):
    VisitFactory(
        agency=world.agency_a,
        commune=world.commune1,
        date=datetime.date(2024, 3, 10),
        kind="survey",
    )
    assert row_of(report_of(), world.agency_a, world.commune1).tally.done == 0


def test_a_meeting_of_another_agency_does_not_count(world):
    meeting(world.agency_b, world.commune1, datetime.date(2024, 3, 10))
    assert row_of(report_of(), world.agency_a, world.commune1).tally.done == 0


def test_a_meeting_recorded_after_the_grace_period_is_late(world):
    meeting(
        world.agency_a,
        world.commune1,
        datetime.date(2024, 3, 10),
        recorded=at(datetime.date(2024, 4, 6), hour=0),
    )
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.done, row.tally.late, row.tally.on_time) == (1, 1, 0)
    assert row.months[0].state == "late"
    assert row.tally.on_time_percent == 0


def test_a_meeting_recorded_on_the_last_day_of_grace_is_on_time(world):
    meeting(
        world.agency_a,
        world.commune1,
        datetime.date(2024, 3, 10),
        recorded=at(datetime.date(2024, 4, 5), hour=23),
    )
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.done, row.tally.late) == (1, 0)


def test_an_on_time_meeting_counts_before_a_late_one(world):
    meeting(world.agency_a, world.commune1, datetime.date(2024, 3, 3))
    meeting(
        world.agency_a,
        world.commune1,
        datetime.date(2024, 3, 20),
        recorded=at(datetime.date(2024, 5, 1)),
    )
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.expected, row.tally.done, row.tally.late) == (1, 1, 0)


def test_extra_meetings_do_not_make_up_for_another_month(world):
    meeting(world.agency_a, world.commune1, datetime.date(2024, 1, 5))
    meeting(world.agency_a, world.commune1, datetime.date(2024, 1, 25))
    row = row_of(report_of(Period("quarter", 2024, 1)), world.agency_a, world.commune1)
    assert (row.tally.expected, row.tally.done, row.tally.missing) == (3, 1, 2)
    assert [cell.state for cell in row.months] == ["done", "missing", "missing"]


def test_the_programme_sets_how_many_meetings_a_month(world):
    programme = ProgrammeFactory(code="qd140", cell_meetings_per_month=2)
    DesignationFactory(programme=programme, commune=world.commune1)
    meeting(world.agency_a, world.commune1, datetime.date(2024, 3, 10))
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.expected, row.tally.done, row.tally.missing) == (2, 1, 1)


def test_an_undesignated_commune_uses_the_programme_value(world):
    programme = ProgrammeFactory(code="qd140", cell_meetings_per_month=2)
    DesignationFactory(programme=programme, commune=world.commune1)
    assert row_of(report_of(), world.agency_b, world.commune2).tally.expected == 2


def test_a_designation_ended_before_the_month_does_not_set_the_number(world):
    strict = ProgrammeFactory(code="strict", cell_meetings_per_month=3)
    light = ProgrammeFactory(code="light", cell_meetings_per_month=1)
    DesignationFactory(
        programme=strict, commune=world.commune1, valid_until=datetime.date(2023, 12, 31)
    )
    DesignationFactory(programme=light, commune=world.commune1)
    assert row_of(report_of(), world.agency_a, world.commune1).tally.expected == 1


def test_a_month_before_its_due_date_is_pending_not_missing(world):
    report = report_of(today=datetime.date(2024, 3, 20))
    row = row_of(report, world.agency_a, world.commune1)
    assert (row.tally.expected, row.tally.missing, row.tally.pending) == (1, 0, 1)
    assert row.months[0].state == "pending"


def test_the_due_date_itself_is_still_pending(world):
    row = row_of(report_of(today=datetime.date(2024, 3, 31)), world.agency_a, world.commune1)
    assert (row.tally.missing, row.tally.pending) == (0, 1)


def test_months_not_started_carry_no_obligation(world):
    report = report_of(Period("quarter", 2024, 1), today=datetime.date(2024, 2, 10))
    row = row_of(report, world.agency_a, world.commune1)
    assert row.tally.expected == 2
    assert [cell.state for cell in row.months] == ["missing", "pending", "none"]


def test_an_assignment_counts_only_for_the_months_of_its_term(world):
    agency = AgencyFactory()
    commune = CommuneFactory()
    AssignmentFactory(
        agency=agency,
        commune=commune,
        start_date=datetime.date(2023, 6, 1),
        end_date=datetime.date(2024, 1, 20),
    )
    row = row_of(report_of(Period("quarter", 2024, 1)), agency, commune)
    assert row.tally.expected == 1
    assert [cell.state for cell in row.months] == ["missing", "none", "none"]


def test_an_assignment_ended_before_the_period_has_no_row(world):
    agency = AgencyFactory()
    AssignmentFactory(
        agency=agency,
        commune=CommuneFactory(),
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2023, 12, 31),
    )
    assert not [row for row in report_of().rows if row.agency == agency]


def test_two_terms_of_one_agency_in_one_month_are_one_obligation(world):
    agency = AgencyFactory()
    commune = CommuneFactory()
    AssignmentFactory(
        agency=agency,
        commune=commune,
        role="co",
        start_date=datetime.date(2023, 1, 1),
        end_date=datetime.date(2024, 3, 10),
    )
    AssignmentFactory(
        agency=agency, commune=commune, role="co", start_date=datetime.date(2024, 3, 20)
    )
    row = row_of(report_of(), agency, commune)
    assert len(row.assignments) == 2
    assert row.tally.expected == 1


def test_decree_09_months_run_from_the_15th(world, settings):
    settings.REPORTING_CALENDAR = "decree09"
    meeting(world.agency_a, world.commune1, datetime.date(2024, 2, 20))  # reporting month 3
    meeting(
        world.agency_b,
        world.commune2,
        datetime.date(2024, 3, 10),
        recorded=at(datetime.date(2024, 3, 20)),  # due 14/3, grace until 19/3
    )
    report = report_of()
    assert row_of(report, world.agency_a, world.commune1).tally.done == 1
    assert report.months[0].due == datetime.date(2024, 3, 14)
    b = row_of(report, world.agency_b, world.commune2).tally
    assert (b.done, b.late) == (1, 1)


# --- Plan items --------------------------------------------------------------------------------


def test_plan_items_due_in_the_period_count_done_and_missing(world):
    plan = PlanFactory(commune=world.commune1, year=2024)
    PlanItemFactory(
        plan=plan,
        period_kind="month",
        period_number=3,
        status="done",
        completed_on=datetime.date(2024, 3, 5),
    )
    PlanItemFactory(plan=plan, period_kind="quarter", period_number=1)
    PlanItemFactory(plan=plan, period_kind="year")  # due in December
    row = row_of(report_of(), world.agency_a, world.commune1)
    assert (row.tally.plan_due, row.tally.plan_done, row.tally.plan_missing) == (2, 1, 1)
    assert row.tally.plan_percent == 50


def test_plan_items_not_yet_due_are_pending(world):
    plan = PlanFactory(commune=world.commune1, year=2024)
    PlanItemFactory(plan=plan, period_kind="year")
    report = report_of(Period("year", 2024), today=datetime.date(2024, 6, 15))
    row = row_of(report, world.agency_a, world.commune1)
    assert (row.tally.plan_due, row.tally.plan_missing, row.tally.plan_pending) == (1, 0, 1)


def test_a_commune_with_two_agencies_counts_its_plan_items_once_in_the_total(world):
    AssignmentFactory(
        agency=world.agency_b,
        commune=world.commune1,
        role="co",
        start_date=datetime.date(2020, 1, 1),
    )
    plan = PlanFactory(commune=world.commune1, year=2024)
    PlanItemFactory(plan=plan, period_kind="month", period_number=3)
    report = report_of()
    assert report.total.plan_due == 1
    assert dict((a, t.plan_due) for a, t in report.by_agency) == {
        world.agency_a: 1,
        world.agency_b: 1,
    }
    assert report.total.expected == 3  # A in commune 1, B in communes 1 and 2


# --- Totals and filters ------------------------------------------------------------------------


def test_totals_per_agency_per_commune_and_overall(world):
    meeting(world.agency_a, world.commune1, datetime.date(2024, 3, 10))
    report = report_of()
    assert (report.total.expected, report.total.done, report.total.missing) == (2, 1, 1)
    assert report.total.rate_percent == 50
    by_agency = {agency: tally.rate_percent for agency, tally in report.by_agency}
    assert by_agency == {world.agency_a: 100, world.agency_b: 0}
    by_commune = {commune: tally.done for commune, tally in report.by_commune}
    assert by_commune == {world.commune1: 1, world.commune2: 0}


def test_the_agency_filter_keeps_its_rows(world):
    report = report_of(agency_id=world.agency_b.pk)
    assert [(r.agency, r.commune) for r in report.rows] == [(world.agency_b, world.commune2)]


def test_the_district_filter_keeps_its_communes(world):
    report = report_of(district_id=world.commune1.parent_id)
    assert [r.commune for r in report.rows] == [world.commune1]


def test_a_liaison_scope_keeps_their_agency(world):
    scope = Scope(user_id=1, agency_ids=frozenset({world.agency_a.pk}))
    report = completeness(MARCH, scope=scope, today=LATER)
    assert [r.agency for r in report.rows] == [world.agency_a]


# --- The page ----------------------------------------------------------------------------------

URL = reverse("reports:completeness")
MARCH_QUERY = {"kind": "month", "year": 2024, "number": 3}


def rows_on_page(response) -> set[tuple[int, int]]:
    return {(row.agency.pk, row.commune.pk) for row in response.context["report"].rows}


def test_province_staff_see_every_row(client, world):
    client.force_login(world.staff)
    response = client.get(URL, MARCH_QUERY)
    assert response.status_code == 200
    assert rows_on_page(response) == {
        (world.agency_a.pk, world.commune1.pk),
        (world.agency_b.pk, world.commune2.pk),
    }
    assert reverse("reports:completeness_rebuild").encode() in response.content


def test_a_liaison_sees_only_their_agency(client, world):
    client.force_login(world.liaison_a)
    response = client.get(URL, MARCH_QUERY)
    assert rows_on_page(response) == {(world.agency_a.pk, world.commune1.pk)}
    assert reverse("reports:completeness_rebuild").encode() not in response.content


def test_a_commune_officer_sees_their_commune(client, world):
    AssignmentFactory(
        agency=world.agency_b,
        commune=world.commune1,
        role="co",
        start_date=datetime.date(2020, 1, 1),
    )
    client.force_login(world.officer)
    response = client.get(URL, MARCH_QUERY)
    assert rows_on_page(response) == {
        (world.agency_a.pk, world.commune1.pk),
        (world.agency_b.pk, world.commune1.pk),
    }


def test_a_liaison_cannot_filter_on_another_agency(client, world):
    client.force_login(world.liaison_a)
    response = client.get(URL, {**MARCH_QUERY, "agency": world.agency_b.pk})
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "agency" in response.context["form"].errors


def test_an_enterprise_representative_is_refused(client, world):
    client.force_login(world.rep)
    assert client.get(URL).status_code == 403


def test_a_user_without_a_role_is_refused(client, world):
    client.force_login(world.nobody)
    assert client.get(URL).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_without_filters_the_page_shows_last_month(client, world):
    client.force_login(world.staff)
    response = client.get(URL)
    period = response.context["report"].period
    assert period.kind == "month"
    assert datetime.date(period.year, period.number, 1) < timezone.localdate().replace(day=1)


def test_a_quarter_number_above_4_is_refused(client, world):
    client.force_login(world.staff)
    response = client.get(URL, {"kind": "quarter", "year": 2024, "number": 5})
    assert response.context["report"] is None
    assert "number" in response.context["form"].errors


def test_the_page_shows_the_figures(client, world):
    meeting(world.agency_a, world.commune1, datetime.date(2024, 3, 10))
    rollups.outbox_drain()
    client.force_login(world.staff)
    response = client.get(URL, MARCH_QUERY)
    html = response.content.decode()
    assert 'data-figure="rate">50 %<' in html
    assert "Gia Hưng" in html and "Sở TC" in html


def _grow(count: int) -> None:
    programme = ProgrammeFactory(code="qd140")
    for _i in range(count):
        commune = CommuneFactory()
        agency = AgencyFactory()
        AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2020, 1, 1))
        DesignationFactory(programme=programme, commune=commune)
        meeting(agency, commune, datetime.date(2024, 2, 10))
        PlanItemFactory(
            plan=PlanFactory(commune=commune, year=2024), period_kind="month", period_number=2
        )
    rollups.outbox_drain()


def test_the_page_query_count_does_not_grow_with_the_rows(client, world, django_assert_num_queries):
    query = {"kind": "quarter", "year": 2024, "number": 1}
    client.force_login(world.staff)
    _grow(3)
    client.get(URL, query)  # warm up (session, content types)
    figures_cache.forget()  # compare computations, not kept results
    with CaptureQueriesContext(connection) as small:
        response = client.get(URL, query)
    assert len(response.context["report"].rows) == 5
    _grow(45)
    figures_cache.forget()
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(URL, query)
    assert len(response.context["report"].rows) == 50
