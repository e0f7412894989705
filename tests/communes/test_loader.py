import datetime
import io
import unicodedata
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from communes.loader import (
    CHANGE_REASON,
    ProvinceSelection,
    UnknownProvinceError,
    admin_units_load,
    select_provinces,
)
from communes.models import AdminUnit, Succession
from tests.factories import CommuneFactory

NINH_BINH = "legacy:tinhninhbinh"
NEW_NINH_BINH = "current:tinhninhbinh"
CHAT_BINH = "legacy:tinhninhbinh_huyenkimson_xachatbinh"
HOA_LU_CITY = "legacy:tinhninhbinh_thanhphohoalu"
NINH_NHAT = "legacy:tinhninhbinh_thanhphohoalu_xaninhnhat"
HOA_LU_DISTRICT = "historical:tinhninhbinh_huyenhoalu"
NINH_BINH_CITY = "historical:tinhninhbinh_thanhphoninhbinh"
NINH_XUAN = "historical:tinhninhbinh_huyenhoalu_xaninhxuan"
GIA_TAN = "legacy:tinhninhbinh_huyengiavien_xagiatan"


def unit(source_key: str) -> AdminUnit:
    return AdminUnit.objects.get(source_key=source_key)


def successor_keys(source_key: str) -> set[str]:
    return set(
        Succession.objects.filter(predecessor__source_key=source_key).values_list(
            "successor__source_key", flat=True
        )
    )


def package_legacy_commune_keys(province_key: str) -> set[str]:
    from communes.loader import _package

    return {
        f"legacy:{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"
        for row in _package().legacy
        if row["provinceKey"] == province_key and row["wardKey"]
    }


@pytest.mark.django_db
def test_ninh_binh_has_7_district_level_and_125_legacy_communes(ninh_binh):
    legacy = AdminUnit.objects.filter(source=AdminUnit.Source.LEGACY)
    province = unit(NINH_BINH)
    assert legacy.filter(level=AdminUnit.Level.DISTRICT, parent=province).count() == 7
    assert legacy.filter(level=AdminUnit.Level.COMMUNE, parent__parent=province).count() == 125
    assert legacy.count() == 1 + 7 + 125


@pytest.mark.django_db
def test_new_ninh_binh_has_129_communes_and_no_district_level(ninh_binh):
    current = AdminUnit.objects.filter(source=AdminUnit.Source.CURRENT)
    province = unit(NEW_NINH_BINH)
    assert current.filter(level=AdminUnit.Level.COMMUNE, parent=province).count() == 129
    assert not current.filter(level=AdminUnit.Level.DISTRICT).exists()
    assert current.count() == 1 + 129
    assert set(current.values_list("valid_from", "valid_until")) == {
        (datetime.date(2025, 7, 1), None)
    }


@pytest.mark.django_db
def test_legacy_commune_carries_the_package_fields(ninh_binh):
    chat_binh = unit(CHAT_BINH)
    assert chat_binh.full_name == "Xã Chất Bình"
    assert chat_binh.name == "Chất Bình"
    assert chat_binh.kind == AdminUnit.Kind.XA
    assert chat_binh.level == AdminUnit.Level.COMMUNE
    assert chat_binh.code == "14653"
    assert chat_binh.latitude == Decimal("20.120736")
    assert chat_binh.longitude == Decimal("106.137511")
    assert chat_binh.source == AdminUnit.Source.LEGACY
    assert chat_binh.valid_from is None
    assert chat_binh.valid_until == datetime.date(2025, 6, 30)
    assert chat_binh.parent.full_name == "Huyện Kim Sơn"
    assert chat_binh.parent.parent.full_name == "Tỉnh Ninh Bình"


@pytest.mark.django_db
def test_loaded_units_have_a_history_record_with_the_reason(ninh_binh):
    record = unit(CHAT_BINH).history.get()
    assert record.history_change_reason == CHANGE_REASON


@pytest.mark.django_db
def test_every_legacy_commune_of_the_package_is_loaded_with_a_successor(ninh_binh):
    expected = package_legacy_commune_keys("tinhninhbinh")
    assert len(expected) == 125
    loaded = set(
        AdminUnit.objects.filter(source_key__in=expected).values_list("source_key", flat=True)
    )
    assert loaded == expected
    without_successor = AdminUnit.objects.filter(
        source_key__in=expected, successions_out__isnull=True
    )
    assert not without_successor.exists()
    assert set(
        Succession.objects.filter(predecessor__source_key__in=expected).values_list(
            "effective_date", "legal_reference", "successor__source"
        )
    ) == {(datetime.date(2025, 7, 1), "Nghị quyết 1674/NQ-UBTVQH15", "current")}


@pytest.mark.django_db
def test_legacy_province_is_succeeded_by_the_new_province(ninh_binh):
    succession = Succession.objects.get(predecessor=unit(NINH_BINH))
    assert succession.successor == unit(NEW_NINH_BINH)
    assert succession.effective_date == datetime.date(2025, 7, 1)
    assert succession.legal_reference == "Nghị quyết 202/2025/QH15"
    assert not succession.partial


@pytest.mark.django_db
def test_districts_get_no_successor_on_1_7_2025(ninh_binh):
    districts = AdminUnit.objects.filter(
        source=AdminUnit.Source.LEGACY, level=AdminUnit.Level.DISTRICT
    )
    assert not Succession.objects.filter(predecessor__in=districts).exists()


@pytest.mark.django_db
def test_divided_commune_gets_partial_successions(ninh_binh):
    successions = Succession.objects.filter(predecessor=unit(GIA_TAN))
    assert {(s.successor.full_name, s.partial) for s in successions} == {
        ("Phường Tây Hoa Lư", True),
        ("Xã Gia Vân", True),
    }


@pytest.mark.django_db
def test_undivided_commune_succession_is_not_partial(ninh_binh):
    succession = Succession.objects.get(predecessor=unit(CHAT_BINH))
    assert succession.successor.full_name == "Xã Chất Bình"
    assert succession.successor.source == AdminUnit.Source.CURRENT
    assert not succession.partial


@pytest.mark.django_db
def test_historical_units_of_1_1_2025_are_loaded(ninh_binh):
    hoa_lu, ninh_binh_city, ninh_xuan = unit(HOA_LU_DISTRICT), unit(NINH_BINH_CITY), unit(NINH_XUAN)
    assert (hoa_lu.full_name, hoa_lu.level) == ("Huyện Hoa Lư", AdminUnit.Level.DISTRICT)
    assert (ninh_binh_city.full_name, ninh_binh_city.level) == (
        "Thành phố Ninh Bình",
        AdminUnit.Level.DISTRICT,
    )
    assert (ninh_xuan.full_name, ninh_xuan.level) == ("Xã Ninh Xuân", AdminUnit.Level.COMMUNE)
    assert hoa_lu.parent == ninh_binh_city.parent == unit(NINH_BINH)
    assert ninh_xuan.parent == hoa_lu
    for historical in (hoa_lu, ninh_binh_city, ninh_xuan):
        assert historical.source == AdminUnit.Source.MANUAL
        assert historical.valid_until == datetime.date(2024, 12, 31)
        assert not historical.is_valid_on(datetime.date(2025, 1, 1))


@pytest.mark.django_db
def test_ninh_xuan_is_succeeded_by_ninh_nhat_on_1_1_2025(ninh_binh):
    succession = Succession.objects.get(predecessor=unit(NINH_XUAN))
    assert succession.successor == unit(NINH_NHAT)
    assert succession.successor.full_name == "Xã Ninh Nhất"
    assert succession.effective_date == datetime.date(2025, 1, 1)
    assert succession.legal_reference == "Nghị quyết 1318/NQ-UBTVQH15"


@pytest.mark.django_db
def test_hoa_lu_district_and_ninh_binh_city_are_succeeded_by_hoa_lu_city(ninh_binh):
    hoa_lu_city = unit(HOA_LU_CITY)
    assert hoa_lu_city.full_name == "Thành phố Hoa Lư"
    successions = Succession.objects.filter(successor=hoa_lu_city)
    assert {(s.predecessor.source_key, s.effective_date) for s in successions} == {
        (HOA_LU_DISTRICT, datetime.date(2025, 1, 1)),
        (NINH_BINH_CITY, datetime.date(2025, 1, 1)),
    }


@pytest.mark.django_db
def test_second_load_changes_nothing(ninh_binh):
    units_before = dict(AdminUnit.objects.values_list("source_key", "pk"))
    successions_before = set(Succession.objects.values_list("pk", "predecessor", "successor"))
    history_before = AdminUnit.history.count() + Succession.history.count()

    result = admin_units_load(province="Ninh Bình")

    assert (result.units.created, result.units.updated) == (0, 0)
    assert (result.successions.created, result.successions.updated) == (0, 0)
    assert result.units.unchanged == ninh_binh.units.created == 266
    assert result.successions.unchanged == ninh_binh.successions.created
    assert dict(AdminUnit.objects.values_list("source_key", "pk")) == units_before
    assert set(Succession.objects.values_list("pk", "predecessor", "successor")) == (
        successions_before
    )
    assert AdminUnit.history.count() + Succession.history.count() == history_before


@pytest.mark.django_db
def test_second_load_runs_a_fixed_number_of_queries(ninh_binh, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        admin_units_load(province="Ninh Bình")


@pytest.mark.django_db
def test_reload_repairs_a_changed_unit_in_place(ninh_binh):
    chat_binh = unit(CHAT_BINH)
    AdminUnit.objects.filter(pk=chat_binh.pk).update(name="Chất Bình (sửa tay)", code="")

    result = admin_units_load(province="Ninh Bình")

    assert (result.units.created, result.units.updated) == (0, 1)
    chat_binh.refresh_from_db()
    assert (chat_binh.name, chat_binh.code) == ("Chất Bình", "14653")


@pytest.mark.django_db
def test_legacy_only_province_also_loads_the_province_it_merged_into(
    ninh_binh, django_assert_max_num_queries
):
    with django_assert_max_num_queries(25):
        result = admin_units_load(province="Hà Nam")

    assert result.legacy_provinces == ["Tỉnh Hà Nam"]
    assert result.current_provinces == ["Tỉnh Ninh Bình"]
    ha_nam_communes = package_legacy_commune_keys("tinhhanam")
    assert not AdminUnit.objects.filter(
        source_key__in=ha_nam_communes, successions_out__isnull=True
    ).exists()
    quang_trung = Succession.objects.filter(
        predecessor__source_key="legacy:tinhhanam_thanhphophuly_phuongquangtrung"
    )
    assert {(s.successor.full_name, s.partial) for s in quang_trung} == {
        ("Phường Hà Nam", True),
        ("Phường Phủ Lý", True),
    }
    assert not AdminUnit.objects.filter(source_key__startswith="historical:tinhhanam").exists()


@pytest.mark.parametrize(
    "name",
    [
        "Ninh Bình",
        "ninh binh",
        "NINH BÌNH",
        "Tỉnh Ninh Bình",
        "tinh ninh binh",
        "tinhninhbinh",
        " Ninh  Bình ",
        unicodedata.normalize("NFD", "Ninh Bình"),
    ],
)
def test_province_name_matches_with_or_without_diacritics_and_prefix(name):
    assert select_provinces(province=name, everything=False) == ProvinceSelection(
        legacy=frozenset({"tinhninhbinh"}), current=frozenset({"tinhninhbinh"})
    )


@pytest.mark.parametrize("name", ["Hà Nội", "ha noi", "Thành phố Hà Nội", "thanh pho ha noi"])
def test_city_name_matches_with_or_without_thanh_pho(name):
    selection = select_provinces(province=name, everything=False)
    assert selection.legacy == {"thanhphohanoi"}
    assert selection.current == {"thanhphohanoi"}


def test_unknown_province_is_refused():
    with pytest.raises(UnknownProvinceError):
        select_provinces(province="Atlantis", everything=False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [[], ["--province", "ninh binh"], ["--province", "TỈNH NINH BÌNH"]]
)
def test_command_loads_ninh_binh_by_default_or_by_name(ninh_binh, args):
    count_before = AdminUnit.objects.count()
    out = io.StringIO()

    call_command("load_admin_units", *args, stdout=out)

    assert "Tỉnh Ninh Bình" in out.getvalue()
    assert AdminUnit.objects.count() == count_before


@pytest.mark.django_db
def test_command_reports_an_unknown_province_clearly():
    count_before = AdminUnit.objects.count()

    with pytest.raises(CommandError, match="Atlantis"):
        call_command("load_admin_units", "--province", "Atlantis", stdout=io.StringIO())

    assert AdminUnit.objects.count() == count_before


def test_command_refuses_province_together_with_all():
    with pytest.raises(CommandError):
        call_command("load_admin_units", "--province", "Ninh Bình", "--all")


@pytest.mark.django_db
def test_missing_successor_lists_a_historical_commune_without_successor(ninh_binh):
    forgotten = CommuneFactory(name="Ninh Thắng", valid_until=datetime.date(2019, 12, 31))

    assert list(AdminUnit.objects.missing_successor()) == [forgotten]
