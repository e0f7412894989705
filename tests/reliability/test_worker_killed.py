"""A Celery worker killed with SIGKILL in the middle of a rollup rebuild, again and again.

Each round changes the records and damages the rollup tables, starts `reports.rebuild`, waits
until the worker's session is inside the rebuild (the rollups of contributions, visits and
difficulties rewritten but not committed, the plan items waiting on a lock this test holds),
then kills with SIGKILL either the pool child that runs the task or the whole worker (main
process and children, as `docker kill` or the OOM killer would). Then the rebuild must come back
by itself (acks_late + reject_on_worker_lost: at once; a whole worker: after the broker's
visibility timeout, once restarted) and leave every rollup equal to the raw sums, nothing
applied twice.

Runs `RELIABILITY_KILLS` rounds (default 20); every `RELIABILITY_WHOLE_WORKER_EVERY`-th round
(default 10) kills the whole worker. The worker runs with a short hard time limit and visibility
timeout (10 s / 12 s: the same rule as production, 30 min / 35 min, in small).
"""

import datetime
import os
import signal

import psycopg
import pytest

from programme.categories import categories_seed
from programme.models import ContributionCategory, Plan, RollupOutbox
from tests.factories import (
    AgencyFactory,
    CommuneFactory,
    ContributionFactory,
    DifficultyFactory,
    PlanItemFactory,
    VisitFactory,
)
from tests.reliability.conftest import (
    celery_client,
    children_of,
    env_number,
    rollup_problems,
    start_celery,
    stop_process,
    subprocess_env,
    test_database_dsn,
    wait_for,
    worker_ready,
)

pytestmark = pytest.mark.django_db(transaction=True)

KILLS = int(env_number("RELIABILITY_KILLS", 20))
WHOLE_EVERY = int(env_number("RELIABILITY_WHOLE_WORKER_EVERY", 10))
TIME_LIMIT = 10
VISIBILITY = 12


def _records(round_number: int, communes, agency) -> None:
    """New records of every kind, in a few months of two years."""
    commune = communes[round_number % len(communes)]
    day = datetime.date(2024 + round_number % 2, 1 + round_number % 12, 10)
    ContributionFactory(commune=commune, agency=agency, date=day, value=1_000_000 + round_number)
    VisitFactory(commune=commune, agency=agency, date=day)
    DifficultyFactory(commune=commune, raised_on=day)
    plan, _created = Plan.objects.get_or_create(commune=commune, year=day.year)
    PlanItemFactory(plan=plan)


def _damage_rollups(cursor) -> None:
    """Wrong figures only a rebuild repairs (the outbox is emptied: no drain would)."""
    RollupOutbox.objects.all().delete()
    cursor.execute("UPDATE reports_contributionrollup SET total_value = total_value + 1")
    cursor.execute("DELETE FROM reports_visitrollup WHERE id IN "
                   "(SELECT id FROM reports_visitrollup ORDER BY id LIMIT 2)")  # fmt: skip
    cursor.execute("UPDATE reports_planitemrollup SET due = due + 5")
    cursor.execute("UPDATE reports_opendifficulties SET open_count = open_count + 3")


def _waiting_in_rebuild(blocker) -> bool:
    """A worker session waits on the plan items lock: it is in the middle of a rebuild."""
    row = blocker.execute(
        "SELECT COUNT(*) FROM pg_locks WHERE relation = 'programme_planitem'::regclass "
        "AND NOT granted"
    ).fetchone()
    return row[0] > 0


def test_rollups_stay_exact_through_repeated_sigkills(private_redis, tmp_path):
    from django.db import connection

    categories_seed(ContributionCategory)
    communes = [CommuneFactory() for _ in range(3)]
    agency = AgencyFactory()
    for number in range(4):
        _records(number, communes, agency)

    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="tests.reliability.worker_settings",
        REDIS_URL=private_redis.url,
        CELERY_TASK_TIME_LIMIT=str(TIME_LIMIT),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
    )
    log = tmp_path / "worker.log"
    app = celery_client(private_redis.url)
    worker = start_celery("worker", env=env, log=log)
    kills = {"child": 0, "whole worker": 0}
    try:
        assert wait_for(lambda: worker_ready(log), seconds=60), log.read_text()[-3000:]
        for round_number in range(KILLS):
            whole = WHOLE_EVERY > 0 and (round_number + 1) % WHOLE_EVERY == 0
            _records(round_number + 4, communes, agency)
            with connection.cursor() as cursor:
                _damage_rollups(cursor)
            assert rollup_problems(), "the damage must show"

            blocker = psycopg.connect(test_database_dsn())  # a transaction: holds the lock
            try:
                blocker.execute("LOCK TABLE programme_planitem IN ACCESS EXCLUSIVE MODE")
                result = app.send_task("reports.rebuild", kwargs={"year": None})
                assert wait_for(lambda: _waiting_in_rebuild(blocker), seconds=30), (
                    f"round {round_number}: the rebuild never started\n{log.read_text()[-3000:]}"
                )
                if whole:
                    stop_process(worker, sig=signal.SIGKILL)
                    kills["whole worker"] += 1
                    worker = start_celery("worker", env=env, log=log)
                else:
                    children = children_of(worker.pid)
                    assert len(children) == 1, children
                    os.kill(children[0], signal.SIGKILL)
                    kills["child"] += 1
            finally:
                blocker.close()  # the killed session's statement ends; it rolls back

            state = wait_for(
                lambda: result.state in ("SUCCESS", "FAILURE") and result.state,
                seconds=VISIBILITY + 60,
                step=0.2,
            )
            assert state == "SUCCESS", (
                f"round {round_number} ({'whole worker' if whole else 'child'} killed): "
                f"the rebuild did not come back ({result.state})\n{log.read_text()[-4000:]}"
            )
            assert rollup_problems() == [], f"round {round_number}"
        assert worker.poll() is None
    finally:
        stop_process(worker)
    assert sum(kills.values()) == KILLS
    assert kills["child"] > 0
    if WHOLE_EVERY and KILLS >= WHOLE_EVERY:
        assert kills["whole worker"] > 0
    # The records of every round are all counted once.
    assert rollup_problems() == []
