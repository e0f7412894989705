"""The rollups equal the raw records after any sequence of writes and a drain of the outbox.

Hypothesis draws a sequence of creates, edits and deletes of contributions, visits,
difficulties and plan items, and moves and deletes of plans, written with plain ORM calls (the
database triggers queue the touched cells whatever does the write), with drains at random
points in between. After a final `outbox_drain()`, every rollup table must equal an aggregate
computed here, with SQL written independently of `reports.rollups`.
"""

import datetime
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partners.models import Role
from programme.models import (
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    RollupOutbox,
    Visit,
)
from reports import rollups
from reports.models import (
    ContributionRollup,
    DifficultyRollup,
    OpenDifficulties,
    PlanItemRollup,
    VisitRollup,
)
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    EnterpriseFactory,
    TwinningFactory,
)

SINCE = datetime.date(2016, 6, 1)
CATEGORY_CODES = ["roads", "scholarships", "seed-stock"]
AREAS = ["economy", "ntm", "welfare"]


# --- The fixed world --------------------------------------------------------------------------


@dataclass
class World:
    communes: list[int]
    agencies: list[int]
    enterprises: list[int]
    categories: list[int]


@pytest.fixture
def world(db) -> World:
    """3 communes, 2 agencies and 2 enterprises, assigned and twinned since 2016."""
    communes = CommuneFactory.create_batch(3)
    agencies = AgencyFactory.create_batch(2)
    enterprises = EnterpriseFactory.create_batch(2)
    for commune in communes:
        for agency, role in zip(agencies, [Role.LEAD, Role.CO_RESPONSIBLE], strict=True):
            AssignmentFactory(agency=agency, commune=commune, start_date=SINCE, role=role)
        for enterprise in enterprises:
            TwinningFactory(enterprise=enterprise, commune=commune, start_date=SINCE)
    categories = list(
        ContributionCategory.objects.filter(code__in=CATEGORY_CODES).values_list("pk", flat=True)
    )
    assert len(categories) == len(CATEGORY_CODES)
    return World(
        communes=[c.pk for c in communes],
        agencies=[a.pk for a in agencies],
        enterprises=[e.pk for e in enterprises],
        categories=categories,
    )


# --- What hypothesis draws --------------------------------------------------------------------

# Any day of 2024–2026, with the days around the Decree 09 boundary (14th/15th) drawn often.
days = st.one_of(
    st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    st.builds(
        datetime.date,
        st.integers(2024, 2026),
        st.integers(1, 12),
        st.sampled_from([1, 14, 15, 28]),
    ),
)
index = st.integers(0, 50)  # which record (modulo how many exist), commune, agency…
contributor = st.tuples(st.sampled_from(["agency", "enterprise"]), st.integers(0, 1))
money = st.integers(1, 10**12)
# A difficulty's state: its status, and how many days after raising it was resolved (None: no
# date). A reopened difficulty may keep a resolved_on: it must not count as resolved.
difficulty_state = st.tuples(
    st.sampled_from(["open", "in_progress", "escalated", "resolved", "confirmed", "unresolvable"]),
    st.one_of(st.none(), st.integers(0, 400)),
)
plan_period = st.one_of(
    st.just(("year", None)),
    st.tuples(st.just("quarter"), st.integers(1, 4)),
    st.tuples(st.just("month"), st.integers(1, 12)),
)
plan_status = st.sampled_from(["planned", "in_progress", "done", "dropped"])

contribution_fields = {
    "commune": index,
    "contributor": contributor,
    "category": index,
    "area": st.sampled_from(AREAS),
    "form": st.sampled_from(["cash", "in_kind", "labour"]),
    "status": st.sampled_from(["pledged", "delivered"]),
    "value": money,
    "date": days,
}
visit_fields = {
    "commune": index,
    "agency": index,
    "kind": st.sampled_from(["cell_meeting", "survey", "working"]),
    "date": days,
}
difficulty_fields = {
    "commune": index,
    "area": st.sampled_from(AREAS),
    "raised_on": days,
    "state": difficulty_state,
}
plan_item_fields = {
    "plan": st.tuples(index, st.integers(2024, 2026)),
    "area": st.sampled_from(AREAS),
    "period": plan_period,
    "status": plan_status,
}


def _ops(model: str, fields: dict) -> dict:
    return {
        f"add_{model}": st.tuples(st.just(f"add_{model}"), st.fixed_dictionaries(fields)),
        f"edit_{model}": st.tuples(
            st.just(f"edit_{model}"), index, st.fixed_dictionaries({}, optional=fields)
        ),
        f"delete_{model}": st.tuples(st.just(f"delete_{model}"), index),
    }


OPERATIONS = {
    **_ops("contribution", contribution_fields),
    **_ops("visit", visit_fields),
    **_ops("difficulty", difficulty_fields),
    **_ops("plan_item", plan_item_fields),
    "move_plan": st.tuples(st.just("move_plan"), index, st.tuples(index, st.integers(2024, 2026))),
    "delete_plan": st.tuples(st.just("delete_plan"), index),
    "drain": st.tuples(st.just("drain")),
}
# Every kind of operation equally likely; adds twice as likely, so records pile up in cells.
operation = st.sampled_from(
    [name for name in OPERATIONS for _ in range(2 if name.startswith("add_") else 1)]
).flatmap(OPERATIONS.__getitem__)


# --- Applying the operations with plain ORM writes ---------------------------------------------


def _pick(items: list, i: int):
    return items[i % len(items)]


def _contribution_values(world: World, fields: dict) -> dict:
    values = {}
    for name, value in fields.items():
        if name == "commune":
            values["commune_id"] = _pick(world.communes, value)
        elif name == "category":
            values["category_id"] = _pick(world.categories, value)
        elif name == "contributor":
            kind, i = value
            values["agency_id"] = world.agencies[i] if kind == "agency" else None
            values["enterprise_id"] = world.enterprises[i] if kind == "enterprise" else None
        else:
            values[name] = value
    return values


def _visit_values(world: World, fields: dict) -> dict:
    values = {}
    for name, value in fields.items():
        if name == "commune":
            values["commune_id"] = _pick(world.communes, value)
        elif name == "agency":
            values["agency_id"] = _pick(world.agencies, value)
        else:
            values[name] = value
    return values


def _difficulty_values(world: World, fields: dict, raised_on: datetime.date) -> dict:
    values = {}
    for name, value in fields.items():
        if name == "commune":
            values["commune_id"] = _pick(world.communes, value)
        elif name == "state":
            status, resolved_after = value
            if status in ("resolved", "confirmed") and resolved_after is None:
                resolved_after = 0  # a resolved difficulty always has its date
            values["status"] = status
            values["resolved_on"] = (
                None
                if resolved_after is None
                else fields.get("raised_on", raised_on) + datetime.timedelta(days=resolved_after)
            )
        else:
            values[name] = value
    return values


def _plan(world: World, commune: int, year: int) -> Plan:
    plan, _created = Plan.objects.get_or_create(
        commune_id=_pick(world.communes, commune), year=year
    )
    return plan


def _plan_item_values(world: World, fields: dict) -> dict:
    values = {}
    for name, value in fields.items():
        if name == "plan":
            values["plan"] = _plan(world, *value)
        elif name == "period":
            values["period_kind"], values["period_number"] = value
        else:
            values[name] = value
    return values


def apply(world: World, operations: list) -> None:
    records: dict[str, list[int]] = {"contribution": [], "visit": [], "difficulty": [], "item": []}

    def existing(kind: str, i: int) -> int | None:
        pks = records[kind]
        return pks[i % len(pks)] if pks else None

    for op in operations:
        name = op[0]
        if name == "drain":
            rollups.outbox_drain()
        elif name == "add_contribution":
            contribution = Contribution.objects.create(
                **_contribution_values(world, op[1]),
                workdays=Decimal(1),
                daily_rate=Decimal(1),
                description="Hỗ trợ",
            )
            records["contribution"].append(contribution.pk)
        elif name == "edit_contribution":
            pk = existing("contribution", op[1])
            if pk and op[2]:
                Contribution.objects.filter(pk=pk).update(**_contribution_values(world, op[2]))
        elif name == "delete_contribution":
            pk = existing("contribution", op[1])
            if pk:
                Contribution.objects.filter(pk=pk).delete()
                records["contribution"].remove(pk)
        elif name == "add_visit":
            visit = Visit.objects.create(
                **_visit_values(world, op[1]), village="Thôn Đông", summary="Sinh hoạt chi bộ"
            )
            records["visit"].append(visit.pk)
        elif name == "edit_visit":
            pk = existing("visit", op[1])
            if pk and op[2]:
                Visit.objects.filter(pk=pk).update(**_visit_values(world, op[2]))
        elif name == "delete_visit":
            pk = existing("visit", op[1])
            if pk:
                Visit.objects.get(pk=pk).delete()
                records["visit"].remove(pk)
        elif name == "add_difficulty":
            difficulty = Difficulty.objects.create(
                **_difficulty_values(world, op[1], op[1]["raised_on"]),
                description="Đường liên thôn xuống cấp",
                resolution="Đã sửa",
                unresolvable_reason="Thiếu vốn",
            )
            records["difficulty"].append(difficulty.pk)
        elif name == "edit_difficulty":
            pk = existing("difficulty", op[1])
            if pk and op[2]:
                difficulty = Difficulty.objects.get(pk=pk)
                for field, value in _difficulty_values(world, op[2], difficulty.raised_on).items():
                    setattr(difficulty, field, value)
                difficulty.save()
        elif name == "delete_difficulty":
            pk = existing("difficulty", op[1])
            if pk:
                Difficulty.objects.filter(pk=pk).delete()
                records["difficulty"].remove(pk)
        elif name == "add_plan_item":
            item = PlanItem.objects.create(
                **_plan_item_values(world, op[1]),
                title="Bê tông hóa đường thôn",
                completed_on=datetime.date(2026, 1, 1),
            )
            records["item"].append(item.pk)
        elif name == "edit_plan_item":
            pk = existing("item", op[1])
            if pk and op[2]:
                PlanItem.objects.filter(pk=pk).update(**_plan_item_values(world, op[2]))
        elif name == "delete_plan_item":
            pk = existing("item", op[1])
            if pk:
                PlanItem.objects.get(pk=pk).delete()
                records["item"].remove(pk)
        elif name == "move_plan":
            plans = list(Plan.objects.order_by("pk"))
            commune, year = _pick(world.communes, op[2][0]), op[2][1]
            if plans and not Plan.objects.filter(commune_id=commune, year=year).exists():
                plan = _pick(plans, op[1])
                Plan.objects.filter(pk=plan.pk).update(commune_id=commune, year=year)
        elif name == "delete_plan":
            plans = list(Plan.objects.order_by("pk"))
            if plans:
                _pick(plans, op[1]).delete()  # its items go with it (Django's cascade)
                records["item"] = list(PlanItem.objects.values_list("pk", flat=True))
        else:  # pragma: no cover
            raise AssertionError(name)


# --- The expected figures, computed independently ----------------------------------------------


def _month_sql(column: str, decree_09: bool) -> str:
    """The reporting month of a date column, written differently from programme.periods."""
    if decree_09:
        # Shift back 14 days: the 15th becomes the 1st of the same month, the 14th falls into
        # the previous one; the label is the month after that.
        shifted = f"({column} - 14)"
        return (
            f"(make_date(extract(year FROM {shifted})::int, extract(month FROM {shifted})::int, 1)"
            " + interval '1 month')::date"
        )
    return f"make_date(extract(year FROM {column})::int, extract(month FROM {column})::int, 1)"


def _query(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(int(v) if isinstance(v, Decimal) else v for v in row) for row in cursor]


def expected_contributions(decree_09: bool) -> list[tuple]:
    return _query(
        f"""
        SELECT {_month_sql("date", decree_09)} AS m, commune_id, agency_id, enterprise_id,
               category_id, area, form, status, SUM(value), COUNT(*)
        FROM programme_contribution
        GROUP BY m, commune_id, agency_id, enterprise_id, category_id, area, form, status"""
    )


def expected_visits(decree_09: bool) -> list[tuple]:
    return _query(
        f"""
        SELECT {_month_sql("date", decree_09)} AS m, commune_id, agency_id, kind, COUNT(*)
        FROM programme_visit GROUP BY m, commune_id, agency_id, kind"""
    )


def expected_difficulties(decree_09: bool) -> list[tuple]:
    return _query(
        f"""
        WITH raised AS (
            SELECT {_month_sql("raised_on", decree_09)} AS m, commune_id, area, COUNT(*) AS n
            FROM programme_difficulty GROUP BY m, commune_id, area
        ), resolved AS (
            SELECT {_month_sql("resolved_on", decree_09)} AS m, commune_id, area, COUNT(*) AS n
            FROM programme_difficulty
            WHERE status IN ('resolved', 'confirmed') AND resolved_on IS NOT NULL
            GROUP BY m, commune_id, area
        )
        SELECT m, commune_id, area, COALESCE(raised.n, 0), COALESCE(resolved.n, 0)
        FROM raised FULL OUTER JOIN resolved USING (m, commune_id, area)"""
    )


def expected_plan_items() -> list[tuple]:
    # Due on the plan year's month, the last month of the quarter, or December.
    return _query(
        """
        SELECT make_date(plan.year, CASE item.period_kind
                   WHEN 'month' THEN item.period_number
                   WHEN 'quarter' THEN item.period_number * 3
                   WHEN 'year' THEN 12 END, 1) AS m,
               plan.commune_id, item.area, COUNT(*),
               SUM(CASE WHEN item.status = 'done' THEN 1 ELSE 0 END)
        FROM programme_planitem item JOIN programme_plan plan ON plan.id = item.plan_id
        GROUP BY m, plan.commune_id, item.area"""
    )


def expected_open_difficulties() -> dict[int, tuple[int, datetime.date]]:
    """Per commune: how many are open, and the median day raised (the lower one of two)."""
    raised: dict[int, list[datetime.date]] = {}
    for commune, day in Difficulty.objects.exclude(
        status__in=["resolved", "confirmed", "unresolvable"]
    ).values_list("commune_id", "raised_on"):
        raised.setdefault(commune, []).append(day)
    return {
        commune: (len(days), sorted(days)[(len(days) - 1) // 2]) for commune, days in raised.items()
    }


def _stored(model, *fields: str) -> list[tuple]:
    return [
        tuple(int(v) if isinstance(v, Decimal) else v for v in row)
        for row in model.objects.values_list(*fields)
    ]


def assert_same_rows(table: str, expected: list[tuple], stored: list[tuple]) -> None:
    missing = Counter(expected) - Counter(stored)
    extra = Counter(stored) - Counter(expected)
    assert not missing and not extra, f"{table}: missing {dict(missing)}, extra {dict(extra)}"


def assert_rollups_equal_raw_records(decree_09: bool) -> None:
    # The national summaries the triggers keep (migration reports/0007) equal the rollup.
    assert rollups.summaries_drift() == dict.fromkeys(rollups.SUMMARIES, 0)
    assert_same_rows(
        "contributions",
        expected_contributions(decree_09),
        _stored(
            ContributionRollup,
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
    )
    assert_same_rows(
        "visits",
        expected_visits(decree_09),
        _stored(VisitRollup, "month", "commune_id", "agency_id", "kind", "count"),
    )
    assert_same_rows(
        "difficulties",
        expected_difficulties(decree_09),
        _stored(DifficultyRollup, "month", "commune_id", "area", "raised", "resolved"),
    )
    assert_same_rows(
        "plan items",
        expected_plan_items(),
        _stored(PlanItemRollup, "month", "commune_id", "area", "due", "done"),
    )
    stored_open = {
        row.commune_id: (row.open_count, row.median_raised_on)
        for row in OpenDifficulties.objects.all()
    }
    expected_open = expected_open_difficulties()
    assert {c: v for c, v in stored_open.items() if v[0]} == expected_open
    assert all(median is None for count, median in stored_open.values() if not count)


# --- The property ------------------------------------------------------------------------------


@pytest.mark.parametrize("calendar", ["calendar", "decree09"])
@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=8, max_size=40))
def test_rollups_equal_the_raw_records_after_any_writes_and_a_drain(world, calendar, operations):
    with override_settings(REPORTING_CALENDAR=calendar), transaction.atomic():
        apply(world, operations)
        rollups.outbox_drain()
        assert not RollupOutbox.objects.exists()
        assert_rollups_equal_raw_records(decree_09=calendar == "decree09")
        transaction.set_rollback(True)  # the next example starts from the same empty world
