"""Who sees and changes which record: 404 to outsiders, 403 to read-only users."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from programme import scoping
from programme.services import attachment_add
from tests.factories import (
    AssignmentFactory,
    ContributionFactory,
    DifficultyFactory,
    PlanFactory,
    PlanItemFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 3, 15)


def fresh(user):
    """The same user without the scope cached on the object."""
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def visit(world):
    return VisitFactory(commune=world.commune1, agency=world.agency_a, date=DAY)


@pytest.fixture
def difficulty(world):
    return DifficultyFactory(commune=world.commune1, raised_on=DAY)


@pytest.fixture
def agency_gift(world):
    return ContributionFactory(commune=world.commune1, agency=world.agency_a, date=DAY)


@pytest.fixture
def enterprise_gift(world):
    return ContributionFactory(
        commune=world.commune1, agency=None, enterprise=world.enterprise, date=DAY
    )


@pytest.fixture
def plan(world):
    return PlanFactory(commune=world.commune1, year=2024)


# --- Visits -------------------------------------------------------------------------------------


def test_liaison_sees_and_changes_a_visit_of_their_agency(world, visit):
    assert scoping.get_visit_for_user(world.liaison_a, visit.pk, change=True) == visit
    assert list(scoping.visits_for(world.liaison_a)) == [visit]


def test_liaison_of_another_agency_gets_404_for_a_visit(world, visit):
    with pytest.raises(Http404):
        scoping.get_visit_for_user(world.liaison_b, visit.pk)
    assert not scoping.visits_for(world.liaison_b).exists()


def test_commune_officer_reads_a_visit_to_their_commune(world, visit):
    assert scoping.get_visit_for_user(world.officer, visit.pk) == visit


def test_commune_officer_gets_403_when_changing_a_visit(world, visit):
    with pytest.raises(PermissionDenied):
        scoping.get_visit_for_user(world.officer, visit.pk, change=True)


def test_commune_officer_gets_404_for_a_visit_to_another_commune(world):
    other = VisitFactory(commune=world.commune2, agency=world.agency_b, date=DAY)

    with pytest.raises(Http404):
        scoping.get_visit_for_user(world.officer, other.pk)


def test_enterprise_representative_gets_404_for_a_visit(world, visit):
    with pytest.raises(Http404):
        scoping.get_visit_for_user(world.rep, visit.pk)


def test_province_staff_see_and_correct_every_visit(world, visit):
    other = VisitFactory(commune=world.commune2, agency=world.agency_b, date=DAY)

    assert set(scoping.visits_for(world.staff)) == {visit, other}
    assert scoping.get_visit_for_user(world.staff, other.pk, change=True) == other


def test_superuser_is_treated_as_province_staff(world, visit):
    boss = UserFactory(username="sep", is_superuser=True)

    assert scoping.get_visit_for_user(boss, visit.pk, change=True) == visit


def test_liaison_gets_404_for_a_visit_dated_before_the_assignment(world):
    early = VisitFactory(
        commune=world.commune1, agency=world.agency_a, date=datetime.date(2016, 5, 31)
    )

    with pytest.raises(Http404):
        scoping.get_visit_for_user(world.liaison_a, early.pk)


def test_liaison_keeps_the_visits_of_a_term_that_ended(world):
    world.agency_a.assignments.update(end_date=datetime.date(2020, 12, 31))
    AssignmentFactory(
        agency=world.agency_b, commune=world.commune1, start_date=datetime.date(2021, 1, 1)
    )
    before = VisitFactory(
        commune=world.commune1, agency=world.agency_a, date=datetime.date(2020, 12, 31)
    )
    after = VisitFactory(
        commune=world.commune1, agency=world.agency_b, date=datetime.date(2021, 1, 1)
    )

    assert list(scoping.visits_for(world.liaison_a)) == [before]
    assert list(scoping.visits_for(fresh(world.liaison_b))) == [after]


def test_co_responsible_liaison_reads_but_cannot_change_the_lead_agencys_visit(world):
    AssignmentFactory(agency=world.agency_a, commune=world.commune2, start_date=DAY, role="co")
    lead_visit = VisitFactory(commune=world.commune2, agency=world.agency_b, date=DAY)

    assert scoping.get_visit_for_user(world.liaison_a, lead_visit.pk) == lead_visit
    with pytest.raises(PermissionDenied):
        scoping.get_visit_for_user(world.liaison_a, lead_visit.pk, change=True)


@pytest.mark.parametrize("pk", [999_999, "abc", None])
def test_missing_or_malformed_visit_id_is_404(world, pk):
    with pytest.raises(Http404):
        scoping.get_visit_for_user(world.staff, pk)


def test_anonymous_user_sees_no_visit(world, visit):
    assert not scoping.visits_for(AnonymousUser()).exists()
    with pytest.raises(Http404):
        scoping.get_visit_for_user(AnonymousUser(), visit.pk)


def test_inactive_user_sees_no_visit(world, visit):
    world.liaison_a.is_active = False
    world.liaison_a.save()

    with pytest.raises(Http404):
        scoping.get_visit_for_user(fresh(world.liaison_a), visit.pk)


def test_user_without_a_role_sees_no_visit(world, visit):
    assert not scoping.visits_for(UserFactory(username="khach")).exists()


def test_visit_list_takes_two_queries_whatever_its_length(world, django_assert_num_queries):
    VisitFactory.create_batch(5, commune=world.commune1, agency=world.agency_a, date=DAY)
    user = fresh(world.liaison_a)

    # One for the user's memberships, one for the visits.
    with django_assert_num_queries(2):
        assert len(list(scoping.visits_for(user))) == 5


# --- Difficulties -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["liaison_a", "officer", "staff"])
def test_difficulty_is_changed_by_its_agency_commune_and_province(world, difficulty, who):
    user = getattr(world, who)

    assert scoping.get_difficulty_for_user(user, difficulty.pk, change=True) == difficulty


@pytest.mark.parametrize("who", ["liaison_b", "rep"])
def test_difficulty_is_404_to_outsiders(world, difficulty, who):
    with pytest.raises(Http404):
        scoping.get_difficulty_for_user(getattr(world, who), difficulty.pk)


def test_difficulty_raised_before_the_assignment_is_404_to_the_liaison(world):
    early = DifficultyFactory(commune=world.commune1, raised_on=datetime.date(2016, 2, 1))

    with pytest.raises(Http404):
        scoping.get_difficulty_for_user(world.liaison_a, early.pk)
    assert scoping.get_difficulty_for_user(world.officer, early.pk, change=True) == early


def test_difficulty_list_of_a_commune_officer_is_their_commune(world, difficulty):
    DifficultyFactory(commune=world.commune2, raised_on=DAY)

    assert list(scoping.difficulties_for(world.officer)) == [difficulty]


# --- Contributions ------------------------------------------------------------------------------


def test_liaison_changes_a_contribution_of_their_agency(world, agency_gift):
    assert scoping.get_contribution_for_user(world.liaison_a, agency_gift.pk, change=True)


def test_liaison_reads_an_enterprise_contribution_to_their_commune(world, enterprise_gift):
    assert scoping.get_contribution_for_user(world.liaison_a, enterprise_gift.pk)


def test_liaison_gets_403_when_changing_an_enterprise_contribution(world, enterprise_gift):
    with pytest.raises(PermissionDenied):
        scoping.get_contribution_for_user(world.liaison_a, enterprise_gift.pk, change=True)


def test_liaison_of_another_agency_gets_404_for_a_contribution(world, agency_gift):
    with pytest.raises(Http404):
        scoping.get_contribution_for_user(world.liaison_b, agency_gift.pk)


def test_representative_changes_a_contribution_of_their_enterprise(world, enterprise_gift):
    assert scoping.get_contribution_for_user(world.rep, enterprise_gift.pk, change=True)


def test_representative_gets_404_for_an_agency_contribution(world, agency_gift):
    with pytest.raises(Http404):
        scoping.get_contribution_for_user(world.rep, agency_gift.pk)


def test_representative_gets_404_for_a_contribution_dated_after_the_twinning(world):
    world.enterprise.twinnings.update(end_date=datetime.date(2023, 12, 31))
    late = ContributionFactory(
        commune=world.commune1, agency=None, enterprise=world.enterprise, date=DAY
    )

    with pytest.raises(Http404):
        scoping.get_contribution_for_user(world.rep, late.pk)


def test_representative_sees_only_their_enterprises_contributions(world, enterprise_gift):
    ContributionFactory(commune=world.commune1, agency=world.agency_a, date=DAY)

    assert list(scoping.contributions_for(world.rep)) == [enterprise_gift]


def test_commune_officer_reads_but_cannot_change_a_contribution(world, agency_gift):
    assert scoping.get_contribution_for_user(world.officer, agency_gift.pk) == agency_gift
    with pytest.raises(PermissionDenied):
        scoping.get_contribution_for_user(world.officer, agency_gift.pk, change=True)


def test_commune_officer_may_confirm_a_contribution_received(world, enterprise_gift):
    assert scoping.get_contribution_to_confirm(world.officer, enterprise_gift.pk)


def test_contributor_cannot_confirm_their_own_contribution(world, agency_gift):
    with pytest.raises(PermissionDenied):
        scoping.get_contribution_to_confirm(world.liaison_a, agency_gift.pk)


def test_outsider_gets_404_when_confirming_a_contribution(world, agency_gift):
    with pytest.raises(Http404):
        scoping.get_contribution_to_confirm(world.liaison_b, agency_gift.pk)


def test_province_staff_may_correct_and_confirm_any_contribution(world, enterprise_gift):
    assert scoping.get_contribution_for_user(world.staff, enterprise_gift.pk, change=True)
    assert scoping.get_contribution_to_confirm(world.staff, enterprise_gift.pk)


# --- Plans and plan items -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "liaison_a", "staff"])
def test_plan_is_changed_by_its_commune_agency_and_province(world, plan, who):
    assert scoping.get_plan_for_user(getattr(world, who), plan.pk, change=True) == plan


def test_representative_reads_the_plan_of_a_twinned_commune(world, plan):
    assert scoping.get_plan_for_user(world.rep, plan.pk) == plan


def test_representative_gets_403_when_changing_a_plan(world, plan):
    with pytest.raises(PermissionDenied):
        scoping.get_plan_for_user(world.rep, plan.pk, change=True)


def test_liaison_of_another_agency_gets_404_for_a_plan(world, plan):
    with pytest.raises(Http404):
        scoping.get_plan_for_user(world.liaison_b, plan.pk)


def test_plan_of_a_year_the_agency_was_assigned_for_part_of_is_visible(world):
    world.agency_a.assignments.update(end_date=datetime.date(2019, 2, 1))
    plan_2019 = PlanFactory(commune=world.commune1, year=2019)
    plan_2020 = PlanFactory(commune=world.commune1, year=2020)

    assert list(scoping.plans_for(world.liaison_a)) == [plan_2019]
    with pytest.raises(Http404):
        scoping.get_plan_for_user(world.liaison_a, plan_2020.pk)


def test_plan_item_follows_the_rights_on_its_plan(world, plan):
    item = PlanItemFactory(plan=plan)

    assert scoping.get_plan_item_for_user(world.officer, item.pk, change=True) == item
    with pytest.raises(PermissionDenied):
        scoping.get_plan_item_for_user(world.rep, item.pk, change=True)
    with pytest.raises(Http404):
        scoping.get_plan_item_for_user(world.liaison_b, item.pk)


# --- Attachments --------------------------------------------------------------------------------


@pytest.fixture
def visit_photo(world, visit, media_root, upload):
    attachment_add(user=world.liaison_a, record=visit, files=[upload("anh.jpg", "jpeg")])
    return visit.attachments.get()


def test_attachment_is_visible_with_its_record(world, visit_photo):
    assert scoping.get_attachment_for_user(world.officer, visit_photo.pk) == visit_photo


def test_attachment_change_needs_the_right_to_change_its_record(world, visit_photo):
    assert scoping.get_attachment_for_user(world.liaison_a, visit_photo.pk, change=True)
    with pytest.raises(PermissionDenied):
        scoping.get_attachment_for_user(world.officer, visit_photo.pk, change=True)


def test_attachment_is_404_to_outsiders(world, visit_photo):
    with pytest.raises(Http404):
        scoping.get_attachment_for_user(world.liaison_b, visit_photo.pk)


def test_attachment_of_an_enterprise_contribution_is_404_to_another_agency(
    world, enterprise_gift, media_root, upload
):
    attachment_add(user=world.rep, record=enterprise_gift, files=[upload("phieu.pdf", "pdf")])
    attachment = enterprise_gift.attachments.get()

    assert scoping.get_attachment_for_user(world.rep, attachment.pk, change=True) == attachment
    with pytest.raises(Http404):
        scoping.get_attachment_for_user(world.liaison_b, attachment.pk)
