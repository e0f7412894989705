"""A liaison in the field, on a phone: a Party-cell visit that raises a difficulty, an in-kind
contribution with a photo, both on the commune page; an outsider gets 404."""

import base64
import datetime
import re

import pytest
from django.utils import timezone

from partners.models import Membership
from partners.services import membership_create
from programme.models import Attachment, Contribution, ContributionCategory, Difficulty, Visit
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A 1×1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Categories are seeded by a migration; transactional tests flush them, so reseed one.
    ContributionCategory.objects.get_or_create(
        code="seed-stock",
        defaults={
            "name_vi": "Giống cây trồng, vật nuôi",
            "name_en": "Seed and breed stock",
            "area": "economy",
        },
    )
    commune = CommuneFactory(name="Chất Bình")
    agency = AgencyFactory(name="Sở Nông nghiệp và Môi trường", short_name="Sở NN&MT")
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    liaison = UserFactory(username="coquan")
    membership_create(user=liaison, role=Membership.Role.AGENCY_LIAISON, agency=agency)
    other_agency = AgencyFactory()
    AssignmentFactory(agency=other_agency, commune=CommuneFactory())
    outsider = UserFactory(username="nguoingoai")
    membership_create(user=outsider, role=Membership.Role.AGENCY_LIAISON, agency=other_agency)
    return {"commune": commune, "agency": agency}


def _log_in(page, base_url, username):
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")


def test_a_liaison_records_a_visit_a_difficulty_and_a_contribution_on_a_phone(
    live_server, phone_page, world, tmp_path
):
    page = phone_page
    commune = world["commune"]
    day = (timezone.localdate() - datetime.timedelta(days=3)).strftime("%d/%m/%Y")
    _log_in(page, live_server.url, "coquan")
    assert page.locator("#my-communes-cards").inner_text().count("Chất Bình") == 1

    # The visit: a village Party-cell meeting. Commune and agency are preselected.
    page.goto(live_server.url + "/visits/new/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.fill("#id_date", day)
    page.select_option("#id_kind", "cell_meeting")
    page.fill("#id_village", "Chi bộ thôn Tân Hưng")
    page.fill("#id_participants_count", "3")
    page.fill("#id_summary", "Dự sinh hoạt chi bộ thôn; nắm tình hình sản xuất vụ đông.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/visits/\d+/$"))
    visit = Visit.objects.get()
    assert visit.commune == commune and visit.village == "Chi bộ thôn Tân Hưng"

    # The difficulty raised at that visit.
    page.click(f"a[href$='/difficulties/new/?visit={visit.pk}']")
    page.wait_for_url(re.compile(r".*/difficulties/new/\?visit=\d+$"))
    page.select_option("#id_area", "ntm")
    page.fill("#id_description", "Đường trục thôn xuống cấp, mùa mưa ngập úng.")
    page.fill("#id_proposal", "Đề nghị hỗ trợ xi măng làm lại 500 m đường.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/difficulties/\d+/$"))
    difficulty = Difficulty.objects.get()
    assert difficulty.visit == visit and difficulty.raised_on == visit.date

    # The in-kind contribution, with a photo, typed the Vietnamese way.
    photo = tmp_path / "giong-lua.png"
    photo.write_bytes(PNG)
    page.goto(live_server.url + "/contributions/new/")
    page.fill("#id_date", day)
    page.select_option("#id_category", label="Giống cây trồng, vật nuôi")
    page.select_option("#id_form", "in_kind")
    page.fill("#id_value", "15.000.000")
    page.fill("#id_quantity", "500")
    page.fill("#id_unit", "kg")
    page.fill("#id_description", "Giống lúa chất lượng cao cho hộ nghèo")
    page.set_input_files("#id_files", str(photo))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/contributions/\d+/$"))
    contribution = Contribution.objects.get()
    assert contribution.value == 15_000_000 and contribution.agency == world["agency"]
    attachment = Attachment.objects.get()
    assert attachment.contribution == contribution and attachment.content_type == "image/png"

    # Both are on the commune page.
    page.goto(f"{live_server.url}/communes/{commune.pk}/")
    assert "Chi bộ thôn Tân Hưng" in page.locator("#visits").inner_text()
    assert "Đường trục thôn xuống cấp" in page.locator("#difficulties").inner_text()
    assert "15.000.000 đ" in page.locator("#contributions").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_an_outsider_gets_404_on_that_communes_records(live_server, phone_page, world):
    commune = world["commune"]
    page = phone_page
    _log_in(page, live_server.url, "coquan")
    page.goto(live_server.url + "/visits/new/")
    page.fill("#id_date", (timezone.localdate() - datetime.timedelta(days=1)).strftime("%d/%m/%Y"))
    page.select_option("#id_kind", "survey")
    page.fill("#id_summary", "Khảo sát")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/visits/\d+/$"))
    visit = Visit.objects.get()
    page.context.clear_cookies()

    _log_in(page, live_server.url, "nguoingoai")
    for path in (f"/visits/{visit.pk}/", f"/visits/{visit.pk}/edit/", f"/communes/{commune.pk}/"):
        response = page.goto(live_server.url + path)
        assert response.status == 404, path
