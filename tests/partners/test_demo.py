import datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import translation

from communes.models import AdminUnit, Designation, NtmLevel, NtmRecognition, Programme
from partners.demo import demo_load, ninh_binh_legacy_communes
from partners.demo_accounts import DEMO_PASSWORD
from partners.models import Agency, Assignment, Enterprise, Membership, Role, Twinning

NAMED = [
    "Khánh Hồng",
    "Chất Bình",
    "Gia Hưng",
    "Gia Tiến",
    "Gia Phương",
    "Ninh Hòa",
    "Ninh Xuân",
    "Lai Thành",
    "Yên Thành",
]
DEMO_MODELS = [Designation, Agency, Enterprise, Assignment, Twinning, Membership, NtmRecognition]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo loaded once for the module, from an empty database, and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        counts = demo_load()
        yield counts
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _snapshot() -> dict[str, int]:
    models = [*DEMO_MODELS, AdminUnit, Programme, get_user_model()]
    rows = {model.__name__: model.objects.count() for model in models}
    history = {
        f"{model.__name__} history": model.history.count()
        for model in [*DEMO_MODELS, AdminUnit, Programme]
    }
    return rows | history


def _commune(name: str) -> AdminUnit:
    return Designation.objects.get(commune__name=name).commune


@pytest.mark.django_db
def test_refuses_to_run_without_debug_and_without_the_flag(settings):
    settings.DEBUG = False
    agencies_before = Agency.objects.count()

    with pytest.raises(CommandError, match="--allow-production"):
        call_command("load_demo")

    assert Agency.objects.count() == agencies_before


def test_runs_without_debug_when_given_the_flag(demo, db, settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("load_demo", "--allow-production", stdout=out)

    assert "designations: 0 created, 55 unchanged" in out.getvalue()


def test_runs_when_debug_is_on(demo, db, settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("load_demo", stdout=out)

    assert "agencies: 0 created, 55 unchanged" in out.getvalue()


def test_first_run_loads_the_ninh_binh_units_and_creates_everything(demo, db):
    assert ninh_binh_legacy_communes().count() == 125
    assert demo["designations"] == {"created": 55}
    assert demo["agencies"] == {"created": 55}
    assert demo["enterprises"] == {"created": 56}
    assert demo["users"] == {"created": 5}


def test_counts_match_the_programme(demo, db):
    programme = Programme.objects.get(code="qd140")
    assert programme.decision_reference == "140-QĐ/TU"
    assert programme.started_on.year == 2016
    assert programme.designations.filter(decision_reference="140-QĐ/TU").count() == 55
    assert Agency.objects.count() == 55
    assert Enterprise.objects.count() == 56
    assert Assignment.objects.filter(role=Role.LEAD).count() == 55
    assert Twinning.objects.count() >= 55
    assert get_user_model().objects.count() == 5


def test_named_communes_are_designated(demo, db):
    designated = set(Designation.objects.values_list("commune__name", flat=True))
    assert set(NAMED) <= designated
    assert len(designated) == 55


def test_designated_communes_are_ninh_binh_legacy_or_historical_units(demo, db):
    communes = AdminUnit.objects.filter(designations__isnull=False)
    legacy = communes.filter(source=AdminUnit.Source.LEGACY)
    assert set(legacy) <= set(ninh_binh_legacy_communes())
    historical = communes.exclude(source=AdminUnit.Source.LEGACY)
    assert sorted(historical.values_list("name", flat=True)) == ["Gia Tiến", "Ninh Xuân"]


def test_every_commune_has_one_lead_agency_and_an_enterprise(demo, db):
    for designation in Designation.objects.select_related("commune"):
        commune = designation.commune
        assert commune.assignments.filter(role=Role.LEAD).count() == 1
        assert commune.twinnings.exists()
    assert not Enterprise.objects.filter(twinnings__isnull=True).exists()
    assert not Agency.objects.filter(assignments__isnull=True).exists()
    assert Assignment.objects.filter(role=Role.CO_RESPONSIBLE).exists()


def test_lead_assignments_start_on_2016_06_01(demo, db):
    starts = set(Assignment.objects.filter(role=Role.LEAD).values_list("start_date", flat=True))
    assert starts == {datetime.date(2016, 6, 1)}


def test_terms_on_units_that_ended_end_with_them(demo, db):
    for name in ("Gia Tiến", "Ninh Xuân"):
        commune = _commune(name)
        assert commune.valid_until == datetime.date(2024, 12, 31)
        assert {a.end_date for a in commune.assignments.all()} == {commune.valid_until}
        assert {t.end_date for t in commune.twinnings.all()} == {commune.valid_until}
        assert commune.designations.get().valid_until == commune.valid_until


def test_enterprise_tax_codes_are_unique_ninh_binh_codes(demo, db):
    codes = list(Enterprise.objects.values_list("tax_code", flat=True))
    assert len(set(codes)) == 56
    assert all(len(code) == 10 and code.isdigit() and code.startswith("27") for code in codes)


def test_every_demo_record_is_marked(demo, db):
    for model in DEMO_MODELS:
        assert model.objects.exists()
        assert not model.objects.filter(is_demo=False).exists(), model.__name__


def test_gia_tien_is_listed_as_missing_a_successor(demo, db):
    gia_tien = _commune("Gia Tiến")
    assert gia_tien.source == AdminUnit.Source.MANUAL
    assert gia_tien.parent.name == "Gia Viễn"
    assert list(AdminUnit.objects.missing_successor()) == [gia_tien]


def test_ninh_xuan_is_succeeded_by_ninh_nhat(demo, db):
    succession = _commune("Ninh Xuân").successions_out.get()
    assert succession.successor.name == "Ninh Nhất"
    assert succession.effective_date == datetime.date(2025, 1, 1)


def test_six_communes_reached_the_standard_after_year_one(demo, db):
    recognitions = NtmRecognition.objects.select_related("commune", "criteria_set")
    assert sorted(r.commune.name for r in recognitions) == sorted(
        ["Gia Hưng", "Gia Tiến", "Ninh Hòa", "Ninh Xuân", "Khánh Hồng", "Lai Thành"]
    )
    assert {r.level for r in recognitions} == {NtmLevel.STANDARD}
    assert {r.criteria_set.code for r in recognitions} == {"2016-2020"}
    assert {r.year for r in recognitions} <= {2016, 2017}


def test_one_login_per_role_with_the_demo_password(demo, db):
    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(users) == {"admin", "tinh", "coquan", "doanhnghiep", "xa"}
    assert all(user.check_password(DEMO_PASSWORD) for user in users.values())
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not users["admin"].memberships.exists()
    assert not any(users[name].is_staff for name in ("tinh", "coquan", "doanhnghiep", "xa"))


def test_demo_users_act_for_chat_binh(demo, db):
    chat_binh = _commune("Chất Bình")
    lead = Assignment.objects.get(commune=chat_binh, role=Role.LEAD)
    twinned = set(Enterprise.objects.filter(twinnings__commune=chat_binh))
    memberships = {m.user.username: m for m in Membership.objects.select_related("user")}

    assert memberships["tinh"].role == Membership.Role.PROVINCE_STAFF
    assert memberships["coquan"].agency == lead.agency
    assert memberships["doanhnghiep"].enterprise in twinned
    assert memberships["xa"].commune == chat_binh
    for username, membership in memberships.items():
        groups = list(membership.user.groups.values_list("name", flat=True))
        assert groups == [membership.role], username


def test_second_run_creates_and_changes_nothing(demo, db):
    before = _snapshot()

    counts = demo_load()

    assert _snapshot() == before
    assert all(tally["created"] == 0 for tally in counts.values())
    assert counts["designations"]["unchanged"] == 55
    assert counts["twinnings"]["unchanged"] == before["Twinning"]
