"""Period reports: figures from the rollups, the review steps, who may do what, what changed
after approval, and the monthly drafting task.

The world (Q1 2025 unless said):
- commune 1 is in the charge of agency A and twinned with enterprise E; commune 2 of agency B;
- contributions: A→1 10.000.000 cash NTM (Feb), E→1 5.000.000 in kind economy (Mar),
  B→2 7.000.000 cash welfare (Jan), A→1 3.000.000 pledged (Jan); A→1 4.000.000 in Q1 2024 and
  1.000.000 in June 2024;
- visits: A at 1, a Party-cell meeting (Jan) and a survey (Feb); B at 2, a survey (Mar);
- difficulties: at 1 raised 12/2024 and resolved 2/2025, raised 3/2025 (open); at 2 raised 1/2025;
- plan 2025 of commune 1: a quarter-1 item with a 20.000.000 target (done), a month-2 item, and a
  whole-year item with a 100.000.000 target (due in December).
"""

import datetime
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communes.models import AdminUnit
from partners.models import Agency, Membership
from partners.services import membership_create
from programme.models import Contribution, ContributionCategory, PlanItem
from programme.periods import Period
from reports import figures as fig
from reports import reviews
from reports.models import PeriodReport
from reports.rollups import outbox_drain
from reports.tasks_reviews import draft_period_reports
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    ContributionFactory,
    DifficultyFactory,
    EnterpriseFactory,
    PlanFactory,
    PlanItemFactory,
    TwinningFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date
Q1_2025 = Period("quarter", 2025, 1)


@dataclass
class World:
    commune1: AdminUnit
    commune2: AdminUnit
    agency_a: Agency
    agency_b: Agency
    staff: object
    liaison_a: object
    liaison_b: object
    officer1: object
    rep: object
    stranger: object
    contribution: Contribution


def _category(code: str) -> ContributionCategory:
    return ContributionCategory.objects.get(code=code)


def build_world() -> World:
    commune1 = CommuneFactory(name="Gia Hưng")
    commune2 = CommuneFactory(name="Ninh Hòa")
    agency_a = AgencyFactory(name="Sở Nông nghiệp", short_name="Sở A")
    agency_b = AgencyFactory(name="Sở Xây dựng", short_name="Sở B")
    enterprise = EnterpriseFactory()
    AssignmentFactory(agency=agency_a, commune=commune1, start_date=D(2016, 6, 1))
    AssignmentFactory(agency=agency_b, commune=commune2, start_date=D(2016, 6, 1))
    TwinningFactory(enterprise=enterprise, commune=commune1, start_date=D(2016, 6, 1))

    roads, seeds, gifts = _category("roads"), _category("seed-stock"), _category("gifts")
    contribution = ContributionFactory(
        date=D(2025, 2, 10), commune=commune1, agency=agency_a, value=10_000_000, category=roads
    )
    ContributionFactory(
        date=D(2025, 3, 5),
        commune=commune1,
        agency=None,
        enterprise=enterprise,
        value=5_000_000,
        area="economy",
        category=seeds,
        form="in_kind",
    )
    ContributionFactory(
        date=D(2025, 1, 20),
        commune=commune2,
        agency=agency_b,
        value=7_000_000,
        area="welfare",
        category=gifts,
    )
    ContributionFactory(
        date=D(2025, 1, 25),
        commune=commune1,
        agency=agency_a,
        value=3_000_000,
        category=roads,
        status="pledged",
    )
    ContributionFactory(
        date=D(2024, 3, 1), commune=commune1, agency=agency_a, value=4_000_000, category=roads
    )
    ContributionFactory(
        date=D(2024, 6, 1), commune=commune1, agency=agency_a, value=1_000_000, category=roads
    )

    VisitFactory(
        commune=commune1,
        agency=agency_a,
        date=D(2025, 1, 15),
        kind="cell_meeting",
        village="Thôn Đông",
    )
    VisitFactory(commune=commune1, agency=agency_a, date=D(2025, 2, 1), kind="survey")
    VisitFactory(commune=commune2, agency=agency_b, date=D(2025, 3, 3), kind="survey")

    DifficultyFactory(
        commune=commune1,
        raised_on=D(2024, 12, 1),
        status="resolved",
        resolved_on=D(2025, 2, 1),
        resolution="Đã sửa đường.",
    )
    DifficultyFactory(commune=commune1, raised_on=D(2025, 3, 1))
    DifficultyFactory(commune=commune2, raised_on=D(2025, 1, 10))

    plan = PlanFactory(commune=commune1, year=2025)
    PlanItemFactory(
        plan=plan,
        period_kind="quarter",
        period_number=1,
        target_value=20_000_000,
        status="done",
        completed_on=D(2025, 3, 20),
    )
    PlanItemFactory(plan=plan, period_kind="month", period_number=2, area="economy")
    PlanItemFactory(plan=plan, period_kind="year", period_number=None, target_value=100_000_000)
    outbox_drain()

    def member(username, role, **organisation):
        user = UserFactory(username=username)
        membership_create(user=user, role=role, **organisation)
        return user

    Role = Membership.Role
    return World(
        commune1=commune1,
        commune2=commune2,
        agency_a=agency_a,
        agency_b=agency_b,
        staff=member("ban_to_chuc", Role.PROVINCE_STAFF),
        liaison_a=member("lien_lac_a", Role.AGENCY_LIAISON, agency=agency_a),
        liaison_b=member("lien_lac_b", Role.AGENCY_LIAISON, agency=agency_b),
        officer1=member("can_bo_xa_1", Role.COMMUNE_OFFICER, commune=commune1),
        rep=member("dai_dien_dn", Role.ENTERPRISE_REP, enterprise=enterprise),
        stranger=UserFactory(username="nguoi_la"),
        contribution=contribution,
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


def draft(scope="programme", *, kind="quarter", year=2025, number=1, **who) -> PeriodReport:
    report, _created = reviews.period_report_draft(
        kind=kind, year=year, number=number, scope=scope, **who
    )
    return report


def approved(world, **kwargs) -> PeriodReport:
    report = draft(**kwargs)
    reviews.period_report_submit(user=world.staff, report=report)
    return reviews.period_report_approve(user=world.staff, report=report)


def figures_of(report) -> dict:
    return fig.report_figures(report)


# --- Figures ------------------------------------------------------------------------------------


def test_programme_figures_of_a_quarter(world):
    figures = figures_of(draft())
    assert figures["total"] == {
        "plan": 20_000_000,
        "actual": 22_000_000,
        "same_period": 4_000_000,
        "cumulative": 27_000_000,
    }
    assert figures["count"]["actual"] == 3
    assert figures["pledged"]["actual"] == 3_000_000
    assert figures["area_ntm"]["actual"] == 10_000_000
    assert figures["area_ntm"]["plan"] == 20_000_000
    assert figures["area_economy"]["actual"] == 5_000_000
    assert figures["area_welfare"]["actual"] == 7_000_000
    assert figures["area_party"]["actual"] == 0
    assert figures["form_cash"]["actual"] == 17_000_000
    assert figures["form_in_kind"]["actual"] == 5_000_000
    assert figures["form_labour"]["actual"] == 0


def test_programme_visits_difficulties_and_plan_items(world):
    figures = figures_of(draft())
    assert figures["visits"]["actual"] == 3
    assert figures["cell_meetings"]["actual"] == 1
    assert figures["difficulties_raised"]["actual"] == 2
    assert figures["difficulties_resolved"]["actual"] == 1
    assert figures["difficulties_open"] == {
        "plan": None,
        "actual": 2,
        "same_period": 0,
        "cumulative": None,
    }
    assert figures["difficulties_raised"]["cumulative"] == 3
    assert figures["plan_due"]["actual"] == 2
    assert figures["plan_done"]["actual"] == 1
    assert figures["plan_done"]["plan"] == 2


def test_agency_figures_count_its_contributions_visits_and_its_communes(world):
    figures = figures_of(draft("agency", agency=world.agency_a))
    assert figures["total"]["actual"] == 10_000_000  # the enterprise's support is not the agency's
    assert figures["pledged"]["actual"] == 3_000_000
    assert figures["total"]["same_period"] == 4_000_000
    assert figures["visits"]["actual"] == 2
    assert figures["difficulties_raised"]["actual"] == 1
    assert figures["difficulties_resolved"]["actual"] == 1
    assert figures["difficulties_open"]["actual"] == 1
    assert figures["plan_due"]["actual"] == 2
    assert figures["total"]["plan"] == 20_000_000


def test_commune_figures_count_every_contributor(world):
    figures = figures_of(draft("commune", commune=world.commune2))
    assert figures["total"]["actual"] == 7_000_000
    assert figures["visits"]["actual"] == 1
    assert figures["difficulties_open"]["actual"] == 1
    assert figures["plan_due"]["actual"] == 0
    assert figures["total"]["plan"] is None


def test_a_month_report_counts_only_its_month(world):
    figures = figures_of(draft(kind="month", number=2))
    assert figures["total"]["actual"] == 10_000_000
    assert figures["plan_due"]["actual"] == 1  # the month-2 item; the quarter item is due in March


def test_the_table_starts_with_the_total_and_computes_percent_of_plan(world):
    rows = fig.table_rows(figures_of(draft()))
    assert rows[0].key == "total" and rows[0].line.total
    assert str(rows[0].percent) == "110.0"  # 22.000.000 of a 20.000.000 plan
    done = next(row for row in rows if row.key == "plan_done")
    assert str(done.percent) == "50.0"


# --- Drafting -----------------------------------------------------------------------------------


def test_drafting_twice_gives_the_same_report(world):
    first, created = reviews.period_report_draft(
        kind="quarter", year=2025, number=1, scope="programme"
    )
    again, created_again = reviews.period_report_draft(
        kind="quarter", year=2025, number=1, scope="programme"
    )
    assert created and not created_again
    assert first.pk == again.pk
    assert PeriodReport.objects.count() == 1


def test_a_commune_report_needs_a_commune(world):
    with pytest.raises(ValidationError):
        reviews.period_report_draft(kind="quarter", year=2025, number=1, scope="commune")


def test_a_report_of_a_period_not_started_is_refused(world):
    with pytest.raises(ValidationError):
        reviews.period_report_draft(kind="year", year=2100, number=1, scope="programme")


def test_a_quarter_number_out_of_range_is_refused(world):
    with pytest.raises(ValidationError):
        reviews.period_report_draft(kind="quarter", year=2025, number=5, scope="programme")


# --- Steps --------------------------------------------------------------------------------------


def test_submit_records_who_and_when(world):
    report = draft("agency", agency=world.agency_a)
    reviews.period_report_submit(user=world.liaison_a, report=report)
    report.refresh_from_db()
    assert report.status == "submitted"
    assert report.submitted_by == world.liaison_a and report.submitted_at is not None
    step = report.history.latest("history_date")
    assert step.status == "submitted" and step.history_user == world.liaison_a


def test_approve_freezes_the_figures(world):
    report = approved(world)
    assert report.status == "approved"
    assert report.decided_by == world.staff and report.decided_at is not None
    assert report.snapshot["figures"]["total"]["actual"] == 22_000_000
    assert report.history.latest("history_date").history_user == world.staff


def test_a_second_approval_is_refused(world):
    report = approved(world)
    stale = PeriodReport.objects.get(pk=report.pk)
    with pytest.raises(reviews.ReportStateError):
        reviews.period_report_approve(user=world.staff, report=stale)
    assert report.history.filter(status="approved").count() == 1


def test_a_draft_cannot_be_approved(world):
    report = draft()
    with pytest.raises(reviews.ReportStateError):
        reviews.period_report_approve(user=world.staff, report=report)


def test_returning_needs_a_comment(world):
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    with pytest.raises(ValidationError):
        reviews.period_report_return(user=world.staff, report=report, comment="   ")
    report.refresh_from_db()
    assert report.status == "submitted"


def test_a_returned_report_can_be_submitted_again(world):
    report = draft("commune", commune=world.commune1)
    reviews.period_report_submit(user=world.officer1, report=report)
    reviews.period_report_return(user=world.staff, report=report, comment="Thiếu số liệu tháng 3.")
    assert report.status == "returned" and report.comment == "Thiếu số liệu tháng 3."
    reviews.period_report_submit(user=world.officer1, report=report)
    assert report.status == "submitted"
    statuses = list(report.history.order_by("history_date").values_list("status", flat=True))
    assert statuses == ["draft", "submitted", "returned", "submitted"]


def test_a_liaison_cannot_approve(world):
    report = draft("agency", agency=world.agency_a)
    reviews.period_report_submit(user=world.liaison_a, report=report)
    with pytest.raises(PermissionDenied):
        reviews.period_report_approve(user=world.liaison_a, report=report)


# --- Who sees what ------------------------------------------------------------------------------


def test_scoping_of_reports(world):
    programme = draft()
    agency_a = draft("agency", agency=world.agency_a)
    agency_b = draft("agency", agency=world.agency_b)
    commune1 = draft("commune", commune=world.commune1)
    commune2 = draft("commune", commune=world.commune2)

    def seen(user):
        return set(reviews.period_reports_for(user).values_list("pk", flat=True))

    assert seen(world.staff) == {programme.pk, agency_a.pk, agency_b.pk, commune1.pk, commune2.pk}
    assert seen(world.liaison_a) == {agency_a.pk, commune1.pk}
    assert seen(world.officer1) == {commune1.pk}
    assert seen(world.rep) == set()
    assert seen(world.stranger) == set()


def test_get_for_user_gives_404_to_outsiders_and_403_to_readers_who_may_not_decide(world):
    report = draft("agency", agency=world.agency_a)
    assert reviews.get_period_report_for_user(world.liaison_a, report.pk, change=True) == report
    with pytest.raises(Http404):
        reviews.get_period_report_for_user(world.liaison_b, report.pk)
    with pytest.raises(PermissionDenied):
        reviews.get_period_report_for_user(world.liaison_a, report.pk, decide=True)
    assert reviews.get_period_report_for_user(world.staff, report.pk, decide=True) == report


# --- Changed since approval ---------------------------------------------------------------------


def _correct(world, contribution, value):
    from programme.services import contribution_update

    contribution_update(
        user=world.liaison_a,
        contribution=contribution,
        expected_version=contribution.version,
        value=value,
        reason="Sửa số liệu",
    )
    outbox_drain()


def test_a_correction_inside_the_period_shows_the_difference_and_the_record(world):
    report = approved(world, scope="agency", agency=world.agency_a)
    _correct(world, world.contribution, 12_000_000)

    shown, current = reviews.report_figures_shown(report)
    assert shown["total"]["actual"] == 10_000_000  # the approved figure is still shown
    differences = {(d.line.key, d.column): d for d in fig.figures_differences(shown, current)}
    assert differences[("total", "actual")].difference == 2_000_000
    assert differences[("area_ntm", "actual")].current == 12_000_000
    assert ("count", "actual") not in differences

    changes = reviews.period_report_changes(report)
    assert len(changes) == 1
    change = changes[0]
    assert change.user == world.liaison_a and change.reason == "Sửa số liệu"
    value = next(c for c in change.changes if c.old == "10.000.000 đ")
    assert value.new == "12.000.000 đ"


def test_moving_a_record_out_of_the_period_is_listed(world):
    from programme.services import contribution_update

    report = approved(world)
    moved = world.contribution
    contribution_update(
        user=world.staff, contribution=moved, expected_version=moved.version, date=D(2025, 4, 2)
    )
    outbox_drain()
    changes = reviews.period_report_changes(report)
    assert [c.title.split(" · ")[-1] for c in changes] == ["02/04/2025"]


def test_a_correction_outside_the_period_changes_nothing(world):
    report = approved(world)
    old = Contribution.objects.get(date=D(2024, 6, 1))
    _correct(world, old, 2_000_000)
    shown, current = reviews.report_figures_shown(PeriodReport.objects.get(pk=report.pk))
    assert fig.figures_differences(shown, current) == []
    assert reviews.period_report_changes(report) == []


def test_a_plan_item_done_after_approval_is_listed(world):
    report = approved(world, scope="commune", commune=world.commune1)
    item = PlanItem.objects.get(period_kind="month")
    item.status = "done"
    item.completed_on = D(2025, 2, 28)
    item._history_user = world.officer1
    item.save()
    outbox_drain()
    shown, current = reviews.report_figures_shown(report)
    differences = {(d.line.key, d.column) for d in fig.figures_differences(shown, current)}
    assert ("plan_done", "actual") in differences
    changes = reviews.period_report_changes(report)
    assert [c.url for c in changes] == [reverse("programme:plan_detail", args=[item.plan_id])]


# --- Drafting task ------------------------------------------------------------------------------


def test_the_monthly_task_drafts_the_month_and_the_quarter_that_ended(world):
    created = draft_period_reports.run(today="2025-04-01")
    reports = set(PeriodReport.objects.values_list("kind", "number", "year", "scope", "agency_id"))
    assert created == 6
    assert reports == {
        ("month", 3, 2025, "programme", None),
        ("month", 3, 2025, "agency", world.agency_a.pk),
        ("month", 3, 2025, "agency", world.agency_b.pk),
        ("quarter", 1, 2025, "programme", None),
        ("quarter", 1, 2025, "agency", world.agency_a.pk),
        ("quarter", 1, 2025, "agency", world.agency_b.pk),
    }


def test_the_monthly_task_is_idempotent(world):
    draft_period_reports.run(today="2025-04-01")
    assert draft_period_reports.run(today="2025-04-01") == 0
    assert PeriodReport.objects.count() == 6


def test_the_task_drafts_half_year_and_year_when_they_end(world):
    draft_period_reports.run(today="2026-01-01")
    kinds = set(PeriodReport.objects.filter(scope="programme").values_list("kind", "number"))
    assert kinds == {("month", 12), ("quarter", 4), ("half", 2), ("year", 1)}


def test_the_task_under_decree_09_drafts_the_month_ending_on_the_14th(world, settings):
    settings.REPORTING_CALENDAR = "decree09"
    # 1/5/2025 is in reporting month 5 (15/4–14/5): the month that ended last is month 4.
    draft_period_reports.run(today="2025-05-01")
    kinds = set(PeriodReport.objects.filter(scope="programme").values_list("kind", "number"))
    assert kinds == {("month", 4)}


# --- Pages --------------------------------------------------------------------------------------


def test_the_list_shows_the_reports_a_user_may_read(client, world):
    draft("agency", agency=world.agency_a)
    draft("agency", agency=world.agency_b)
    client.force_login(world.liaison_a)
    response = client.get(reverse("reports:report_list"))
    assert response.status_code == 200
    assert world.agency_a.name in response.content.decode()
    assert world.agency_b.name not in response.content.decode()


def test_the_list_needs_a_constant_number_of_queries(client, world):
    client.force_login(world.staff)
    draft("agency", agency=world.agency_a)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("reports:report_list"))
    for number in (2, 3, 4):
        draft(kind="month", number=number)
        draft("commune", commune=world.commune1, kind="month", number=number)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("reports:report_list"))
    assert len(many) == len(few)


def test_the_detail_page_shows_the_figures(client, world):
    report = draft()
    client.force_login(world.staff)
    response = client.get(reverse("reports:report_detail", args=[report.pk]))
    assert response.status_code == 200
    assert "22.000.000" in response.content.decode()


def test_the_detail_page_is_404_to_an_outsider(client, world):
    report = draft("agency", agency=world.agency_a)
    client.force_login(world.liaison_b)
    assert client.get(reverse("reports:report_detail", args=[report.pk])).status_code == 404


def test_a_member_may_read_but_gets_403_on_approve(client, world):
    report = draft("agency", agency=world.agency_a)
    reviews.period_report_submit(user=world.liaison_a, report=report)
    client.force_login(world.liaison_a)
    assert client.get(reverse("reports:report_detail", args=[report.pk])).status_code == 200
    response = client.post(reverse("reports:report_approve", args=[report.pk]))
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.status == "submitted"


def test_an_officer_submits_the_commune_report_on_the_page(client, world):
    report = draft("commune", commune=world.commune1)
    client.force_login(world.officer1)
    response = client.post(reverse("reports:report_submit", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted" and report.submitted_by == world.officer1


def test_staff_approve_on_the_page(client, world):
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    client.force_login(world.staff)
    client.post(reverse("reports:report_approve", args=[report.pk]))
    report.refresh_from_db()
    assert report.status == "approved" and report.snapshot is not None


def test_a_second_click_on_approve_says_so(client, world):
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    client.force_login(world.staff)
    client.post(reverse("reports:report_approve", args=[report.pk]))
    response = client.post(reverse("reports:report_approve", args=[report.pk]), follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])[-1].level_tag == "error"
    assert report.history.filter(status="approved").count() == 1


def test_staff_return_with_a_comment_on_the_page(client, world):
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    client.force_login(world.staff)
    client.post(reverse("reports:report_return", args=[report.pk]), {"comment": "Bổ sung."})
    report.refresh_from_db()
    assert report.status == "returned" and report.comment == "Bổ sung."


def test_return_without_a_comment_changes_nothing(client, world):
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    client.force_login(world.staff)
    client.post(reverse("reports:report_return", args=[report.pk]), {"comment": ""})
    report.refresh_from_db()
    assert report.status == "submitted"


def test_the_page_shows_changed_since_approval(client, world):
    report = approved(world, scope="agency", agency=world.agency_a)
    _correct(world, world.contribution, 12_000_000)
    client.force_login(world.staff)
    page = client.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    assert 'id="changed-since-approval"' in page
    assert "+2.000.000" in page
    assert "12.000.000 đ" in page


def test_a_liaison_drafts_a_report_for_their_agency(client, world):
    client.force_login(world.liaison_a)
    response = client.post(
        reverse("reports:report_new"),
        {
            "kind": "quarter",
            "year": 2025,
            "number": 1,
            "scope": "agency",
            "agency": world.agency_a.pk,
        },
    )
    report = PeriodReport.objects.get()
    assert response.status_code == 302 and report.agency == world.agency_a


def test_a_liaison_cannot_draft_for_another_agency(client, world):
    client.force_login(world.liaison_a)
    client.post(
        reverse("reports:report_new"),
        {
            "kind": "quarter",
            "year": 2025,
            "number": 1,
            "scope": "agency",
            "agency": world.agency_b.pk,
        },
    )
    assert not PeriodReport.objects.exists()


def test_someone_without_a_role_may_not_draft(client, world):
    client.force_login(world.stranger)
    assert client.get(reverse("reports:report_new")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_the_same_time_approve_once():
    import threading

    from django.db import transaction

    from programme.categories import categories_seed

    categories_seed(ContributionCategory)  # transactional tests flush what migrations seeded
    world = build_world()
    report = draft()
    reviews.period_report_submit(user=world.staff, report=report)
    barrier = threading.Barrier(2)
    results = []

    def approve():
        try:
            mine = PeriodReport.objects.get(pk=report.pk)
            barrier.wait(timeout=10)
            with transaction.atomic():
                reviews.period_report_approve(user=world.staff, report=mine)
            results.append("approved")
        except reviews.ReportStateError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["approved", "refused"]
    assert PeriodReport.history.filter(id=report.pk, status="approved").count() == 1
