"""factory_boy factories shared by every test suite."""

import datetime

import factory
from django.contrib.auth import get_user_model

from communes.models import AdminUnit, CriteriaSet, Criterion, Designation, Programme
from partners.models import Agency, Assignment, Enterprise, Membership, Twinning


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ("code",)

    code = "qd140"
    name = "Xã đặc thù (QĐ 140-QĐ/TU)"
    decision_reference = "140-QĐ/TU"
    started_on = datetime.date(2016, 1, 1)


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminUnit

    level = AdminUnit.Level.PROVINCE
    kind = AdminUnit.Kind.TINH
    name = factory.Sequence(lambda n: f"Tỉnh thử {n}")
    code = factory.Sequence(lambda n: f"{90 + n % 9}")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminUnit

    level = AdminUnit.Level.DISTRICT
    kind = AdminUnit.Kind.HUYEN
    name = factory.Sequence(lambda n: f"Huyện thử {n}")
    parent = factory.SubFactory(ProvinceFactory)


class CommuneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminUnit

    level = AdminUnit.Level.COMMUNE
    kind = AdminUnit.Kind.XA
    name = factory.Sequence(lambda n: f"Xã thử {n}")
    code = factory.Sequence(lambda n: f"{90000 + n}")
    parent = factory.SubFactory(DistrictFactory)


class DesignationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Designation

    programme = factory.SubFactory(ProgrammeFactory)
    commune = factory.SubFactory(CommuneFactory)
    valid_from = datetime.date(2016, 6, 1)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Sở thử nghiệm số {n}")
    short_name = factory.Sequence(lambda n: f"STN{n}")


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"Công ty TNHH Thử nghiệm {n}")
    tax_code = factory.Sequence(lambda n: f"27{n:08d}")


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    agency = factory.SubFactory(AgencyFactory)
    commune = factory.SubFactory(CommuneFactory)
    start_date = datetime.date(2016, 6, 1)


class TwinningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Twinning

    enterprise = factory.SubFactory(EnterpriseFactory)
    commune = factory.SubFactory(CommuneFactory)
    start_date = datetime.date(2016, 6, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.PROVINCE_STAFF


class CriteriaSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CriteriaSet
        django_get_or_create = ("code",)

    code = "ntm-test"
    name = "Bộ tiêu chí quốc gia về xã nông thôn mới giai đoạn 2021-2025"
    legal_reference = "318/QĐ-TTg"
    first_year = 2021
    last_year = 2025
    has_advanced_levels = True


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Criterion

    criteria_set = factory.SubFactory(CriteriaSetFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Tiêu chí thử {n}")


# --- Programme work records ---------------------------------------------------------------------


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programme.Plan"

    commune = factory.SubFactory(CommuneFactory)
    year = 2024


class PlanItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programme.PlanItem"

    plan = factory.SubFactory(PlanFactory)
    area = "ntm"
    title = factory.Sequence(lambda n: f"Bê tông hóa đường thôn {n}")


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programme.Visit"

    commune = factory.SubFactory(CommuneFactory)
    agency = factory.SubFactory(AgencyFactory)
    date = datetime.date(2024, 3, 15)
    kind = "survey"
    summary = "Khảo sát tình hình sản xuất của xã."


class DifficultyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programme.Difficulty"

    commune = factory.SubFactory(CommuneFactory)
    raised_on = datetime.date(2024, 3, 15)
    area = "ntm"
    description = "Đường liên thôn xuống cấp."


def _seeded_category(code: str):
    """Support categories are seeded by a migration: look one up instead of creating it."""
    from programme.models import ContributionCategory

    return ContributionCategory.objects.get(code=code)


class ContributionFactory(factory.django.DjangoModelFactory):
    """An agency's cash contribution; pass `agency=None, enterprise=...` for an enterprise's."""

    class Meta:
        model = "programme.Contribution"

    date = datetime.date(2024, 3, 15)
    commune = factory.SubFactory(CommuneFactory)
    agency = factory.SubFactory(AgencyFactory)
    area = "ntm"
    category = factory.LazyFunction(lambda: _seeded_category("roads"))
    form = "cash"
    value = 1_500_000
    description = "Hỗ trợ xi măng làm đường."
