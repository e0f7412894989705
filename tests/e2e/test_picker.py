"""The search-as-you-type commune field on a phone: typed without diacritics, chosen with the
keyboard, saved; and without JavaScript the name typed is resolved by the server."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partners.models import Membership
from partners.services import membership_create
from programme.models import Visit
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    agency = AgencyFactory(name="Sở Nông nghiệp và Môi trường", short_name="Sở NN&MT")
    chat_binh = CommuneFactory(name="Chất Bình")
    AssignmentFactory(agency=agency, commune=chat_binh, start_date=datetime.date(2016, 6, 1))
    # Enough communes that a <select> of them would be long; none of them is "chat binh".
    for n in range(40):
        CommuneFactory(name=f"Chất Lượng {n:02d}")
    staff = UserFactory(username="tinh")
    membership_create(user=staff, role=Membership.Role.PROVINCE_STAFF)
    return {"commune": chat_binh, "agency": agency}


def _log_in(page, base_url, username):
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")


def test_province_staff_pick_a_commune_by_typing_without_diacritics_on_a_phone(
    live_server, phone_page, world
):
    page = phone_page
    _log_in(page, live_server.url, "tinh")
    page.goto(live_server.url + "/visits/new/")
    assert page.locator("select#id_commune").count() == 0

    page.locator("#id_commune").click()
    page.keyboard.type("chat binh")
    # On focus the list offers the first communes; the typed words narrow it to one.
    expect(page.locator("#id_commune_listbox [role=option]")).to_have_count(1)
    expect(page.locator("#id_commune_listbox [role=option]")).to_contain_text("Chất Bình")
    assert page.get_attribute("#id_commune", "aria-expanded") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#id_commune", "aria-activedescendant") == "id_commune_option_0"
    page.keyboard.press("Enter")  # picks; does not submit
    assert page.input_value("#id_commune_id") == str(world["commune"].pk)
    assert page.input_value("#id_commune").startswith("Xã Chất Bình")
    assert page.locator("#id_commune_listbox").is_hidden()

    page.locator("#id_agency").click()
    page.keyboard.type("nong nghiep")
    expect(page.locator("#id_agency_listbox [role=option]")).to_have_count(1)
    page.locator("#id_agency_listbox [role=option]").first.click()
    assert page.input_value("#id_agency_id") == str(world["agency"].pk)

    day = (timezone.localdate() - datetime.timedelta(days=2)).strftime("%d/%m/%Y")
    page.fill("#id_date", day)
    page.select_option("#id_kind", "survey")
    page.fill("#id_summary", "Khảo sát mô hình sản xuất.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/visits/\d+/$"))
    visit = Visit.objects.get()
    assert visit.commune == world["commune"] and visit.agency == world["agency"]


def test_without_javascript_the_list_filter_resolves_the_name_typed(live_server, browser, world):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, locale="vi-VN", java_script_enabled=False
    )
    page = context.new_page()
    try:
        _log_in(page, live_server.url, "tinh")
        page.goto(live_server.url + "/visits/")
        page.fill("#id_commune", "chat binh")
        page.click("#filters button[type=submit]")
        page.wait_for_url(re.compile(r".*commune_text=chat\+binh.*"))
        assert page.input_value("#id_commune_id") == str(world["commune"].pk)
        assert page.input_value("#id_commune").startswith("Xã Chất Bình")
        assert not page.locator("#filters .invalid-feedback").count()
    finally:
        context.close()
