"""The rebuild of everything empties the rollup tables and builds their indexes again after
filling them: afterwards the tables have the same indexes and constraints (names the
migrations know) and equal the raw sums."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from programme.models import Difficulty
from reports.models import ContributionRollup, OpenDifficulties
from reports.rollups import SPECS, outbox_drain, rollups_drift, rollups_rebuild
from tests.factories import (
    CommuneFactory,
    ContributionFactory,
    DifficultyFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

TABLES = [spec.table for spec in SPECS.values()] + ["reports_opendifficulties"]


def _indexes() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [TABLES]
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s)",
            [TABLES],
        )
        return indexes | set(cursor.fetchall())


def test_the_rebuild_of_everything_keeps_every_index_and_equals_the_raw_sums():
    communes = [CommuneFactory() for _ in range(3)]
    for number, commune in enumerate(communes, start=1):
        ContributionFactory(commune=commune, date=datetime.date(2024, number, 5), value=number)
        ContributionFactory(commune=commune, date=datetime.date(2023, number, 5), value=number)
        VisitFactory(commune=commune, date=datetime.date(2024, number, 6))
        DifficultyFactory(commune=commune, raised_on=datetime.date(2024, number, 7))
    outbox_drain()
    before = _indexes()
    # Wrong figures written around the services, and a row of nothing.
    ContributionRollup.objects.update(total_value=999)
    OpenDifficulties.objects.update(open_count=50)

    assert rollups_rebuild() is True

    assert _indexes() == before
    assert not any(rollups_drift(spec, year=None) for spec in SPECS.values())
    open_now = dict(OpenDifficulties.objects.values_list("commune_id", "open_count"))
    assert {open_now[c.pk] for c in communes} == {1}
    assert Difficulty.objects.count() == 3
    # The unique key is enforced again.
    row = ContributionRollup.objects.first()
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
