"""Every URL pattern × every role × side B's records: nobody reaches what is not theirs.

The patterns come from the resolver itself (tests/access/urls.py), so a new view is in the
matrix the day it is added; a pattern whose kwargs cannot be filled fails the test by name.
Each path is requested with GET, with GET as htmx does (HX-Request header, and a query string
that asks for side B's commune, agency, enterprise, visit and text), and with POST (a body
naming side B's commune, agency, enterprise and visit).

What must hold:
- nobody gets an HTTP 500 (an exception in the view counts as one);
- anonymous visitors are sent to a login page (a JSON endpoint may answer 401 instead), except
  on the few public pages listed in PUBLIC;
- side A's liaison, representative and officer, a user without a role and a staff user without
  any permission never see side B's data (its MARKER never appears in a response); on a path
  that points at side B's record they get 404 (405 when the method is wrong), a 403 only when
  the refusal does not depend on the record (the same path with an id that exists nowhere gets
  403 too), and on the admin a redirect to its login (the non-staff) or a refusal;
- none of their POSTs changes side B's records or adds a record to side B's commune;
- province staff and the superuser never get a 500, and every record path is reachable by
  somebody entitled to it (else the matrix would be testing 404 pages only).
"""

import pytest
from django.conf import settings
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import resolve, reverse

from programme.models import Contribution, Difficulty, Plan, Visit
from reports.views_completeness import SESSION_KEY
from tests.access.conftest import MARKER
from tests.access.urls import Unfillable, all_patterns, fill

pytestmark = pytest.mark.django_db

# Pages anybody may open without logging in (by URL name). Each is public by design.
PUBLIC = {
    "healthz",  # liveness for the load balancer: no data
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",  # shows "invalid link" without a valid token
    "password_reset_complete",
    "set_language",  # sets a cookie and redirects
    "admin:login",
    "admin:logout",
}

OUTSIDER_ROLES = ["liaison_a", "rep_a", "officer_a", "norole", "staff_norole"]
INSIDER_ROLES = ["staff", "admin"]
ROLES = ["anonymous", *OUTSIDER_ROLES, *INSIDER_ROLES]


def user_of(world, role):
    return {
        "anonymous": None,
        "liaison_a": world.a.liaison,
        "rep_a": world.a.rep,
        "officer_a": world.a.officer,
        "norole": world.norole,
        "staff_norole": world.staff_norole,
        "staff": world.staff,
        "admin": world.admin,
        "liaison_b": world.b.liaison,
        "rep_b": world.b.rep,
        "officer_b": world.b.officer,
    }[role]


class Session:
    """A test client logged in as one user; logged in again after a logout page logs it out."""

    def __init__(self, world, role: str):
        self.user = user_of(world, role)
        self.world = world
        self.client = Client()
        self.login()

    def login(self):
        if self.user is None:
            return
        self.client.force_login(self.user)
        if self.user == self.world.admin:
            # The world's rebuild task was started by the superuser, in this session.
            session = self.client.session
            session[SESSION_KEY] = [self.world.rebuild_task_id]
            session.save()

    def request(self, method: str, path: str, *, htmx: bool = False):
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            query = self.world.probe_query if htmx else {}
            response = self.client.get(path, query, headers=headers)
        else:
            response = self.client.post(path, self.world.probe_body, headers=headers)
        cookie = self.client.cookies.get(settings.SESSION_COOKIE_NAME)
        if self.user is not None and (cookie is None or not cookie.value):
            self.login()
        return response


def variants(target) -> tuple:
    """GET, GET as htmx does (not on the admin, which has no htmx), POST."""
    if target.pattern.is_admin:
        return (("GET", False), ("POST", False))
    return (("GET", False), ("GET", True), ("POST", False))


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def send(session: Session, method: str, path: str, htmx: bool = False):
    """(status, body, location), or (500, repr of the exception, "") when the view raised."""
    try:
        response = session.request(method, path, htmx=htmx)
    except Exception as error:  # noqa: BLE001 (any exception is the 500 a user would get)
        return 500, f"{type(error).__name__}: {error}".encode(), ""
    return response.status_code, body_of(response), response.get("Location", "")


@pytest.fixture
def world(access_world):
    """The access world, plus a rebuild task id and the probes sent with every request."""
    b = access_world.b
    access_world.rebuild_task_id = "5b0f3c2e-7d8a-4c55-9f3e-0a1b2c3d4e5f"
    visit = access_world.records_of_b(Visit)[0]
    ids = {
        "commune": b.commune.pk,
        "agency": b.agency.pk,
        "enterprise": b.enterprise.pk,
        "visit": visit.pk,
    }
    access_world.probe_query = {**ids, "q": MARKER.lower()}
    access_world.probe_body = {**ids, "version": "1", "year": "2024", "comment": "x"}
    return access_world


def targets(world) -> tuple[list, list[str]]:
    found, problems = [], []
    for pattern in all_patterns():
        try:
            found.extend(fill(pattern, world))
        except Unfillable as error:
            problems.append(f"UNFILLABLE {error}")
    return found, problems


def login_paths() -> tuple[str, str]:
    return reverse("login"), reverse("admin:login")


def snapshot(world) -> dict:
    """Side B's records as stored, and how many records side B's commune has of each kind."""
    state = {}
    for model, objects in world.b.records.items():
        for obj in model._default_manager.filter(pk__in=[o.pk for o in objects]):
            state[(model._meta.label, obj.pk)] = model_to_dict(obj)
    for model in (Visit, Difficulty, Contribution, Plan):
        state[(model._meta.label, "count")] = model.objects.filter(commune=world.b.commune).count()
    return state


def check_anonymous(world, found) -> list[str]:
    session = Session(world, "anonymous")
    login, admin_login = login_paths()
    problems = []
    for target in found:
        for method, htmx in variants(target):
            status, body, location = send(session, method, target.path, htmx)
            where = f"anonymous {method}{' htmx' if htmx else ''} {target.path} ({target.pattern.label})"
            if status >= 500:
                problems.append(f"{where}: {status} {body[:300]!r}")
                continue
            if MARKER.encode() in body:
                problems.append(f"{where}: shows side B's data ({status})")
            if target.pattern.name in PUBLIC:
                continue
            to_login = status == 302 and location.split("?")[0] in (login, admin_login)
            # A JSON endpoint may answer 401; a method refused before anything else tells nothing.
            if not (to_login or status in (401, 405)):
                problems.append(f"{where}: {status} {location}, expected a redirect to login")
    return problems


def check_outsider(world, role: str, found) -> list[str]:
    session = Session(world, role)
    user = session.user
    problems = []
    _, admin_login = login_paths()
    for target in found:
        for method, htmx in variants(target):
            status, body, location = send(session, method, target.path, htmx)
            where = (
                f"{role} {method}{' htmx' if htmx else ''} {target.path} ({target.pattern.label})"
            )
            if status >= 500:
                problems.append(f"{where}: {status} {body[:300]!r}")
                continue
            if MARKER.encode() in body:
                problems.append(f"{where}: shows side B's data ({status})")
            if target.pattern.is_admin:
                refused = status == 302 and location.split("?")[0] == admin_login
                if not (user.is_staff or target.pattern.name in PUBLIC or refused):
                    problems.append(f"{where}: {status}, expected the admin's login")
                continue
            if not target.records:
                continue  # a list or a form: scoped content, checked by the marker above
            if status in (404, 405):
                continue
            if status == 403:
                # Refused before the record was looked at (a role check)? Then 403 tells nothing.
                again, _, _ = send(session, method, target.missing_path, htmx)
                if again == 403:
                    continue
                problems.append(f"{where}: 403 tells that the record exists (missing id: {again})")
                continue
            problems.append(f"{where}: {status} {location}, expected 404")
    return problems


def check_insider(world, role: str, found) -> list[str]:
    session = Session(world, role)
    problems = []
    for target in found:
        for method, htmx in variants(target):
            status, body, _ = send(session, method, target.path, htmx)
            if status >= 500:
                where = f"{role} {method}{' htmx' if htmx else ''} {target.path}"
                problems.append(f"{where} ({target.pattern.label}): {status} {body[:300]!r}")
    return problems


def report(problems: list[str]) -> str:
    shown = "\n".join(problems[:60])
    more = f"\n… and {len(problems) - 60} more" if len(problems) > 60 else ""
    return f"{len(problems)} problem(s):\n{shown}{more}"


def test_every_pattern_can_be_filled(world):
    found, problems = targets(world)
    assert not problems, report(problems)
    filled = {(t.pattern.regex, t.pattern.name) for t in found}
    missing = [p.label for p in all_patterns() if (p.regex, p.name) not in filled]
    assert not missing, f"patterns without a path: {missing}"
    for target in found:
        match = resolve(target.path.split("?")[0])
        assert match.func == target.pattern.callback or target.pattern.name in ("", None), (
            f"{target.path} resolves to {match.view_name}, not {target.pattern.label}"
        )


def test_anonymous_is_sent_to_login_everywhere(world):
    found, problems = targets(world)
    problems += check_anonymous(world, found)
    assert not problems, report(problems)


@pytest.mark.parametrize("role", OUTSIDER_ROLES)
def test_outsiders_never_reach_side_b(world, role):
    found, problems = targets(world)
    before = snapshot(world)
    problems += check_outsider(world, role, found)
    after = snapshot(world)
    changed = [key for key in before if before[key] != after.get(key)]
    assert not changed, f"{role} changed side B's records: {changed}"
    assert not problems, report(problems)


@pytest.mark.parametrize("role", INSIDER_ROLES)
def test_insiders_never_get_a_500(world, role):
    found, problems = targets(world)
    problems += check_insider(world, role, found)
    assert not problems, report(problems)


def test_every_record_path_is_reachable_by_someone_entitled(world):
    """A matrix of 404s proves nothing unless the paths point at records that really exist."""
    found, problems = targets(world)
    sessions = {
        role: Session(world, role) for role in ("admin", "staff", "liaison_b", "rep_b", "officer_b")
    }
    for target in found:
        if not target.records or target.pattern.is_admin and "delete" in target.path:
            continue
        reached = False
        for session in sessions.values():
            for method in ("GET", "POST"):
                status, _, _ = send(session, method, target.path)
                if status not in (404, 405) and status < 500:
                    reached = True
                    break
            if reached:
                break
        if not reached:
            problems.append(f"{target.path} ({target.pattern.label}): 404 for everybody")
    assert not problems, report(problems)


def test_the_world_has_side_b_records_of_every_kind(world):
    from programme.models import Attachment, PlanItem
    from reports.models import ExportJob, PeriodReport

    for model in (Visit, Difficulty, Contribution, Plan, PlanItem, Attachment, ExportJob):
        assert world.records_of_b(model), model
    assert len(world.records_of_b(PeriodReport)) == 3
