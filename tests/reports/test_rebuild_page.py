"""The rollup rebuild started from the UI, and its progress bar (Celery states kept in Redis).

No worker runs here: the task is queued on commit (captured, not sent), then run in-process
with `apply()`, which records its states in the real Redis result backend.
"""

import datetime
import uuid

import pytest
from django.urls import reverse

from partners.models import Membership
from partners.services import membership_create
from reports import rollups
from reports.models import VisitRollup
from reports.tasks_completeness import rebuild_with_progress
from tests.factories import UserFactory, VisitFactory

pytestmark = pytest.mark.django_db

URL = reverse("reports:completeness_rebuild")


@pytest.fixture
def staff():
    user = UserFactory(username="ban_to_chuc")
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def sent(monkeypatch):
    """Tasks the page queued, instead of sending them to the broker."""
    calls = []
    monkeypatch.setattr(
        rebuild_with_progress,
        "apply_async",
        lambda *args, **kwargs: calls.append(kwargs),
    )
    return calls


@pytest.fixture
def eager_results(monkeypatch):
    """`apply()` stores its final state in the result backend, as a worker would."""
    monkeypatch.setattr(rebuild_with_progress, "store_eager_result", True)


def start(client, django_capture_on_commit_callbacks, year: str = "2024") -> str:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"year": year})
    assert response.status_code == 302
    return response["Location"].rstrip("/").split("/")[-1]


def status_url(task_id: str) -> str:
    return reverse("reports:completeness_rebuild_status", args=[task_id])


def store(task_id: str, state: str, meta) -> None:
    rebuild_with_progress.backend.store_result(task_id, meta, state)


def test_province_staff_see_the_rebuild_page(staff_client):
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert b'name="year"' in response.content


def test_a_liaison_may_not_rebuild(client):
    user = UserFactory(username="lien_lac")
    from tests.factories import AgencyFactory

    membership_create(user=user, role=Membership.Role.AGENCY_LIAISON, agency=AgencyFactory())
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"year": "2024"}).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.post(URL, {"year": "2024"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_button_queues_the_task_after_commit(
    staff, staff_client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(URL, {"year": "2024"})
    assert sent == []  # nothing is sent before the transaction commits
    (callback,) = callbacks
    callback()
    task_id = response["Location"].rstrip("/").split("/")[-1]
    # The task names who pressed the button in the audit trail (reports.audit).
    assert sent == [{"kwargs": {"year": 2024, "requested_by": staff.pk}, "task_id": task_id}]
    assert response["Location"] == reverse("reports:completeness_rebuild_progress", args=[task_id])


def test_all_years_is_an_empty_choice(
    staff, staff_client, sent, django_capture_on_commit_callbacks
):
    start(staff_client, django_capture_on_commit_callbacks, year="")
    assert sent[0]["kwargs"] == {"year": None, "requested_by": staff.pk}


def test_a_year_outside_the_list_is_refused(staff_client, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(URL, {"year": "1900"})
    assert response.status_code == 200
    assert "year" in response.context["form"].errors
    assert sent == []


def test_a_queued_rebuild_waits_for_the_worker(
    staff_client, sent, django_capture_on_commit_callbacks
):
    task_id = start(staff_client, django_capture_on_commit_callbacks)
    response = staff_client.get(reverse("reports:completeness_rebuild_progress", args=[task_id]))
    assert response.status_code == 200
    assert response.context["waiting"]
    assert f'hx-get="{status_url(task_id)}"'.encode() in response.content
    assert b'hx-trigger="every 1s"' in response.content


def test_the_bar_shows_the_progress_and_keeps_polling(
    staff_client, sent, django_capture_on_commit_callbacks
):
    task_id = start(staff_client, django_capture_on_commit_callbacks)
    store(task_id, "PROGRESS", {"done": 2, "total": 4, "step": "visit"})
    response = staff_client.get(status_url(task_id))
    html = response.content.decode()
    assert "<html" not in html  # the partial alone
    assert 'aria-valuenow="50"' in html
    assert 'hx-trigger="every 1s"' in html


def test_the_bar_stops_polling_when_the_rebuild_is_done(
    staff_client, sent, eager_results, django_capture_on_commit_callbacks
):
    visit = VisitFactory(date=datetime.date(2024, 3, 10), kind="cell_meeting", village="Thôn 1")
    rollups.outbox_drain()
    VisitRollup.objects.all().delete()
    task_id = start(staff_client, django_capture_on_commit_callbacks)
    rebuild_with_progress.apply(kwargs=sent[0]["kwargs"], task_id=task_id)
    assert VisitRollup.objects.filter(commune=visit.commune, count=1).exists()
    response = staff_client.get(status_url(task_id))
    html = response.content.decode()
    assert response.context["succeeded"]
    assert 'aria-valuenow="100"' in html
    assert "hx-trigger" not in html


def test_a_failed_rebuild_says_so_and_stops_polling(
    staff_client, sent, django_capture_on_commit_callbacks
):
    task_id = start(staff_client, django_capture_on_commit_callbacks)
    store(task_id, "FAILURE", RuntimeError("boom"))
    response = staff_client.get(status_url(task_id))
    assert response.context["failed"]
    assert b"hx-trigger" not in response.content
    assert b"boom" not in response.content


def test_the_task_records_each_table_as_it_goes(eager_results, monkeypatch):
    task_id = str(uuid.uuid4())
    seen = []

    def fake_rebuild(*, year, progress):
        progress("contribution")
        seen.append(rebuild_with_progress.AsyncResult(task_id).info)
        progress("visit")
        seen.append(rebuild_with_progress.AsyncResult(task_id).info)

    monkeypatch.setattr(rollups, "rollups_rebuild", fake_rebuild)
    result = rebuild_with_progress.apply(kwargs={"year": 2024}, task_id=task_id)
    total = len(rollups.SPECS)
    assert seen == [
        {"done": 1, "total": total, "step": "contribution"},
        {"done": 2, "total": total, "step": "visit"},
    ]
    assert result.get() == {"done": total, "total": total}


def test_someone_else_cannot_follow_a_rebuild_they_did_not_start(
    staff_client, client, sent, django_capture_on_commit_callbacks
):
    task_id = start(staff_client, django_capture_on_commit_callbacks)
    other = UserFactory(username="ban_to_chuc_2")
    membership_create(user=other, role=Membership.Role.PROVINCE_STAFF)
    staff_client.logout()
    staff_client.force_login(other)
    assert staff_client.get(status_url(task_id)).status_code == 404


def test_an_unknown_task_is_not_found(staff_client):
    assert staff_client.get(status_url(str(uuid.uuid4()))).status_code == 404


def test_a_liaison_cannot_poll_a_rebuild(client):
    from tests.factories import AgencyFactory

    user = UserFactory(username="lien_lac")
    membership_create(user=user, role=Membership.Role.AGENCY_LIAISON, agency=AgencyFactory())
    client.force_login(user)
    assert client.get(status_url(str(uuid.uuid4()))).status_code == 403
