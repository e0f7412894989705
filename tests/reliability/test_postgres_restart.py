"""PostgreSQL restarted during requests.

The app runs under gunicorn (as in production) against a private PostgreSQL cluster made for
this test, loaded from a backup of the test database (`manage.py restore`). A liaison's save is
held inside its transaction (this test locks the contributions table) when PostgreSQL is
restarted: the liaison gets a 503 page saying, in Vietnamese first, that the database is
restarting and that nothing was saved; nothing of that save is in the database; and the very
next requests work, without restarting gunicorn (CONN_HEALTH_CHECKS replaces the broken
connections). With PostgreSQL stopped, pages answer the same 503; when it is back, they work.
"""

import datetime
import http.cookies
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
from django.utils.translation import gettext, override

from partners.models import Membership
from partners.services import membership_create
from programme import backup
from programme.categories import categories_seed
from programme.models import ContributionCategory
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory
from tests.reliability.conftest import (
    BASE_DIR,
    free_port,
    stop_process,
    subprocess_env,
    wait_for,
)

TITLE = "The database is restarting"
MESSAGE = (
    "The system cannot reach its database just now, usually for a minute while it restarts. "
    "What you sent was not saved. Please try again in a minute."
)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Just enough of a browser behind the TLS proxy of production: cookies (Secure ones
    included), the CSRF token and Referer, X-Forwarded-Proto; no redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = None
        if data is not None:
            token = self.cookies.get("csrftoken", "")
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        origin = self.base.replace("http://", "https://")
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={
                "X-Forwarded-Proto": "https",
                "Referer": origin + path,
                "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            },
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, error.headers, error.read()
        for raw in headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return status, dict(headers), text.decode()

    def login(self, username: str) -> None:
        status, _headers, _page = self.request("/accounts/login/")
        assert status == 200
        status, _headers, page = self.request(
            "/accounts/login/", {"username": username, "password": "password"}
        )
        assert status == 302, page[-2000:]


def _contribution(commune, agency, category, description: str) -> dict:
    return {
        "date": "10/03/2025",
        "commune": commune.pk,
        "agency": agency.pk,
        "category": category.pk,
        "area": "",
        "form": "cash",
        "value": "2.500.000",
        "workdays": "",
        "daily_rate": "",
        "quantity": "",
        "unit": "",
        "beneficiaries": "0",
        "description": description,
        "status": "delivered",
        "plan_item": "",
    }


def _assert_database_page(status: int, headers: dict, page: str) -> None:
    assert status == 503, page[-2000:]
    assert headers.get("Retry-After") == "60"
    vietnamese, english = page.index('lang="vi" id="message-vi"'), page.index('id="message-en"')
    assert vietnamese < english, "Vietnamese first"
    assert TITLE in page[english:] and MESSAGE in page[english:]
    with override("vi"):
        assert gettext(MESSAGE) in page[vietnamese:english]


def _saved(url: str, description: str) -> tuple[int, int, int]:
    """Contributions with this description, their history rows and the outbox rows."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """SELECT (SELECT COUNT(*) FROM programme_contribution WHERE description = %s),
                      (SELECT COUNT(*) FROM programme_historicalcontribution
                        WHERE description = %s),
                      (SELECT COUNT(*) FROM programme_rollupoutbox)""",
            [description, description],
        ).fetchone()


def _waiting_on_contributions(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return (
            conn.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE relation = 'programme_contribution'::regclass "
                "AND NOT granted"
            ).fetchone()[0]
            > 0
        )


@pytest.mark.django_db(transaction=True)
def test_a_postgres_restart_during_requests(private_postgres, tmp_path):
    categories_seed(ContributionCategory)
    category = ContributionCategory.objects.get(code="roads")
    commune, agency = CommuneFactory(), AgencyFactory()
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    liaison = UserFactory(username="lien_lac")
    membership_create(user=liaison, role=Membership.Role.AGENCY_LIAISON, agency=agency)

    # The private cluster gets this test database, through the backup commands.
    archive = tmp_path / "seed.tar"
    backup.backup(archive, media_root=tmp_path / "media")
    private_postgres.execute("CREATE DATABASE programme")
    url = private_postgres.url("programme")
    env = subprocess_env(
        DATABASE_URL=url,
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # no broker: beat would drain
    )
    restored = subprocess.run(
        [sys.executable, "manage.py", "restore", str(archive)],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr[-3000:]

    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "programme.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--timeout", "120"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    browser = Browser(f"http://127.0.0.1:{port}")
    try:
        assert wait_for(lambda: _up(browser), seconds=60), (tmp_path / "gunicorn.log").read_text()
        browser.login("lien_lac")
        assert browser.request("/")[0] == 200

        # A save held inside its transaction when PostgreSQL restarts.
        held = "Lưu khi cơ sở dữ liệu khởi động lại"
        blocker = psycopg.connect(url)
        blocker.execute("LOCK TABLE programme_contribution IN ACCESS EXCLUSIVE MODE")
        answers = []
        saving = threading.Thread(
            target=lambda: answers.append(
                browser.request(
                    "/contributions/new/", _contribution(commune, agency, category, held)
                )
            )
        )
        saving.start()
        assert wait_for(lambda: _waiting_on_contributions(url), seconds=30)
        private_postgres.stop("fast")
        private_postgres.start()
        saving.join(60)
        blocker.close()
        _assert_database_page(*answers[0])
        assert _saved(url, held) == (0, 0, 0), "nothing of the interrupted save is stored"

        # The app recovers by itself: the next requests work, a save goes through once.
        assert browser.request("/")[0] == 200
        again = "Lưu lại sau khi cơ sở dữ liệu chạy lại"
        status, headers, page = browser.request(
            "/contributions/new/", _contribution(commune, agency, category, again)
        )
        assert status == 302, page[-2000:]
        assert _saved(url, again) == (1, 1, 1)

        # PostgreSQL down: every page answers the same 503, and works again once it is back.
        private_postgres.stop("fast")
        _assert_database_page(*browser.request("/"))
        _assert_database_page(
            *browser.request(
                "/contributions/new/", _contribution(commune, agency, category, "Khi ngừng")
            )
        )
        private_postgres.start()
        assert browser.request("/")[0] == 200
        assert _saved(url, "Khi ngừng")[0] == 0
        assert server.poll() is None, "gunicorn was never restarted"
    finally:
        stop_process(server)
        log.close()


def _up(browser: Browser) -> bool:
    try:
        return browser.request("/accounts/login/")[0] == 200
    except OSError:
        return False


def test_the_page_is_only_for_a_database_that_cannot_be_reached():
    from django.db import IntegrityError, OperationalError

    from programme.errors import database_unavailable

    class Shutdown(Exception):
        sqlstate = "57P01"

    class Deadlock(Exception):
        sqlstate = "40P01"

    lost = OperationalError("terminating connection due to administrator command")
    lost.__cause__ = Shutdown()
    refused = OperationalError("connection refused")
    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = Deadlock()
    assert database_unavailable(lost)
    assert database_unavailable(refused)
    assert not database_unavailable(deadlock)
    assert not database_unavailable(IntegrityError("duplicate key"))
    assert not database_unavailable(ValueError("unrelated"))
