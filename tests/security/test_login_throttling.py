"""Login throttling (django-axes): the pair user name + address is locked after N failures for a
cool-off; other addresses and other user names are not affected; the lock ends by itself."""

import datetime
import logging

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture
def liaison(db):
    return UserFactory(username="lien_lac")  # password "password"


def attempt(client, username, password, ip):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def fail(client, username, ip, times):
    return [attempt(client, username, "sai-mat-khau", ip) for _ in range(times)]


def logged_in(response) -> bool:
    return response.status_code == 302 and response.url == reverse("home")


def test_the_limit_locks_the_pair_with_a_vietnamese_message(client, settings, liaison):
    assert settings.AXES_FAILURE_LIMIT == 5
    responses = fail(client, "lien_lac", ATTACKER, 4)
    assert [r.status_code for r in responses] == [200] * 4  # the login page with its error

    locked = fail(client, "lien_lac", ATTACKER, 1)[0]
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Đăng nhập sai quá nhiều lần" in page
    assert "đợi 15 phút" in page
    assert 'id="id_username"' in page  # still the login form

    # Even the right password is refused from there until the cool-off ends.
    right = attempt(client, "lien_lac", "password", ATTACKER)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_another_address_and_another_user_name_are_not_locked(client, liaison):
    UserFactory(username="can_bo")
    fail(client, "lien_lac", ATTACKER, 6)

    assert logged_in(attempt(client, "lien_lac", "password", OFFICE))
    client.logout()
    assert logged_in(attempt(client, "can_bo", "password", ATTACKER))


def test_the_lock_ends_after_the_cool_off(client, settings, liaison):
    fail(client, "lien_lac", ATTACKER, 5)
    assert attempt(client, "lien_lac", "password", ATTACKER).status_code == 429

    # The cool-off passes: age the recorded failures by the cool-off and a second.
    past = timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    assert AccessAttempt.objects.filter(username="lien_lac").update(attempt_time=past) == 1
    assert logged_in(attempt(client, "lien_lac", "password", ATTACKER))


def test_trying_again_while_locked_does_not_make_the_lock_longer(client, liaison):
    fail(client, "lien_lac", ATTACKER, 5)
    locked_at = AccessAttempt.objects.get(username="lien_lac").attempt_time
    assert [r.status_code for r in fail(client, "lien_lac", ATTACKER, 3)] == [429] * 3
    assert AccessAttempt.objects.get(username="lien_lac").attempt_time == locked_at


def test_a_success_before_the_limit_starts_the_count_again(client, liaison):
    fail(client, "lien_lac", ATTACKER, 4)
    assert logged_in(attempt(client, "lien_lac", "password", ATTACKER))
    client.logout()
    responses = fail(client, "lien_lac", ATTACKER, 4)
    assert [r.status_code for r in responses] == [200] * 4


def test_the_limit_and_cool_off_come_from_the_settings(client, settings, liaison):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
    assert fail(client, "lien_lac", ATTACKER, 2)[-1].status_code == 429
    assert "đợi 30 phút" in attempt(client, "lien_lac", "password", ATTACKER).content.decode()


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, settings, liaison):
    """Behind one proxy every request comes from the proxy's address: the client's own address
    (the last X-Forwarded-For entry) must decide, or one attacker would lock everybody out."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "lien_lac", "password": "x"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}",  # forged left part, real right part
        )
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    response = client.post(
        LOGIN,
        {"username": "lien_lac", "password": "password"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=OFFICE,
    )
    assert logged_in(response)


def test_failures_and_lock_outs_are_logged(client, liaison, caplog):
    caplog.set_level(logging.INFO, logger="security")
    fail(client, "lien_lac", ATTACKER, 5)
    events = [(r.event, r.user, r.ip, r.path) for r in caplog.records if r.name == "security"]
    assert events.count(("login_failed", "lien_lac", ATTACKER, LOGIN)) == 5
    assert ("login_locked_out", "lien_lac", ATTACKER, LOGIN) in events
    locked = next(r for r in caplog.records if getattr(r, "event", "") == "login_locked_out")
    assert locked.levelno == logging.WARNING
    assert f"user=lien_lac ip={ATTACKER}" in locked.getMessage()
    assert "sai-mat-khau" not in caplog.text  # passwords never reach the log


def test_a_login_and_a_logout_are_logged(client, liaison, caplog):
    caplog.set_level(logging.INFO, logger="security")
    attempt(client, "lien_lac", "password", OFFICE)
    client.post(reverse("logout"), REMOTE_ADDR=OFFICE)
    events = [(r.event, r.user, r.ip) for r in caplog.records if r.name == "security"]
    assert events == [("login", "lien_lac", OFFICE), ("logout", "lien_lac", OFFICE)]
