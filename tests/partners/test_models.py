import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from partners.models import Assignment, Enterprise, Membership, Role
from partners.roles import ROLE_PERMISSIONS
from partners.services import membership_create, roles_ensure
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    EnterpriseFactory,
    TwinningFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TAX_CODE_MESSAGE = "A tax code has 10 digits, or 10 digits, a dash and 3 digits (0101234567-001)."


@pytest.fixture(autouse=True)
def english():
    """Messages are compared in English, whatever the translators do to the catalogue."""
    with translation.override("en"):
        yield


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


# --- Enterprise tax code -----------------------------------------------------------------------


@pytest.mark.parametrize("tax_code", ["2700123456", "2700123456-001"])
def test_tax_code_accepts_10_digits_with_an_optional_branch(tax_code):
    Enterprise(name="Công ty TNHH Thử", tax_code=tax_code).full_clean()


@pytest.mark.parametrize("tax_code", ["270012345", "27001234AB", "2700123456-01"])
def test_tax_code_refuses_a_malformed_value_with_a_clear_message(tax_code):
    with pytest.raises(ValidationError) as error:
        Enterprise(name="Công ty TNHH Thử", tax_code=tax_code).full_clean()
    assert error.value.message_dict["tax_code"] == [TAX_CODE_MESSAGE]


@pytest.mark.parametrize("tax_code", ["270012345", "27001234AB", "2700123456-01"])
def test_database_refuses_a_malformed_tax_code(tax_code):
    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.create(name="Công ty TNHH Thử", tax_code=tax_code)


def test_tax_codes_are_unique():
    EnterpriseFactory(tax_code="2700123456")
    with pytest.raises(ValidationError) as error:
        Enterprise(name="Công ty khác", tax_code="2700123456").full_clean()
    assert "tax_code" in error.value.message_dict


# --- Assignment terms --------------------------------------------------------------------------


@pytest.fixture
def commune():
    return CommuneFactory()


@pytest.fixture
def lead(commune):
    """A lead agency since 2016-06-01, with no end."""
    return AssignmentFactory(
        commune=commune, agency=AgencyFactory(short_name="Sở Tài chính"), role=Role.LEAD
    )


def test_second_lead_overlapping_is_refused_with_a_readable_message(commune, lead):
    second = Assignment(
        agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2018-01-01")
    )
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert error.value.message_dict["role"] == [
        "Sở Tài chính is already the lead agency for this commune from 01/06/2016. A commune "
        "has at most one lead agency on any day: end that term first, or choose co-responsible."
    ]


def test_message_names_the_end_of_the_clashing_term(commune):
    AssignmentFactory(
        commune=commune,
        agency=AgencyFactory(short_name="Công an tỉnh"),
        start_date=d("2016-06-01"),
        end_date=d("2020-12-31"),
    )
    second = Assignment(
        agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2020-12-31")
    )
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert "from 01/06/2016 – 31/12/2020." in error.value.message_dict["role"][0]


def test_database_refuses_an_overlapping_lead(commune, lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2018-01-01")
        )


def test_co_responsible_agencies_may_overlap_the_lead(commune, lead):
    co = Assignment(
        agency=AgencyFactory(),
        commune=commune,
        role=Role.CO_RESPONSIBLE,
        start_date=d("2017-01-01"),
    )
    co.full_clean()
    co.save()
    other = Assignment(
        agency=AgencyFactory(),
        commune=commune,
        role=Role.CO_RESPONSIBLE,
        start_date=d("2017-01-01"),
    )
    other.full_clean()
    other.save()
    assert Assignment.objects.filter(commune=commune).count() == 3


def test_lead_terms_that_touch_are_allowed(commune):
    AssignmentFactory(commune=commune, start_date=d("2016-06-01"), end_date=d("2020-12-31"))
    successor = Assignment(
        agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2021-01-01")
    )
    successor.full_clean()
    successor.save()
    assert Assignment.objects.active_on(d("2021-01-01")).get() == successor
    assert Assignment.objects.active_on(d("2020-12-31")).get() != successor


def test_an_open_ended_lead_blocks_every_later_lead(commune, lead):
    later = Assignment(
        agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2035-01-01")
    )
    with pytest.raises(ValidationError):
        later.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        later.save()


def test_an_open_ended_lead_starting_earlier_overlaps_a_closed_one(commune):
    AssignmentFactory(commune=commune, start_date=d("2018-01-01"), end_date=d("2019-12-31"))
    earlier = Assignment(
        agency=AgencyFactory(), commune=commune, role=Role.LEAD, start_date=d("2016-01-01")
    )
    with pytest.raises(ValidationError):
        earlier.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        earlier.save()


def test_leads_of_different_communes_do_not_clash(lead):
    other = Assignment(agency=lead.agency, commune=CommuneFactory(), start_date=d("2016-06-01"))
    other.full_clean()


def test_same_agency_twice_on_a_commune_is_refused(commune, lead):
    again = Assignment(
        agency=lead.agency,
        commune=commune,
        role=Role.CO_RESPONSIBLE,
        start_date=d("2019-01-01"),
    )
    with pytest.raises(ValidationError) as error:
        again.full_clean()
    assert (
        "This agency is already assigned to this commune for part of that term."
        in error.value.messages
    )


def test_term_cannot_end_before_it_starts(commune):
    assignment = Assignment(
        agency=AgencyFactory(),
        commune=commune,
        start_date=d("2020-01-01"),
        end_date=d("2019-01-01"),
    )
    with pytest.raises(ValidationError) as error:
        assignment.full_clean()
    assert "end_date" in error.value.message_dict


def test_twinnings_of_several_enterprises_may_overlap(commune):
    TwinningFactory(commune=commune)
    TwinningFactory(commune=commune, role=Role.LEAD)
    assert commune.twinnings.count() == 2


# --- Membership --------------------------------------------------------------------------------


def test_liaison_must_name_an_agency():
    membership = Membership(user=UserFactory(), role=Membership.Role.AGENCY_LIAISON)
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert error.value.message_dict["agency"] == ["Choose the agency this person acts for."]


def test_province_staff_name_no_organisation():
    membership = Membership(
        user=UserFactory(), role=Membership.Role.PROVINCE_STAFF, commune=CommuneFactory()
    )
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert error.value.message_dict["commune"] == ["Leave this empty for the role chosen."]


def test_representative_names_only_their_enterprise():
    membership = Membership(
        user=UserFactory(),
        role=Membership.Role.ENTERPRISE_REP,
        enterprise=EnterpriseFactory(),
        agency=AgencyFactory(),
    )
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert set(error.value.message_dict) == {"agency"}


@pytest.mark.parametrize(
    ("role", "organisation"),
    [
        (Membership.Role.AGENCY_LIAISON, {}),
        (Membership.Role.COMMUNE_OFFICER, {"agency": True}),
        (Membership.Role.PROVINCE_STAFF, {"enterprise": True}),
    ],
)
def test_database_refuses_a_role_with_the_wrong_organisation(role, organisation):
    factories = {"agency": AgencyFactory, "enterprise": EnterpriseFactory}
    values = {field: factories[field]() for field in organisation}
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=role, **values)


def test_membership_create_adds_the_user_to_the_role_group():
    user = UserFactory()
    agency = AgencyFactory()

    membership = membership_create(user=user, role=Membership.Role.AGENCY_LIAISON, agency=agency)

    assert membership.pk and membership.agency == agency
    assert list(user.groups.values_list("name", flat=True)) == ["agency_liaison"]
    assert user.has_perm("partners.view_assignment")
    assert not user.has_perm("partners.change_assignment")


def test_membership_create_refuses_a_bad_membership_and_adds_no_group():
    user = UserFactory()
    with pytest.raises(ValidationError):
        membership_create(user=user, role=Membership.Role.COMMUNE_OFFICER)
    assert not user.groups.exists()
    assert not Membership.objects.exists()


def test_membership_create_refuses_a_duplicate():
    user = UserFactory()
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    with pytest.raises(ValidationError):
        membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    assert Membership.objects.count() == 1


def test_province_staff_may_view_and_change_everything_and_manage_terms():
    user = UserFactory()
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    assert user.has_perm("communes.change_designation")
    assert user.has_perm("partners.change_membership")
    assert user.has_perm("communes.view_adminunit")
    assert user.has_perm("partners.add_assignment")
    assert user.has_perm("partners.delete_twinning")
    assert not user.has_perm("communes.delete_adminunit")
    assert not user.has_perm("partners.delete_agency")


def test_roles_are_groups_named_after_the_role_values():
    groups = roles_ensure()
    assert sorted(groups) == sorted(Membership.Role.values)
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(Membership.Role.values)


def test_roles_ensure_is_idempotent_and_restores_permissions():
    roles_ensure()
    Group.objects.get(name="commune_officer").permissions.clear()

    roles_ensure()
    roles_ensure()

    assert Group.objects.count() == 4
    for role, names in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        assert group.permissions.count() == len(names)


def test_only_province_staff_see_memberships():
    roles_ensure()
    seeing = Group.objects.filter(permissions__codename="view_membership")
    assert list(seeing.values_list("name", flat=True)) == ["province_staff"]
