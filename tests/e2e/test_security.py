"""Security in a real browser: the admin and the main pages run under the Content Security
Policy (the page fixture fails a test on any violation), and pages showing the XSS corpus run none
of it. The page-level checks without a browser are in tests/security/."""

import pytest
from django.urls import reverse

from tests.factories import VisitFactory
from tests.programme.conftest import media_root, world  # noqa: F401
from tests.security.test_xss_corpus import CORPUS, stored  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(live_server, page, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def test_the_admin_runs_under_the_policy(live_server, page, admin_user, world):  # noqa: F811
    visit = VisitFactory(commune=world.commune1, agency=world.agency_a)
    visit.summary = "Khảo sát lại."
    visit._change_reason = "Sửa nội dung"
    visit.save()
    log_in(live_server, page, admin_user.username)
    history = visit.history.latest()
    for url in [
        reverse("admin:index"),
        reverse("admin:programme_visit_changelist"),
        reverse("admin:programme_visit_change", args=[visit.pk]),
        reverse("admin:programme_visit_history", args=[visit.pk]),
        reverse("admin:programme_visit_simple_history", args=[visit.pk, history.history_id]),
        reverse("admin:partners_agency_add"),
    ]:
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        assert page.locator("#content").count() == 1, url
    # The admin's own scripts run: the sidebar toggle folds the navigation away.
    page.goto(live_server.url + reverse("admin:programme_visit_changelist"))
    assert "shifted" in page.locator("#main").get_attribute("class")
    page.click("#toggle-nav-sidebar")
    assert "shifted" not in page.locator("#main").get_attribute("class")


def test_the_language_switcher_works_without_inline_handlers(live_server, page, world):  # noqa: F811
    log_in(live_server, page, world.staff.username)
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"


def test_pages_with_payloads_open_no_dialog(live_server, page, world, stored):  # noqa: F811
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(live_server, page, world.staff.username)

    for url in [
        reverse("programme:visit_detail", args=[stored.visit.pk]),
        reverse("programme:difficulty_detail", args=[stored.difficulty.pk]),
        reverse("programme:contribution_list") + "?q=xss",
        reverse("programme:commune_detail", args=[world.commune1.pk]),
        reverse("reports:dashboard") + "?kind=year&year=2024",
    ]:
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        # The payload is on the page as text, exactly as typed.
        assert CORPUS[0] in page.locator("main").inner_text(), url
        assert (
            page.evaluate("document.querySelectorAll('main img[src=x], main svg[onload]').length")
            == 0
        ), url
    # The edit form shows the stored text in its field, as typed.
    page.goto(live_server.url + reverse("programme:visit_edit", args=[stored.visit.pk]))
    assert CORPUS[0] in page.locator("textarea").first.input_value()
    assert dialogs == []
