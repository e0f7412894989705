"""Two runs of the same rollup rebuild at the same time never both write.

The first run is held in the middle of its transaction (this test locks the plan items it reads
last); the second starts meanwhile, waits for the first (advisory lock), finds the tables equal
to the raw records and writes nothing. Every rollup row then carries the first run's
transaction id.
"""

import datetime
import threading

import psycopg
import pytest
from django.db import connection, connections

from programme.categories import categories_seed
from programme.models import ContributionCategory
from reports import rollups
from tests.factories import (
    AgencyFactory,
    CommuneFactory,
    ContributionFactory,
    DifficultyFactory,
    PlanItemFactory,
    VisitFactory,
)
from tests.reliability.conftest import rollup_problems, test_database_dsn, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROLLUP_TABLES = [spec.table for spec in rollups.SPECS.values()]


def _run_rebuild(results: dict, name: str) -> None:
    try:
        results[name] = rollups.rollups_rebuild(year=2024)
    except Exception as error:  # noqa: BLE001 (reported by the test)
        results[name] = error
    finally:
        connections.close_all()


def _waiting(blocker, locktype: str) -> list[int]:
    """Sessions waiting on a lock of this kind (the plan items table, or an advisory lock)."""
    condition = (
        "relation = 'programme_planitem'::regclass"
        if locktype == "relation"
        else "locktype = 'advisory'"
    )
    rows = blocker.execute(f"SELECT pid FROM pg_locks WHERE {condition} AND NOT granted")
    return [row[0] for row in rows.fetchall()]


def test_the_second_of_two_overlapping_rebuilds_writes_nothing():
    categories_seed(ContributionCategory)
    commune, agency = CommuneFactory(), AgencyFactory()
    PlanItemFactory(plan__commune=commune, plan__year=2024)
    for month in (1, 2, 3):
        day = datetime.date(2024, month, 12)
        ContributionFactory(commune=commune, agency=agency, date=day, value=2_000_000 * month)
        VisitFactory(commune=commune, agency=agency, date=day)
        DifficultyFactory(commune=commune, raised_on=day)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reports_contributionrollup SET total_value = total_value * 2")
    assert rollup_problems()

    results: dict = {}
    blocker = psycopg.connect(test_database_dsn())
    try:
        blocker.execute("LOCK TABLE programme_planitem IN ACCESS EXCLUSIVE MODE")
        first = threading.Thread(target=_run_rebuild, args=(results, "first"))
        first.start()
        first_pids = wait_for(lambda: _waiting(blocker, "relation"), seconds=30)
        assert first_pids, "the first rebuild never reached the plan items"
        first_xid = blocker.execute(
            "SELECT backend_xid::text FROM pg_stat_activity WHERE pid = %s", [first_pids[0]]
        ).fetchone()[0]
        assert first_xid, "the first rebuild has written (it has a transaction id)"

        second = threading.Thread(target=_run_rebuild, args=(results, "second"))
        second.start()
        assert wait_for(lambda: _waiting(blocker, "advisory"), seconds=30), (
            "the second rebuild must wait for the first"
        )
        assert "second" not in results
    finally:
        blocker.close()
    first.join(60)
    second.join(60)

    assert results == {"first": True, "second": False}
    assert rollup_problems() == []
    with connection.cursor() as cursor:
        writers = set()
        for table in ROLLUP_TABLES:
            cursor.execute(f"SELECT DISTINCT xmin::text FROM {table}")  # noqa: S608
            writers |= {row[0] for row in cursor.fetchall()}
    assert writers == {first_xid}, "only the first rebuild wrote rollup rows"


def test_a_rebuild_after_another_finished_still_writes():
    """The lock only joins runs that overlap: a later rebuild finds drift and repairs it."""
    categories_seed(ContributionCategory)
    ContributionFactory(date=datetime.date(2024, 5, 2), value=3_000_000)
    assert rollups.rollups_rebuild(year=2024) is True
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reports_contributionrollup SET total_value = 1")
    assert rollups.rollups_rebuild(year=2024) is True
    assert rollup_problems() == []
