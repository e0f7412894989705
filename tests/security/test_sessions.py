"""Sessions end after an idle time and after an absolute lifetime, back to the login page with a
message; cookies are HttpOnly, SameSite and (with production settings) Secure; every form that
posts carries a CSRF token and no view is exempt from the check."""

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from programme.security import LOGIN_AT, SEEN_AT, SEEN_RESOLUTION

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def liaison_client(client, world):
    client.force_login(world.liaison_a)
    return client


def age_session(client, *, login_ago: int, seen_ago: int) -> None:
    session = client.session
    now = int(time.time())
    session[LOGIN_AT] = now - login_ago
    session[SEEN_AT] = now - seen_ago
    session.save()


def test_the_defaults_suit_a_field_day(settings):
    assert settings.SESSION_IDLE_TIMEOUT == 60 * 60
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60


def test_an_active_session_goes_on(liaison_client, settings):
    age_session(liaison_client, login_ago=settings.SESSION_COOKIE_AGE - 60, seen_ago=120)
    response = liaison_client.get(reverse("programme:visit_list"))
    assert response.status_code == 200
    # The request counts as activity: the last-seen time moved to now.
    assert time.time() - liaison_client.session[SEEN_AT] < SEEN_RESOLUTION


def test_an_idle_session_ends_with_a_message(liaison_client, settings, caplog):
    caplog.set_level(logging.INFO, logger="security")
    age_session(liaison_client, login_ago=2 * 3600, seen_ago=settings.SESSION_IDLE_TIMEOUT + 1)
    url = reverse("programme:visit_list") + "?year=2024"
    response = liaison_client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/visits/%3Fyear%3D2024"
    assert "_auth_user_id" not in liaison_client.session
    page = liaison_client.get(response.url).content.decode()
    assert "Bạn đã được đăng xuất sau 60 phút không hoạt động" in page
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "session_expired"]
    assert (record.user, record.reason) == ("lien_lac_a", "idle")


def test_a_session_ends_after_its_lifetime_however_active(liaison_client, settings):
    age_session(liaison_client, login_ago=settings.SESSION_COOKIE_AGE + 1, seen_ago=10)
    response = liaison_client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "tối đa 12 giờ" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_the_timeouts_come_from_the_settings(liaison_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 300
    age_session(liaison_client, login_ago=400, seen_ago=301)
    response = liaison_client.get(reverse("home"), follow=True)
    assert "sau 5 phút không hoạt động" in response.content.decode()


def test_an_htmx_request_is_sent_to_the_login_page(liaison_client, settings):
    age_session(liaison_client, login_ago=10, seen_ago=settings.SESSION_IDLE_TIMEOUT + 5)
    response = liaison_client.get(reverse("programme:visit_list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login")
    assert response.content == b""


def test_a_post_after_expiry_saves_nothing(liaison_client, world, settings):
    from programme.models import Visit

    age_session(liaison_client, login_ago=10, seen_ago=settings.SESSION_IDLE_TIMEOUT + 5)
    response = liaison_client.post(
        reverse("programme:visit_new"),
        {"commune": world.commune1.pk, "date": "15/03/2024", "kind": "survey", "summary": "x"},
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Visit.objects.exists()


def test_cookies_are_http_only_same_site_and_secure(client, world):
    response = client.post(reverse("login"), {"username": "lien_lac_a", "password": "password"})
    session_cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    assert session_cookie["secure"] is True  # test settings are production settings
    assert session_cookie["max-age"] == django_settings.SESSION_COOKIE_AGE
    page = client.get(reverse("login"))
    csrf_cookie = page.cookies[django_settings.CSRF_COOKIE_NAME]
    assert (csrf_cookie["httponly"], csrf_cookie["samesite"], csrf_cookie["secure"]) == (
        True,
        "Lax",
        True,
    )


def test_the_security_variables_are_read_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="programme.settings",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_SESSION_IDLE_TIMEOUT="900",
        DJANGO_SESSION_AGE="36000",
        DJANGO_LOGIN_FAILURE_LIMIT="7",
        DJANGO_LOGIN_COOLOFF_MINUTES="45",
        DJANGO_TRUSTED_PROXY_COUNT="1",
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_IDLE_TIMEOUT, s.SESSION_COOKIE_AGE, s.AXES_FAILURE_LIMIT, "
        "int(s.AXES_COOLOFF_TIME.total_seconds()), s.TRUSTED_PROXY_COUNT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["900", "36000", "7", "2700", "1", "True", "True", "True"], (
        result.stderr
    )


# --- CSRF on every form ---------------------------------------------------------------------------

FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def _templates():
    for folder in [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]:
        yield from folder.rglob("*.html")


def test_every_form_that_posts_carries_a_csrf_token():
    posting = 0
    missing = []
    for path in _templates():
        for form in FORM.findall(path.read_text()):
            opening = form[: form.index(">")].lower()
            if 'method="post"' not in opening and "method='post'" not in opening:
                continue
            posting += 1
            if "{% csrf_token %}" not in form:
                missing.append(f"{path.relative_to(BASE_DIR)}: {opening[:80]}")
    assert posting >= 10  # the check found the forms
    assert missing == []


def _views(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_no_view_is_exempt_from_the_csrf_check():
    views = list(_views())
    assert len(views) > 30
    exempt = [route for route, view in views if getattr(view, "csrf_exempt", False)]
    assert exempt == []
