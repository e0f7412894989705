import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_user_logs_in_in_vietnamese_and_switches_to_english(live_server, page):
    UserFactory(username="tinh")
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.fill("#id_username", "tinh")
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Chương trình xã đặc thù"
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Special-communes programme"


def test_a_wrong_password_gets_a_vietnamese_message(live_server, phone_page):
    UserFactory(username="coquan")
    phone_page.goto(live_server.url + "/accounts/login/")
    phone_page.fill("#id_username", "coquan")
    phone_page.fill("#id_password", "sai-mat-khau")
    phone_page.click("button[type=submit]")
    assert "không đúng" in phone_page.locator(".alert-danger").inner_text()
