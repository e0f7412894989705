import datetime
import unicodedata

import pytest
from django.contrib import admin

from communes.loader import _package, split_name
from communes.models import AdminUnit
from communes.text import fold
from tests.factories import UserFactory

CHAT_BINH = "legacy:tinhninhbinh_huyenkimson_xachatbinh"
SPELLINGS_OF_CHAT_BINH = [
    "chat binh",
    "Chat Binh",
    "CHẤT BÌNH",
    "Chất Bình",
    "  chất   bình ",
    unicodedata.normalize("NFD", "Chất Bình"),
    unicodedata.normalize("NFD", "CHẤT BÌNH"),
]


@pytest.fixture
def user_client(client):
    client.force_login(UserFactory(username="canbo"))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("query", SPELLINGS_OF_CHAT_BINH)
def test_search_ignores_case_diacritics_and_spacing(ninh_binh, query):
    found = AdminUnit.objects.search(query)
    assert set(found.values_list("name", flat=True)) == {"Chất Bình"}
    assert found.filter(source_key=CHAT_BINH).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["dong thanh", "DONG THANH", "Đông Thành", "đông thành"])
def test_search_folds_d_with_stroke_to_d(ninh_binh, query):
    names = {unit.full_name for unit in AdminUnit.objects.search(query)}
    assert "Phường Đông Thành" in names


@pytest.mark.django_db
def test_search_matches_part_of_a_name(ninh_binh):
    names = {unit.full_name for unit in AdminUnit.objects.search("tam diep")}
    assert "Thành phố Tam Điệp" in names


@pytest.mark.django_db
@pytest.mark.parametrize("query", SPELLINGS_OF_CHAT_BINH)
def test_unit_page_finds_a_commune_whatever_the_spelling(ninh_binh, user_client, query):
    response = user_client.get("/communes/", {"q": query})
    assert response.status_code == 200
    assert "Xã Chất Bình" in response.content.decode()


@pytest.mark.django_db
def test_admin_changelist_search_ignores_diacritics(ninh_binh, admin_client):
    if not admin.site.is_registered(AdminUnit):
        pytest.skip("AdminUnit has no admin page yet")
    response = admin_client.get("/admin/communes/adminunit/", {"q": "chat binh"})
    assert response.status_code == 200
    assert "Chất Bình" in response.content.decode()


@pytest.mark.django_db
def test_generated_search_column_agrees_with_fold_for_real_names():
    """Every distinct unit name of the package, folded by PostgreSQL and by Python."""
    package = _package()
    names = set()
    for row in [*package.legacy, *package.current]:
        for column in ("province", "district", "ward"):
            if row.get(column):
                names.add(row[column])
                names.add(split_name(row[column])[1])
    names.update(["Đắk Lắk", "ĐẮK NÔNG", "Thừa Thiên Huế", "Bà Rịa - Vũng Tàu", "Phường  12"])
    AdminUnit.objects.bulk_create(
        AdminUnit(
            level=AdminUnit.Level.COMMUNE,
            kind=AdminUnit.Kind.XA,
            name=name,
            valid_until=datetime.date(2000, 1, 1),
        )
        for name in sorted(names)
    )

    stored = AdminUnit.objects.filter(valid_until=datetime.date(2000, 1, 1)).values_list(
        "name", "search_name"
    )

    assert len(stored) == len(names) > 10_000
    assert [(name, column) for name, column in stored if column != fold(name)] == []
