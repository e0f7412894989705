"""Stale figures under constant writes (reports.figures_cache with FIGURES_STALE_SECONDS > 0):
a kept result is shown, marked stale, while one background thread per process recomputes it;
simultaneous requests for a key that is not kept share one computation."""

import datetime
import threading
import time

import pytest
from django.db import connections
from django.utils import translation

from partners.models import Membership
from partners.services import membership_create
from programme.categories import categories_seed
from programme.models import ContributionCategory
from reports import figures_cache
from reports.models import DataChange
from reports.rollups import outbox_drain
from tests.factories import ContributionFactory, DesignationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _stale(settings, monkeypatch):
    categories_seed(ContributionCategory)  # a transactional test starts from flushed tables
    settings.FIGURES_STALE_SECONDS = 600
    settings.FIGURES_REFRESH_SECONDS = 0
    monkeypatch.setattr(figures_cache, "REFRESH_FACTOR", 0)  # no wait after a slow computation
    monkeypatch.setattr(figures_cache, "PAUSE_FACTOR", 0)
    figures_cache.forget()
    yield
    figures_cache.forget()


class Counter:
    """A computation that says how often it ran and with which data stamp."""

    def __init__(self, pause: float = 0.0):
        self.calls = 0
        self.pause = pause
        self.lock = threading.Lock()

    def __call__(self) -> tuple[int, tuple[int, int]]:
        with self.lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.pause)
        return call, figures_cache.data_stamp()


def _change() -> None:
    DataChange.objects.create()


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background refresh did not finish"
        time.sleep(0.02)


def test_a_changed_result_is_shown_stale_while_a_background_thread_recomputes_it():
    compute = Counter()
    first = figures_cache.kept("k", compute)
    assert first.value[0] == 1 and not first.stale

    _change()
    shown = figures_cache.kept("k", compute)
    assert shown.stale and shown.value == first.value  # no waiting for the computation

    _wait_for(lambda: compute.calls == 2 and not figures_cache.kept("k", compute).stale)
    fresh = figures_cache.kept("k", compute)
    assert fresh.value[0] == 2
    assert fresh.value[1] == figures_cache.data_stamp()
    assert fresh.computed_at >= first.computed_at
    assert compute.calls == 2


def test_a_result_younger_than_the_refresh_interval_is_not_recomputed(settings):
    settings.FIGURES_REFRESH_SECONDS = 3600
    compute = Counter()
    figures_cache.kept("k", compute)
    for _ in range(5):
        _change()
        assert figures_cache.kept("k", compute).stale
    time.sleep(0.2)
    assert compute.calls == 1


def test_a_result_older_than_the_stale_limit_is_recomputed_before_answering(settings):
    compute = Counter()
    figures_cache.kept("k", compute)
    settings.FIGURES_STALE_SECONDS = 0.05
    time.sleep(0.1)
    _change()
    answer = figures_cache.kept("k", compute)
    assert not answer.stale and answer.value[0] == 2


def test_decisions_never_take_stale_figures():
    compute = Counter()
    figures_cache.kept("k", compute, allow_stale=False)
    _change()
    answer = figures_cache.kept("k", compute, allow_stale=False)
    assert not answer.stale and answer.value == (2, figures_cache.data_stamp())


def test_simultaneous_requests_for_a_missing_result_share_one_computation():
    compute = Counter(pause=0.5)
    answers = []

    def ask():
        try:
            answers.append(figures_cache.kept("k", compute).value)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert compute.calls == 1
    assert len(answers) == 6 and len(set(answers)) == 1


def test_one_background_refresh_at_a_time_per_process():
    slow = Counter(pause=0.5)
    other = Counter()
    figures_cache.kept("slow", slow)
    figures_cache.kept("other", other)
    _change()
    figures_cache.kept("slow", slow)  # starts the refresh of "slow"
    assert figures_cache.kept("other", other).stale  # no second refresh thread meanwhile
    time.sleep(0.1)
    assert other.calls == 1
    _wait_for(lambda: slow.calls == 2)


def test_the_dashboard_says_when_its_figures_were_computed_and_that_newer_ones_come(client):
    user = UserFactory()
    membership_create(user=user, role=Membership.Role.PROVINCE_STAFF)
    client.force_login(user)
    commune = DesignationFactory().commune
    ContributionFactory(commune=commune, date=datetime.date(2024, 2, 1), value=3_000_000)
    outbox_drain()
    url = "/dashboard/?kind=year&year=2024"

    page = client.get(url).content.decode()
    assert 'id="figures-as-of"' in page and 'id="figures-newer-coming"' not in page

    ContributionFactory(commune=commune, date=datetime.date(2024, 3, 1), value=2_000_000)
    outbox_drain()
    page = client.get(url).content.decode()
    assert 'id="figures-newer-coming"' in page

    def refreshed() -> bool:
        body = client.get(url).content.decode()
        return 'id="figures-newer-coming"' not in body and "5.000.000" in body

    _wait_for(refreshed, seconds=30)


def test_a_slow_computation_is_refreshed_less_often(monkeypatch):
    monkeypatch.setattr(figures_cache, "REFRESH_FACTOR", 1000)
    compute = Counter(pause=0.05)  # refreshed after 1000 × 0,05 s at the earliest
    figures_cache.kept("k", compute)
    _change()
    assert figures_cache.kept("k", compute).stale
    time.sleep(0.2)
    assert compute.calls == 1


def test_the_process_pauses_after_a_background_refresh(monkeypatch):
    monkeypatch.setattr(figures_cache, "PAUSE_FACTOR", 1000)  # 1000 × the refresh's time
    first, second = Counter(pause=0.05), Counter()
    figures_cache.kept("first", first)
    figures_cache.kept("second", second)
    _change()
    figures_cache.kept("first", first)
    _wait_for(lambda: first.calls == 2 and not figures_cache.kept("first", first).stale)
    _change()
    assert figures_cache.kept("second", second).stale  # no refresh during the pause
    time.sleep(0.2)
    assert second.calls == 1


@pytest.fixture
def shared(settings, monkeypatch):
    """Figures recomputed by the worker (here: refresh_next called as the task would; the
    tasks are recorded, not sent, so that a worker left running by another test cannot take
    them: the real worker's way is tests/integration/test_figures_worker.py)."""
    settings.FIGURES_REFRESH_IN_WORKER = True
    from celery import current_app

    monkeypatch.setattr(current_app, "send_task", lambda *args, **kwargs: None)
    figures_cache.forget_shared()
    client = figures_cache._redis()
    marks = (
        figures_cache.RUNNING_KEY,
        figures_cache.PAUSE_KEY,
        figures_cache.ASKED_KEY,
        figures_cache.WANTED_KEY,
    )
    client.delete(*marks)
    computations = {}
    for name in ("probe", "other"):
        computations[name] = Counter(pause=0.05)
        figures_cache.recipe(name)(computations[name])
    yield computations, client
    client.delete(*marks)
    for name in computations:
        client.delete(*figures_cache._keys(figures_cache.Shared(name, {}).id("vi")).values())


def _shown_stale(name: str, compute) -> figures_cache.Kept:
    """A page shows `name` (computed now, in this process), the data changes, and a page shows
    it again: stale, and listed for the worker."""
    recipe = figures_cache.Shared(name, {})
    figures_cache.kept(name, compute, shared=recipe)
    _change()
    shown = figures_cache.kept(name, compute, shared=recipe)
    assert shown.stale
    return shown


def test_the_worker_refreshes_the_result_shown_longest_ago_first(shared, monkeypatch):
    computations, client = shared
    reads = []
    loads = figures_cache.pickle.loads
    monkeypatch.setattr(figures_cache.pickle, "loads", lambda blob: reads.append(1) or loads(blob))
    with translation.override("vi"):
        _shown_stale("probe", computations["probe"])  # computed first: older
        time.sleep(0.05)
        _shown_stale("other", computations["other"])
        client.delete(figures_cache.ASKED_KEY)
        assert client.zcard(figures_cache.WANTED_KEY) == 2
        assert '"probe"' in figures_cache.refresh_next()
        assert computations["probe"].calls == 2 and computations["other"].calls == 1
        # Every process now takes the worker's result instead of computing.
        figures_cache.forget()
        answer = figures_cache.kept(
            "probe", computations["probe"], shared=figures_cache.Shared("probe", {})
        )
        assert not answer.stale and answer.value[0] == 2
        assert computations["probe"].calls == 2
        # Read from Redis once: the kept copy is as new as the stored one from then on.
        _change()
        for _ in range(3):
            figures_cache.kept(
                "probe", computations["probe"], shared=figures_cache.Shared("probe", {})
            )
        assert len(reads) == 1


def test_the_worker_rests_after_a_refresh_and_runs_one_at_a_time(shared, monkeypatch):
    computations, client = shared
    monkeypatch.setattr(figures_cache, "WORKER_PAUSE_FACTOR", 1000)  # 1000 × 0,05 s
    with translation.override("vi"):
        _shown_stale("probe", computations["probe"])
        client.delete(figures_cache.ASKED_KEY)
        assert figures_cache.refresh_next()
        assert 45 < client.pttl(figures_cache.PAUSE_KEY) / 1000 < 120  # it took ≥ 0,05 s
        # Resting: a page showing stale figures lists them but queues no task.
        _shown_stale("other", computations["other"])
        assert not client.exists(figures_cache.ASKED_KEY)
        assert client.zcard(figures_cache.WANTED_KEY) == 1

        client.delete(figures_cache.PAUSE_KEY)
        client.set(figures_cache.RUNNING_KEY, "another")
        assert figures_cache.refresh_next() is None  # the running one goes on
        assert computations["other"].calls == 1


def test_without_redis_the_web_process_refreshes_in_its_own_thread(shared, settings):
    computations, _client = shared
    compute, recipe = computations["probe"], figures_cache.Shared("probe", {})
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    with translation.override("vi"):
        assert figures_cache.kept("k", compute, shared=recipe).value[0] == 1
        _change()
        assert figures_cache.kept("k", compute, shared=recipe).stale
        _wait_for(lambda: compute.calls == 2)
        _wait_for(lambda: not figures_cache.kept("k", compute, shared=recipe).stale)
