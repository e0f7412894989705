"""The rollup worker's guarantees: idempotent and concurrent drains, rebuild = drain, reconcile
repairs and logs drift, and the cells that moves, resolutions and plan items land in."""

import datetime
import logging
import re
import threading
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import translation

from programme.categories import categories_seed
from programme.models import (
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    RollupOutbox,
    Visit,
)
from reports import rollups, tasks
from reports.models import (
    ContributionRollup,
    DifficultyRollup,
    OpenDifficulties,
    PlanItemRollup,
    VisitRollup,
)
from tests.factories import (
    AgencyFactory,
    CommuneFactory,
    ContributionFactory,
    DifficultyFactory,
    EnterpriseFactory,
    PlanFactory,
    PlanItemFactory,
    VisitFactory,
)
from tests.reports.test_rollup_property import assert_rollups_equal_raw_records

D = datetime.date

# Days on both sides of the month and year boundaries of both calendars.
BOUNDARY_DAYS = [
    D(2024, 12, 14),
    D(2024, 12, 15),
    D(2024, 12, 31),
    D(2025, 1, 1),
    D(2025, 3, 14),
    D(2025, 3, 15),
    D(2025, 6, 30),
    D(2025, 12, 14),
    D(2025, 12, 15),
    D(2026, 1, 14),
]

TABLES = {
    "contribution": (
        ContributionRollup,
        (
            "month",
            "commune_id",
            "agency_id",
            "enterprise_id",
            "category_id",
            "area",
            "form",
            "status",
            "total_value",
            "count",
        ),
    ),
    "visit": (VisitRollup, ("month", "commune_id", "agency_id", "kind", "count")),
    "difficulty": (DifficultyRollup, ("month", "commune_id", "area", "raised", "resolved")),
    "plan_item": (PlanItemRollup, ("month", "commune_id", "area", "due", "done")),
}


def _order(row: tuple) -> list:
    """Sort rows whose columns may be null."""
    return [(value is None, value) for value in row]


def snapshot(*, year: int | None = None) -> dict[str, list[tuple]]:
    """Every rollup row (without ids), optionally only the reporting months of one year; open
    difficulties only where something is open (a rebuild also writes rows of 0)."""
    tables = {}
    for kind, (model, fields) in TABLES.items():
        rows = model.objects.all()
        if year is not None:
            rows = rows.filter(month__year=year)
        tables[kind] = sorted(rows.values_list(*fields), key=_order)
    tables["open"] = sorted(
        OpenDifficulties.objects.filter(open_count__gt=0).values_list(
            "commune_id", "open_count", "median_raised_on"
        )
    )
    return tables


def _rows(model, **filters) -> list[tuple]:
    fields = {model: fields for model, fields in TABLES.values()}[model]
    return sorted(model.objects.filter(**filters).values_list(*fields), key=_order)


@pytest.fixture
def records(db):
    """Records of every kind in two communes, on the boundary days of 2024–2026."""
    communes = CommuneFactory.create_batch(2)
    agency, enterprise = AgencyFactory(), EnterpriseFactory()
    for i, day in enumerate(BOUNDARY_DAYS):
        commune = communes[i % 2]
        ContributionFactory(date=day, commune=commune, agency=agency, value=1_000_000 * (i + 1))
        ContributionFactory(
            date=day, commune=commune, agency=None, enterprise=enterprise, status="pledged"
        )
        VisitFactory(date=day, commune=commune, agency=agency)
        DifficultyFactory(raised_on=day, commune=commune, area=["ntm", "economy"][i % 2])
        DifficultyFactory(
            raised_on=day,
            commune=commune,
            status="resolved",
            resolution="Đã sửa xong",
            resolved_on=day + datetime.timedelta(days=20 * i),
        )
    for year in (2024, 2025, 2026):
        plan = PlanFactory(commune=communes[0], year=year)
        PlanItemFactory(plan=plan, period_kind="month", period_number=12)
        PlanItemFactory(
            plan=plan,
            period_kind="quarter",
            period_number=1,
            status="done",
            completed_on=D(2025, 1, 1),
        )
        PlanItemFactory(plan=plan, period_kind="year", area="welfare")
    return communes


# --- Idempotence and concurrency ---------------------------------------------------------------


def test_draining_twice_gives_the_same_rows(records):
    rollups.outbox_drain()
    first = snapshot()
    # Touch every record without changing it: the triggers queue all the cells again.
    for model in (Contribution, Visit, Difficulty, PlanItem):
        model.objects.update(version=1)
    assert RollupOutbox.objects.exists()
    rollups.outbox_drain()
    assert snapshot() == first
    assert rollups.outbox_drain() == 0
    assert snapshot() == first


def test_the_drain_handles_a_large_outbox_in_batches(records):
    queued = RollupOutbox.objects.count()
    assert rollups.outbox_drain(batch=7) == queued
    assert not RollupOutbox.objects.exists()
    assert_rollups_equal_raw_records(decree_09=False)


def _many_records_in_few_cells() -> None:
    categories_seed(ContributionCategory)  # a transactional test starts from a flushed database
    communes = CommuneFactory.create_batch(3)
    agency = AgencyFactory()
    for i in range(60):
        commune = communes[i % 3]
        day = D(2025, 1 + i % 4, 1 + i % 28)
        contribution = ContributionFactory(date=day, commune=commune, agency=agency, value=i + 1)
        # Each edit queues the same cell again: both drains will want the same cells.
        Contribution.objects.filter(pk=contribution.pk).update(value=i + 2)
        Contribution.objects.filter(pk=contribution.pk).update(status="pledged")
        VisitFactory(date=day, commune=commune, agency=agency)
        DifficultyFactory(raised_on=day, commune=commune)


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_the_same_time_give_the_same_rows_and_handle_each_outbox_row_once():
    _many_records_in_few_cells()
    queued = RollupOutbox.objects.count()
    start = threading.Barrier(2)
    handled: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            start.wait(timeout=10)
            handled.append(rollups.outbox_drain(batch=5))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(handled) == queued  # every outbox row, and none twice
    assert all(count > 0 for count in handled)  # both drains took part
    assert not RollupOutbox.objects.exists()
    assert_rollups_equal_raw_records(decree_09=False)
    drained = snapshot()
    rollups.rollups_rebuild()
    assert snapshot() == drained


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_during_a_drain_waits_for_it_without_deadlock():
    """A drain refreshes kinds in order (difficulty before visit); a rebuild that locked the
    visit table before the difficulty table would deadlock with it."""
    categories_seed(ContributionCategory)
    commune = CommuneFactory()
    VisitFactory(commune=commune, date=D(2025, 4, 2))
    DifficultyFactory(commune=commune, raised_on=D(2025, 4, 2))
    cells = [(commune.pk, D(2025, 4, 1))]
    rebuild_pid: list[int] = []
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            rebuild_pid.append(_backend_pid())
            rollups.rollups_rebuild(year=2025)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=rebuild)
    with transaction.atomic():
        rollups.refresh_cells(rollups.SPECS["difficulty"], cells)
        thread.start()
        for _ in range(100):
            if rebuild_pid and _waits_for_a_lock(rebuild_pid[0]):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the rebuild never waited for the drain")
        rollups.refresh_cells(rollups.SPECS["visit"], cells)
    thread.join(timeout=30)
    assert errors == []
    assert VisitRollup.objects.get(commune=commune).count == 1
    assert DifficultyRollup.objects.get(commune=commune).raised == 1


# --- Rebuild -------------------------------------------------------------------------------------


def _wipe() -> None:
    for model, _fields in TABLES.values():
        model.objects.all().delete()
    OpenDifficulties.objects.all().delete()


@pytest.mark.parametrize("calendar", ["calendar", "decree09"])
def test_rebuild_of_a_year_equals_the_drain(records, settings, calendar):
    settings.REPORTING_CALENDAR = calendar
    rollups.outbox_drain()
    drained = snapshot()
    rollups.rollups_rebuild(year=2025)
    assert snapshot() == drained
    _wipe()
    rollups.rollups_rebuild(year=2025)
    rebuilt = snapshot()
    for kind in TABLES:
        assert rebuilt[kind] == [row for row in drained[kind] if row[0].year == 2025]
        assert rebuilt[kind], kind
    assert rebuilt["open"] == drained["open"]


@pytest.mark.parametrize("calendar", ["calendar", "decree09"])
def test_rebuild_of_everything_equals_the_drain(records, settings, calendar):
    settings.REPORTING_CALENDAR = calendar
    rollups.outbox_drain()
    drained = snapshot()
    _wipe()
    rollups.rollups_rebuild()
    assert snapshot() == drained
    assert_rollups_equal_raw_records(decree_09=calendar == "decree09")


def test_rebuild_under_decree_09_puts_the_15th_of_december_in_the_next_year(db, settings):
    settings.REPORTING_CALENDAR = "decree09"
    contribution = ContributionFactory(date=D(2025, 12, 15), value=9_000_000)
    rollups.rollups_rebuild(year=2025)
    assert not ContributionRollup.objects.exists()
    rollups.rollups_rebuild(year=2026)
    assert ContributionRollup.objects.get(commune=contribution.commune).month == D(2026, 1, 1)


# --- Reconcile -----------------------------------------------------------------------------------


def _first_of_2025(model):
    return model.objects.filter(month__year=2025).order_by("pk")[:1].get()


def _tamper_contribution(communes):
    row = _first_of_2025(ContributionRollup)
    row.total_value += 1
    row.save()


def _tamper_visit(communes):
    _first_of_2025(VisitRollup).delete()


def _tamper_difficulty(communes):
    DifficultyRollup.objects.create(
        month=D(2025, 8, 1), commune_id=communes[0].pk, area="party", raised=5, resolved=0
    )


def _tamper_plan_item(communes):
    row = _first_of_2025(PlanItemRollup)
    row.done += 1
    row.save()


TAMPER = {
    "contribution": _tamper_contribution,
    "visit": _tamper_visit,
    "difficulty": _tamper_difficulty,
    "plan_item": _tamper_plan_item,
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_reconcile_logs_and_repairs_drift(records, caplog, kind):
    rollups.outbox_drain()
    drained = snapshot()
    TAMPER[kind](records)
    assert snapshot() != drained
    with caplog.at_level(logging.WARNING, logger="reports.rollups"):
        repaired = rollups.rollups_reconcile(years=[2025])
    assert repaired[f"{kind}:2025"] == 1
    assert sum(repaired.values()) == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "reports.rollups"]
    assert len(messages) == 1
    assert messages[0].startswith(f"rollup drift repaired: {kind} 2025, 1 cells")
    assert snapshot() == drained
    assert_rollups_equal_raw_records(decree_09=False)


def test_reconcile_logs_and_repairs_open_difficulties(records, caplog):
    rollups.outbox_drain()
    drained = snapshot()
    OpenDifficulties.objects.filter(commune=records[0]).update(open_count=99)
    with caplog.at_level(logging.WARNING, logger="reports.rollups"):
        repaired = rollups.rollups_reconcile(years=[2025])
    assert repaired["open_difficulties"] == 1
    assert "open difficulties, 1 communes" in caplog.text
    assert snapshot() == drained


def test_reconcile_without_drift_logs_nothing(records, caplog):
    rollups.outbox_drain()
    with caplog.at_level(logging.WARNING, logger="reports.rollups"):
        repaired = rollups.rollups_reconcile(years=[2024, 2025, 2026])
    assert set(repaired.values()) == {0}
    assert "drift" not in caplog.text


def test_reconcile_finds_cells_the_outbox_lost(records):
    RollupOutbox.objects.all().delete()  # as if the refreshes were lost
    repaired = rollups.rollups_reconcile(years=[2024, 2025, 2026])
    assert repaired["contribution:2025"] > 0
    assert_rollups_equal_raw_records(decree_09=False)


# --- The management command and the tasks --------------------------------------------------------


def test_rollups_rebuild_command_prints_a_progress_bar_and_done(records):
    out = StringIO()
    with translation.override("en"):
        call_command("rollups", "rebuild", "--year", "2025", stdout=out)
    output = out.getvalue()
    assert f"[{'#' * 30}] 4/4" in output
    assert "\r[" in output
    assert "Done in" in output
    assert ContributionRollup.objects.filter(month__year=2025).exists()


@pytest.mark.parametrize("year", ["1999", "2101", "twenty"])
def test_rollups_rebuild_command_refuses_a_bad_year(db, year):
    with translation.override("en"), pytest.raises(CommandError):
        call_command("rollups", "rebuild", "--year", year, stdout=StringIO())


def test_rollups_drain_command_says_how_many_refreshes_it_handled(records):
    queued = RollupOutbox.objects.count()
    out = StringIO()
    with translation.override("en"):
        call_command("rollups", "drain", stdout=out)
    assert re.search(rf"\bhandled\b.*\b{queued}\b|\b{queued}\b.*\bhandled\b", out.getvalue())
    assert not RollupOutbox.objects.exists()


def test_the_celery_tasks_drain_reconcile_and_rebuild(records):
    queued = RollupOutbox.objects.count()
    assert tasks.drain_outbox.apply().get() == queued
    drained = snapshot()
    ContributionRollup.objects.update(total_value=1)
    repaired = tasks.reconcile.apply(kwargs={"years": [2024, 2025, 2026]}).get()
    assert repaired["contribution:2025"] > 0
    assert snapshot() == drained
    _wipe()
    tasks.rebuild.apply(kwargs={"year": None}).get()
    assert snapshot() == drained


# --- Where a record's figures land ---------------------------------------------------------------


def test_moving_a_visit_to_another_commune_refreshes_both_communes(db):
    old, new = CommuneFactory(), CommuneFactory()
    visit = VisitFactory(commune=old, date=D(2025, 4, 2))
    rollups.outbox_drain()
    assert VisitRollup.objects.get(commune=old).count == 1
    visit.commune = new
    visit.save()
    rollups.outbox_drain()
    assert not VisitRollup.objects.filter(commune=old).exists()
    assert VisitRollup.objects.get(commune=new).count == 1


def test_changing_a_contributor_from_agency_to_enterprise_moves_the_figure(db):
    contribution = ContributionFactory(date=D(2025, 4, 2), value=3_000_000)
    rollups.outbox_drain()
    enterprise = EnterpriseFactory()
    Contribution.objects.filter(pk=contribution.pk).update(agency=None, enterprise=enterprise)
    rollups.outbox_drain()
    row = ContributionRollup.objects.get(commune=contribution.commune)
    assert (row.agency_id, row.enterprise_id, row.total_value) == (None, enterprise.pk, 3_000_000)


@pytest.mark.parametrize(
    ("calendar", "raised_month", "resolved_month"),
    [("calendar", D(2025, 3, 1), D(2025, 5, 1)), ("decree09", D(2025, 3, 1), D(2025, 6, 1))],
)
def test_a_difficulty_resolved_in_a_later_month_counts_in_both_months(
    db, settings, calendar, raised_month, resolved_month
):
    settings.REPORTING_CALENDAR = calendar
    difficulty = DifficultyFactory(raised_on=D(2025, 3, 10))
    rollups.outbox_drain()
    assert OpenDifficulties.objects.get(commune=difficulty.commune).open_count == 1
    difficulty.status = "resolved"
    difficulty.resolution = "Đã làm lại mặt đường"
    difficulty.resolved_on = D(2025, 5, 20)
    difficulty.save()
    rollups.outbox_drain()
    assert _rows(DifficultyRollup, commune=difficulty.commune) == [
        (raised_month, difficulty.commune_id, "ntm", 1, 0),
        (resolved_month, difficulty.commune_id, "ntm", 0, 1),
    ]
    open_now = OpenDifficulties.objects.get(commune=difficulty.commune)
    assert (open_now.open_count, open_now.median_raised_on) == (0, None)


def test_reopening_a_resolved_difficulty_takes_back_its_resolution(db):
    difficulty = DifficultyFactory(
        raised_on=D(2025, 3, 10),
        status="resolved",
        resolution="Đã sửa",
        resolved_on=D(2025, 5, 20),
    )
    rollups.outbox_drain()
    Difficulty.objects.filter(pk=difficulty.pk).update(status="in_progress")
    rollups.outbox_drain()
    assert _rows(DifficultyRollup, commune=difficulty.commune) == [
        (D(2025, 3, 1), difficulty.commune_id, "ntm", 1, 0)
    ]
    open_now = OpenDifficulties.objects.get(commune=difficulty.commune)
    assert (open_now.open_count, open_now.median_raised_on) == (1, D(2025, 3, 10))


def test_open_difficulties_keep_the_median_day_raised(db):
    commune = CommuneFactory()
    for day in (D(2025, 1, 5), D(2025, 2, 5), D(2025, 9, 5)):
        DifficultyFactory(commune=commune, raised_on=day)
    DifficultyFactory(commune=commune, raised_on=D(2024, 1, 1), status="unresolvable",
                      unresolvable_reason="Ngoài thẩm quyền")  # fmt: skip
    rollups.outbox_drain()
    open_now = OpenDifficulties.objects.get(commune=commune)
    assert (open_now.open_count, open_now.median_raised_on) == (3, D(2025, 2, 5))


@pytest.mark.parametrize("calendar", ["calendar", "decree09"])
def test_plan_items_land_in_their_due_month_and_done_counts(db, settings, calendar):
    settings.REPORTING_CALENDAR = calendar
    plan = PlanFactory(year=2025)
    done = {"status": "done", "completed_on": D(2025, 6, 1)}
    PlanItemFactory(plan=plan, period_kind="month", period_number=5, **done)
    PlanItemFactory(plan=plan, period_kind="quarter", period_number=2)
    PlanItemFactory(plan=plan, period_kind="quarter", period_number=4, **done)
    PlanItemFactory(plan=plan, period_kind="year", **done)
    PlanItemFactory(plan=plan, period_kind="month", period_number=12, status="dropped")
    PlanItemFactory(plan=plan, period_kind="month", period_number=12, area="welfare")
    rollups.outbox_drain()
    c = plan.commune_id
    assert _rows(PlanItemRollup, commune=c) == [
        (D(2025, 5, 1), c, "ntm", 1, 1),
        (D(2025, 6, 1), c, "ntm", 1, 0),
        (D(2025, 12, 1), c, "ntm", 3, 2),
        (D(2025, 12, 1), c, "welfare", 1, 0),
    ]


def test_finishing_a_plan_item_counts_it_done(db):
    item = PlanItemFactory(plan=PlanFactory(year=2025), period_kind="quarter", period_number=3)
    rollups.outbox_drain()
    item.status = "done"
    item.completed_on = D(2025, 9, 30)
    item.save()
    rollups.outbox_drain()
    row = PlanItemRollup.objects.get(commune=item.plan.commune)
    assert (row.month, row.due, row.done) == (D(2025, 9, 1), 1, 1)


def test_moving_a_plan_to_another_year_and_commune_moves_its_items(db):
    plan = PlanFactory(year=2025)
    PlanItemFactory(plan=plan, period_kind="month", period_number=3)
    PlanItemFactory(plan=plan, period_kind="year")
    rollups.outbox_drain()
    old_commune, new_commune = plan.commune, CommuneFactory()
    Plan.objects.filter(pk=plan.pk).update(year=2026, commune=new_commune)
    rollups.outbox_drain()
    assert not PlanItemRollup.objects.filter(commune=old_commune).exists()
    assert sorted(
        PlanItemRollup.objects.filter(commune=new_commune).values_list("month", "due")
    ) == [(D(2026, 3, 1), 1), (D(2026, 12, 1), 1)]


def test_deleting_a_plan_removes_its_items_from_the_rollup(db):
    plan = PlanFactory(year=2025)
    PlanItemFactory(plan=plan, period_kind="month", period_number=3)
    rollups.outbox_drain()
    assert PlanItemRollup.objects.filter(commune=plan.commune).exists()
    plan.delete()
    rollups.outbox_drain()
    assert not PlanItemRollup.objects.filter(commune=plan.commune).exists()


def test_labour_is_summed_by_its_value(db):
    contribution = ContributionFactory(
        date=D(2025, 4, 2),
        form="labour",
        workdays=Decimal("12.5"),
        daily_rate=200_000,
        value=2_500_000,
    )
    ContributionFactory(
        date=D(2025, 4, 3),
        commune=contribution.commune,
        agency=contribution.agency,
        form="labour",
        workdays=Decimal(1),
        daily_rate=200_000,
        value=200_000,
    )
    rollups.outbox_drain()
    row = ContributionRollup.objects.get(commune=contribution.commune, form="labour")
    assert (row.total_value, row.count) == (2_700_000, 2)
