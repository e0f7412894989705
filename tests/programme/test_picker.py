"""Search-as-you-type fields: the JSON endpoint is scoped and accent-insensitive; the form field
refuses an id outside the user's scope beside the field and, without JavaScript, resolves the
name typed."""

import datetime

from django.urls import reverse

from communes.models import AdminUnit
from programme.forms import ContributionForm, VisitForm
from programme.models import Visit
from programme.picker import RESULTS
from tests.factories import (
    CommuneFactory,
    DistrictFactory,
    EnterpriseFactory,
    PlanFactory,
    PlanItemFactory,
)
from tests.programme.conftest import ASSIGNED_FROM


def pick(client, source: str, q: str = "", **extra):
    response = client.get(reverse("programme:pick", args=[source]), {"q": q, **extra})
    assert response.status_code == 200
    return response.json()


def labels(data) -> list[str]:
    return [item["label"] for item in data["results"]]


# --- The endpoint -------------------------------------------------------------------------------


def test_communes_are_found_without_diacritics_and_labelled_with_the_units_above(client, world):
    client.force_login(world.staff)
    for typed in ("gia hung", "GIA HUNG", "Gia Hưng", "xã gia hưng"):
        found = pick(client, "communes", typed)["results"]
        assert [item["id"] for item in found] == [world.commune1.pk], typed
    label = found[0]["label"]
    assert label.startswith("Xã Gia Hưng (") and world.commune1.parent.full_name in label


def test_a_liaison_is_offered_only_the_communes_of_their_agency(client, world):
    client.force_login(world.liaison_b)
    assert [item["id"] for item in pick(client, "communes")["results"]] == [world.commune2.pk]
    assert pick(client, "communes", "gia hung")["results"] == []
    assert labels(pick(client, "agencies")) == [world.agency_b.name + " (Sở B)"]
    assert pick(client, "enterprises")["results"] == []


def test_province_staff_may_pick_any_commune_not_only_designated_ones(client, world):
    elsewhere = CommuneFactory(name="Yên Lâm")
    client.force_login(world.staff)
    assert [item["id"] for item in pick(client, "communes", "yen lam")["results"]] == [elsewhere.pk]


def test_at_most_twenty_matches_whole_names_first_and_the_rest_is_announced(client, world):
    district = DistrictFactory()
    AdminUnit.objects.bulk_create(
        AdminUnit(level="commune", kind="xa", name=f"Yên Mỹ {n:02d}", parent=district)
        for n in range(30)
    )
    exact = CommuneFactory(name="Yên Mỹ", parent=district)
    client.force_login(world.staff)

    data = pick(client, "communes", "yen my")

    assert len(data["results"]) == RESULTS and data["more"] is True
    assert data["results"][0]["id"] == exact.pk


def test_enterprises_are_found_by_tax_code_and_ended_units_say_until_when(client, world):
    EnterpriseFactory(name="Công ty Cổ phần Xi măng Vissai", tax_code="2700273510")
    old = CommuneFactory(name="Ninh Xuân", valid_until=datetime.date(2024, 12, 31))
    client.force_login(world.staff)
    with_english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    client.cookies["django_language"] = "en"

    assert labels(pick(client, "enterprises", "2700273510")) == [
        "Công ty Cổ phần Xi măng Vissai (2700273510)"
    ]
    found = client.get(
        reverse("programme:pick", args=["communes"]), {"q": "ninh xuan"}, **with_english
    )
    assert [item["label"] for item in found.json()["results"]] == [
        f"Xã Ninh Xuân ({old.parent.full_name}, {old.parent.parent.name}) · until 31/12/2024"
    ]


def test_anonymous_users_get_401_and_unknown_sources_404(client, world):
    assert client.get(reverse("programme:pick", args=["communes"])).status_code == 401
    client.force_login(world.staff)
    assert client.get(reverse("programme:pick", args=["users"])).status_code == 404


def test_plan_items_are_offered_for_a_commune_in_scope_only(client, world):
    item = PlanItemFactory(plan=PlanFactory(commune=world.commune1, year=2024))
    url = reverse("programme:pick_plan_items")
    client.force_login(world.liaison_a)
    assert [
        row["id"] for row in client.get(url, {"commune": world.commune1.pk}).json()["results"]
    ] == [item.pk]
    client.force_login(world.liaison_b)
    assert client.get(url, {"commune": world.commune1.pk}).json()["results"] == []


# --- The form field -----------------------------------------------------------------------------


def visit_data(**fields) -> dict:
    return {
        "date": "15/03/2024",
        "kind": "survey",
        "summary": "Khảo sát.",
        "participants_count": "2",
        **fields,
    }


def test_a_commune_outside_the_scope_is_refused_beside_the_field(client, world):
    client.force_login(world.liaison_a)

    response = client.post(
        reverse("programme:visit_new"),
        visit_data(
            commune=world.commune2.pk,
            commune_text="",
            agency=world.agency_a.pk,
            agency_text=world.agency_a.name,
        ),
    )

    assert response.status_code == 200 and not Visit.objects.exists()
    errors = response.context["form"].errors
    assert list(errors) == ["commune"] or "commune" in errors
    html = response.content.decode()
    block = html[html.index('for="id_commune"') : html.index('for="id_agency"')]
    assert str(errors["commune"][0]) in block


def test_without_javascript_the_name_typed_is_resolved_on_the_server(world):
    form = VisitForm(
        visit_data(commune="", commune_text="gia hung", agency="", agency_text="sở a"),
        user=world.liaison_a,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["commune"] == world.commune1
    assert form.cleaned_data["agency"] == world.agency_a


def test_a_name_typed_over_an_earlier_pick_wins_over_the_stale_id(world):
    form = VisitForm(
        visit_data(
            commune=world.commune2.pk,
            commune_text="Gia Hưng",
            agency=world.agency_a.pk,
            agency_text=str(world.agency_a),
        ),
        user=world.staff,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["commune"] == world.commune1


def test_a_name_that_matches_several_or_none_is_explained(world):
    CommuneFactory(name="Gia Hưng")  # the same name in another district
    several = VisitForm(visit_data(commune_text="gia hung"), user=world.staff)
    assert not several.is_valid()
    assert "Gia Hưng" in str(several.errors["commune"])
    none = VisitForm(visit_data(commune_text="khong co xa nay"), user=world.staff)
    assert not none.is_valid() and "khong co xa nay" in str(none.errors["commune"])
    # The label offered by the list (with the units above) picks exactly one of them.
    exact = VisitForm(
        visit_data(
            commune_text=f"Xã Gia Hưng ({world.commune1.parent.full_name}, "
            f"{world.commune1.parent.parent.name})",
            agency=world.agency_a.pk,
            agency_text=str(world.agency_a),
        ),
        user=world.staff,
    )
    assert exact.is_valid(), exact.errors
    assert exact.cleaned_data["commune"] == world.commune1


def test_an_edit_keeps_a_commune_that_left_the_scope(world):
    visit = Visit.objects.create(
        commune=world.commune2, agency=world.agency_b, date=ASSIGNED_FROM, kind="survey"
    )
    form = VisitForm(instance=visit, user=world.liaison_a)
    shown = form["commune"].value()
    assert shown.pk == str(world.commune2.pk) and shown.text.startswith("Xã Ninh Hòa")


def test_forms_render_pickers_not_selects_and_plan_items_of_the_known_commune_only(world):
    mine = PlanItemFactory(plan=PlanFactory(commune=world.commune1, year=2024))
    PlanItemFactory(plan=PlanFactory(commune=world.commune2, year=2024))
    form = ContributionForm(user=world.liaison_a)  # one commune: it is preselected
    html = form.as_div()
    assert 'name="commune_text"' in html and 'role="combobox"' in html
    assert f'name="commune" id="id_commune_id" value="{world.commune1.pk}"' in html
    assert [value for value, _label in form.fields["plan_item"].widget.choices][1:] == [mine.pk]
    assert 'data-options-from="id_commune_id"' in html
