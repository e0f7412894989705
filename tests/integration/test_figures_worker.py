"""Stale dashboard figures are recomputed by a real Celery worker, not by the web process, and
every web process then reads the worker's result from Redis (reports.figures_cache)."""

import datetime
import time

import pytest

from partners.models import Membership
from partners.services import membership_create
from programme.categories import categories_seed
from programme.models import ContributionCategory
from reports import figures_cache, selectors
from reports.rollups import outbox_drain
from tests.factories import ContributionFactory, DesignationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/dashboard/?kind=year&year=2024"


@pytest.fixture
def in_worker(settings, monkeypatch):
    categories_seed(ContributionCategory)  # a transactional test may start from a flushed database
    settings.FIGURES_STALE_SECONDS = 600
    settings.FIGURES_REFRESH_SECONDS = 0
    settings.FIGURES_REFRESH_IN_WORKER = True
    monkeypatch.setattr(figures_cache, "REFRESH_FACTOR", 0)
    figures_cache.forget_shared()  # nothing stored by an earlier test's figures
    figures_cache.forget()
    computed = []
    compute = selectors._compute_dashboard

    def counted(*args, **kwargs):
        computed.append(args)
        return compute(*args, **kwargs)

    monkeypatch.setattr(selectors, "_compute_dashboard", counted)
    yield computed
    figures_cache.forget()


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_worker_refreshes_stale_figures_for_every_web_process(
    celery_worker_process, in_worker, client
):
    computed_here = in_worker
    user = UserFactory()
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    client.force_login(user)
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2024, 2, 1), value=3_000_000)
    outbox_drain()

    page = client.get(URL).content.decode()  # nothing kept anywhere: computed here, shared
    assert "3.000.000" in page and len(computed_here) == 1

    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 1), value=2_000_000)
    outbox_drain()
    page = client.get(URL).content.decode()
    assert 'id="figures-newer-coming"' in page and "3.000.000" in page

    def refreshed() -> bool:
        body = client.get(URL).content.decode()
        return 'id="figures-newer-coming"' not in body and "5.000.000" in body

    assert _wait_for(refreshed, seconds=30)
    assert len(computed_here) == 1, "the web process computed the refresh itself"

    # Another web process, with nothing kept: it takes the worker's result, computes nothing.
    figures_cache.forget()
    page = client.get(URL).content.decode()
    assert "5.000.000" in page and 'id="figures-newer-coming"' not in page
    assert len(computed_here) == 1
    assert celery_worker_process.poll() is None
