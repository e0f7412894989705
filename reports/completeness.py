"""Completeness and timeliness: what each agency in charge was expected to do, and what it did.

Definitions (they are also what the completeness page and the reminders say):

- **Obligation.** For every reporting month (programme.periods) and every assignment
  (agency → commune) whose term shares at least one day with that month, the agency must attend
  N village Party-cell meetings in that commune during that month. Two terms of the same agency
  in the same commune and month make one obligation, not two.
- **N** is `Programme.cell_meetings_per_month` of the programme under which the commune is
  designated during the month (the largest, when it is designated under several). A commune
  with no designation that month falls back to the largest value among all programmes (1 when
  there is no programme at all). N = 0 means no obligation.
- **Due date**: the last day of the reporting month (`Period("month", …).days()[1]`; the 14th
  under Decree 09). Months that have not started yet carry no obligation. Until the due date has
  passed, what is still to do is *pending*, not *missing*.
- **Done**: cell-meeting visits of that agency in that commune in that month, read from the visit
  rollups (the same figures as the dashboard and the period reports), counted up to N: extra
  meetings in one month do not make up for another month.
- **Late**: a counted meeting recorded (`Visit.created_at`, local time) more than
  `COMPLETENESS_GRACE_DAYS` (default 5) days after the due date. The rollups do not keep the
  recording time, so lateness is the one figure read from the raw visits: one grouped query over
  the cell-meeting visits of the period that were recorded late. Meetings recorded on time are
  counted first, so a month with one late and one on-time meeting, when one is expected, is done
  on time.
- **Plan items** (per commune, from the plan-item rollups): items whose due month (the month,
  the last month of the quarter, or December) lies in the period; *done* are those marked done;
  the rest are *missing* once the due month's due date has passed, *pending* before.
- **Rates**: done / expected (visits: done meetings / expected meetings; plan items: done / due),
  on-time rate = (done − late) / expected. A commune's plan items are counted once in totals even
  when several agencies are in charge of it, and once for each agency in its agency total.

Everything is computed with a fixed number of queries, whatever the number of assignments.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q, Sum
from django.utils import timezone

from communes.models import AdminUnit, Designation, Programme
from partners.models import Agency, Assignment
from partners.scoping import Scope
from programme.models import Visit
from programme.periods import Period
from reports import figures_cache
from reports.models import PlanItemRollup, VisitRollup

CELL_MEETING = Visit.Kind.CELL_MEETING.value


def grace_days() -> int:
    return int(getattr(settings, "COMPLETENESS_GRACE_DAYS", 5))


@dataclass(frozen=True)
class Month:
    """A reporting month with its days and deadlines."""

    month: date  # the reporting month, named by its label's first day
    first_day: date
    due: date  # the last day of the reporting month
    late_from: datetime  # a meeting recorded at or after this instant is late

    @classmethod
    def of(cls, month: date) -> "Month":
        first_day, due = Period("month", month.year, month.month).days()
        late_day = due + timedelta(days=grace_days() + 1)
        late_from = timezone.make_aware(
            datetime.combine(late_day, time.min), timezone.get_default_timezone()
        )
        return cls(month=month, first_day=first_day, due=due, late_from=late_from)


@dataclass
class Tally:
    """Counts of one row, one agency, one commune or everything; rates are derived."""

    expected: int = 0
    done: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    plan_due: int = 0
    plan_done: int = 0
    plan_missing: int = 0
    plan_pending: int = 0

    VISITS = ("expected", "done", "late", "missing", "pending")
    PLANS = ("plan_due", "plan_done", "plan_missing", "plan_pending")

    def add(self, other: "Tally", *, visits: bool = True, plans: bool = True) -> None:
        # Spelled out: called for every row of a national period, several times over.
        if visits:
            self.expected += other.expected
            self.done += other.done
            self.late += other.late
            self.missing += other.missing
            self.pending += other.pending
        if plans:
            self.plan_due += other.plan_due
            self.plan_done += other.plan_done
            self.plan_missing += other.plan_missing
            self.plan_pending += other.plan_pending

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def on_time(self) -> int:
        return self.done - self.late

    @property
    def rate(self) -> float | None:
        return self._rate(self.done, self.expected)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.on_time, self.expected)

    @property
    def plan_rate(self) -> float | None:
        return self._rate(self.plan_done, self.plan_due)

    # Whole percentages for the page (None when nothing was expected).
    @staticmethod
    def _percent(rate: float | None) -> int | None:
        return None if rate is None else round(rate * 100)

    @property
    def rate_percent(self) -> int | None:
        return self._percent(self.rate)

    @property
    def on_time_percent(self) -> int | None:
        return self._percent(self.on_time_rate)

    @property
    def plan_percent(self) -> int | None:
        return self._percent(self.plan_rate)


@dataclass
class MonthCell:
    """One obligation (or its absence) of a row in one month."""

    month: date
    due: date
    expected: int = 0
    done: int = 0
    late: int = 0
    is_due: bool = False  # the due date has passed

    @property
    def state(self) -> str:
        """none | done | late | missing | pending"""
        if not self.expected:
            return "none"
        if self.done >= self.expected:
            return "late" if self.late else "done"
        return "missing" if self.is_due else "pending"

    @property
    def outstanding(self) -> int:
        return max(0, self.expected - self.done)


@dataclass
class Row:
    """One agency in charge of one commune during the period."""

    agency: Agency
    commune: AdminUnit
    assignments: list[Assignment]
    months: list[MonthCell]
    tally: Tally = field(default_factory=Tally)

    @property
    def district(self) -> AdminUnit | None:
        parent = self.commune.parent
        return parent if parent is not None and parent.level == AdminUnit.Level.DISTRICT else None

    @property
    def is_lead(self) -> bool:
        return any(a.role == "lead" for a in self.assignments)


@dataclass
class Completeness:
    period: Period
    months: list[Month]
    rows: list[Row]
    by_agency: list[tuple[Agency, Tally]]
    by_commune: list[tuple[AdminUnit, Tally]]
    total: Tally
    today: date


def period_months(period: Period) -> list[Month]:
    return [Month.of(month) for month in period.months]


def _assignments(
    scope: Scope, first: date, last: date, *, agency_id: int | None, district_id: int | None
) -> list[Assignment]:
    """Assignments whose term shares a day with [first, last], limited to the user's scope."""
    assignments = Assignment.objects.filter(
        Q(start_date__lte=last), Q(end_date__isnull=True) | Q(end_date__gte=first)
    )
    if not scope.is_province:
        assignments = assignments.filter(
            Q(agency_id__in=scope.agency_ids) | Q(commune_id__in=scope.commune_ids)
        )
    if agency_id:
        assignments = assignments.filter(agency_id=agency_id)
    if district_id:
        assignments = assignments.filter(commune__parent_id=district_id)
    return list(
        assignments.select_related("agency", "commune", "commune__parent").order_by(
            "commune__parent__name", "commune__name", "agency__name", "start_date"
        )
    )


def _meetings_required(commune_ids: list[int], months: list[Month]) -> dict[tuple[int, date], int]:
    """N per (commune, month) from the designations; see the module docstring."""
    if not months:
        return {}
    first, last = months[0].first_day, months[-1].due
    fallback = Programme.objects.aggregate(n=Max("cell_meetings_per_month"))["n"]
    fallback = 1 if fallback is None else fallback
    designations = Designation.objects.filter(
        Q(valid_from__lte=last),
        Q(valid_until__isnull=True) | Q(valid_until__gte=first),
        commune_id__in=commune_ids,
    ).values_list("commune_id", "valid_from", "valid_until", "programme__cell_meetings_per_month")
    required: dict[tuple[int, date], int] = {}
    for commune_id, valid_from, valid_until, n in designations:
        for month in months:
            if valid_from <= month.due and (valid_until is None or valid_until >= month.first_day):
                key = (commune_id, month.month)
                required[key] = max(required.get(key, 0), n)
    return defaultdict(lambda: fallback, required)


def _done(
    agency_ids: list[int], commune_ids: list[int], months: list[Month]
) -> dict[tuple[int, int, date], int]:
    rows = VisitRollup.objects.filter(
        kind=CELL_MEETING,
        month__in=[m.month for m in months],
        agency_id__in=agency_ids,
        commune_id__in=commune_ids,
    ).values_list("agency_id", "commune_id", "month", "count")
    return {(a, c, m): n for a, c, m, n in rows}


LATE_SQL = """
    WITH months AS (
        SELECT * FROM unnest(%s::date[], %s::date[], %s::date[], %s::timestamptz[])
            AS t(month, first_day, last_day, late_from)
    )
    SELECT v.agency_id, v.commune_id, m.month, COUNT(*)
    FROM programme_visit v
    JOIN months m ON v.date BETWEEN m.first_day AND m.last_day
    WHERE v.kind = %s
      AND v.created_at >= m.late_from
      AND v.agency_id = ANY(%s::bigint[])
      AND v.commune_id = ANY(%s::bigint[])
    GROUP BY 1, 2, 3
"""


def _late(
    agency_ids: list[int], commune_ids: list[int], months: list[Month]
) -> dict[tuple[int, int, date], int]:
    """Cell-meeting visits recorded after the grace period, from the raw visits (one query)."""
    if not months:
        return {}
    params = [
        [m.month for m in months],
        [m.first_day for m in months],
        [m.due for m in months],
        [m.late_from for m in months],
        CELL_MEETING,
        agency_ids,
        commune_ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(LATE_SQL, params)
        return {(a, c, m): n for a, c, m, n in cursor.fetchall()}


def _plans(commune_ids: list[int], months: list[Month]) -> dict[tuple[int, date], tuple[int, int]]:
    rows = (
        PlanItemRollup.objects.filter(
            month__in=[m.month for m in months], commune_id__in=commune_ids
        )
        .values("commune_id", "month")
        .annotate(due=Sum("due"), done=Sum("done"))
        .order_by()
    )
    return {(r["commune_id"], r["month"]): (r["due"], r["done"]) for r in rows}


def _plan_tally(commune_id: int, months: list[Month], plans, today: date) -> Tally:
    tally = Tally()
    for month in months:
        due, done = plans.get((commune_id, month.month), (0, 0))
        outstanding = max(0, due - done)
        tally.plan_due += due
        tally.plan_done += min(done, due)
        if month.due < today:
            tally.plan_missing += outstanding
        else:
            tally.plan_pending += outstanding
    return tally


def completeness(
    period: Period,
    *,
    scope: Scope,
    agency_id: int | None = None,
    district_id: int | None = None,
    today: date | None = None,
) -> Completeness:
    """The completeness of a period for the rows the scope may see (see the module docstring),
    always of the latest data (reminders are sent from it)."""
    return completeness_kept(
        period,
        scope=scope,
        agency_id=agency_id,
        district_id=district_id,
        today=today,
        allow_stale=False,
    ).value


def completeness_kept(
    period: Period,
    *,
    scope: Scope,
    agency_id: int | None = None,
    district_id: int | None = None,
    today: date | None = None,
    allow_stale: bool = True,
) -> figures_cache.Kept:
    """`completeness` kept while the data behind it is unchanged, with when it was computed
    (reports.figures_cache; the page may show slightly older figures, saying so).

    Province staff see every assignment; an agency liaison, their agency's; a commune officer,
    their commune's. Six queries, whatever the number of rows.
    """
    today = today or timezone.localdate()
    key = (
        "completeness",
        period,
        scope.is_province,
        scope.agency_ids,
        scope.commune_ids,
        agency_id,
        district_id,
        today,
        grace_days(),
    )
    return figures_cache.kept(
        key,
        lambda: _compute(
            period, scope=scope, agency_id=agency_id, district_id=district_id, today=today
        ),
        allow_stale=allow_stale,
    )


def _compute(
    period: Period, *, scope: Scope, agency_id: int | None, district_id: int | None, today: date
) -> Completeness:
    months = period_months(period)
    started = [m for m in months if m.first_day <= today]
    assignments = _assignments(
        scope,
        months[0].first_day,
        months[-1].due,
        agency_id=agency_id,
        district_id=district_id,
    )
    pairs: dict[tuple[int, int], list[Assignment]] = {}
    for assignment in assignments:
        pairs.setdefault((assignment.agency_id, assignment.commune_id), []).append(assignment)
    agency_ids = sorted({a for a, _c in pairs})
    commune_ids = sorted({c for _a, c in pairs})
    required = _meetings_required(commune_ids, started)
    done = _done(agency_ids, commune_ids, started) if pairs else {}
    late = _late(agency_ids, commune_ids, started) if pairs else {}
    plans = _plans(commune_ids, months) if pairs else {}

    rows: list[Row] = []
    for (agency_id_, commune_id), terms in pairs.items():
        row = Row(agency=terms[0].agency, commune=terms[0].commune, assignments=terms, months=[])
        for month in months:
            cell = MonthCell(month=month.month, due=month.due, is_due=month.due < today)
            active = any(
                t.start_date <= month.due and (t.end_date is None or t.end_date >= month.first_day)
                for t in terms
            )
            if active and month.first_day <= today:
                cell.expected = required[(commune_id, month.month)]
                key = (agency_id_, commune_id, month.month)
                recorded = done.get(key, 0)
                recorded_late = min(late.get(key, 0), recorded)
                cell.done = min(recorded, cell.expected)
                cell.late = cell.done - min(recorded - recorded_late, cell.expected)
                row.tally.expected += cell.expected
                row.tally.done += cell.done
                row.tally.late += cell.late
                if cell.is_due:
                    row.tally.missing += cell.outstanding
                else:
                    row.tally.pending += cell.outstanding
            row.months.append(cell)
        row.tally.add(_plan_tally(commune_id, months, plans, today), visits=False)
        rows.append(row)

    by_agency: dict[int, tuple[Agency, Tally]] = {}
    by_commune: dict[int, tuple[AdminUnit, Tally]] = {}
    total = Tally()
    for row in rows:
        agency_tally = by_agency.setdefault(row.agency.pk, (row.agency, Tally()))[1]
        agency_tally.add(row.tally)
        commune_entry = by_commune.get(row.commune.pk)
        if commune_entry is None:
            commune_entry = by_commune[row.commune.pk] = (row.commune, Tally())
            commune_entry[1].add(row.tally, visits=False)
            total.add(row.tally, visits=False)
        commune_entry[1].add(row.tally, plans=False)
        total.add(row.tally, plans=False)

    return Completeness(
        period=period,
        months=months,
        rows=rows,
        by_agency=sorted(by_agency.values(), key=lambda item: item[0].name),
        by_commune=sorted(by_commune.values(), key=lambda item: item[0].name),
        total=total,
        today=today,
    )
