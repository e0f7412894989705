"""Rebuild and reconcile at national scale: more communes than PostgreSQL's lock table holds
in one transaction (max_locks_per_transaction × max_connections)."""

import pytest
from django.db import connection

from communes.models import AdminUnit
from reports.models import OpenDifficulties
from reports.rollups import rollups_rebuild, rollups_reconcile

pytestmark = pytest.mark.django_db(transaction=True)


def test_rebuild_and_reconcile_with_more_communes_than_locks():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_locks_per_transaction")
        per_transaction = int(cursor.fetchone()[0])
        cursor.execute("SHOW max_connections")
        slots = per_transaction * int(cursor.fetchone()[0])
    count = slots + 1_000
    AdminUnit.objects.bulk_create(
        AdminUnit(level="commune", kind="xa", name=f"Xã số {n}", source="manual")
        for n in range(count)
    )
    assert rollups_rebuild() is True
    assert OpenDifficulties.objects.count() == count
    # The rebuild leaves fresh planner statistics (ANALYZE) behind.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'reports_opendifficulties'")
        assert cursor.fetchone()[0] == count
    repaired = rollups_reconcile(years=[2024])
    assert repaired["open_difficulties"] == 0
