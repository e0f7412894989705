"""Reads for the province dashboard: rollup tables and small reference tables, nothing else.

Every figure is a sum over the reports_* rollup rows (one row per reporting month × commune ×
key) or a read of a reference table (units, successions, designations, NTM recognitions). The
number of queries and their cost follow the number of communes and months, never the number of
visits, difficulties or contributions behind them.

Each figure comes in three columns: the chosen period, the same period last year, and the
cumulative total from the programme's first reporting month to the end of the chosen period.

Places: figures are grouped "as recorded" (the unit on the record, with the district it had) or
"by today's units" (each unit followed through its default successions to the unit valid now).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import DecimalField, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear
from django.urls import reverse
from django.utils.text import capfirst

from communes.models import AdminUnit, Designation, NtmLevel, NtmRecognition, Succession
from communes.text import fold
from partners.models import Assignment, Role
from programme.models import Area, Contribution, Visit
from programme.periods import Period, reporting_month
from reports import figures_cache
from reports.models import ContributionRollup, DifficultyRollup, OpenDifficulties, VisitRollup


def _reduce_by_fields(self):
    """Pickle a dataclass as its constructor's arguments: the worker's dashboard is read back by
    every web process, and dataclasses' own frozen/slots state restore is three times slower."""
    return type(self), tuple(getattr(self, name) for name in self.__dataclass_fields__)


RECORDED = "recorded"
TODAY = "today"
PLACE_MODES = (RECORDED, TODAY)

# Support counts delivered contributions (as the period reports do); pledges stand apart.
DELIVERED = Contribution.Status.DELIVERED
NTM_LEVELS = (NtmLevel.STANDARD, NtmLevel.ADVANCED, NtmLevel.MODEL)
# How long the successions map is kept; its cache key also changes with any edit of units or
# successions (their history tables), so this only bounds edits made around the ORM.
CURRENT_UNITS_SECONDS = 60 * 60

# Map colours by the share of months with the expected Party-cell meetings.
COLOUR_GOOD = "#198754"
COLOUR_PARTIAL = "#fd7e14"
COLOUR_POOR = "#dc3545"
COLOUR_NONE = "#6c757d"


def completeness_colour(share: Decimal | None) -> str:
    if share is None:
        return COLOUR_NONE
    if share >= Decimal("0.9"):
        return COLOUR_GOOD
    if share >= Decimal("0.5"):
        return COLOUR_PARTIAL
    return COLOUR_POOR


# --- Periods ------------------------------------------------------------------------------------


def _month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def _month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def period_shift(period: Period, steps: int) -> Period:
    """The period `steps` periods later (earlier when negative), of the same kind."""
    per_year = 12 // Period.MONTHS[period.kind]
    index = period.year * per_year + period.number - 1 + steps
    return Period(period.kind, index // per_year, index % per_year + 1)


@dataclass(frozen=True)
class Windows:
    """The reporting months of the three columns."""

    period: Period
    start: date  # the programme's first reporting month

    @property
    def current(self) -> tuple[date, date]:
        return self.period.first_month, self.period.last_month

    @property
    def last_year(self) -> tuple[date, date]:
        previous = self.period.same_period_last_year()
        return previous.first_month, previous.last_month

    @property
    def cumulative(self) -> tuple[date, date]:
        return self.start, self.period.last_month

    @property
    def all(self) -> tuple[date, date]:
        """Every month any column needs."""
        return min(self.start, self.last_year[0]), self.period.last_month


def programme_start() -> date:
    """The first day a record may carry: cumulative figures count from its reporting month."""
    return settings.PROGRAMME_START_DATE


# --- Three columns ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trio:
    """A figure for the period, the same period last year, and cumulatively."""

    __reduce__ = _reduce_by_fields

    period: Decimal | int = 0
    last_year: Decimal | int = 0
    cumulative: Decimal | int = 0

    def __add__(self, other: Trio) -> Trio:
        return Trio(
            self.period + other.period,
            self.last_year + other.last_year,
            self.cumulative + other.cumulative,
        )

    @property
    def change(self) -> Decimal | None:
        """Percent change on the same period last year; None when last year was nothing."""
        if not self.last_year:
            return None
        return (Decimal(self.period) - Decimal(self.last_year)) * 100 / Decimal(self.last_year)


def _sums(windows: Windows, column: str, prefix: str = "", *, money: bool = False) -> dict:
    """Sum(column) over each column's months, 0 when there is nothing."""
    if money:
        zero = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=0))
    else:
        zero = Value(0, output_field=IntegerField())
    return {
        f"{prefix}{name}": Coalesce(Sum(column, filter=Q(month__range=months)), zero)
        for name, months in (
            ("period", windows.current),
            ("last_year", windows.last_year),
            ("cumulative", windows.cumulative),
        )
    }


def _trio(row: dict, prefix: str = "") -> Trio:
    return Trio(row[f"{prefix}period"], row[f"{prefix}last_year"], row[f"{prefix}cumulative"])


# --- Places: as recorded or by today's units ----------------------------------------------------


def _reference_stamp() -> tuple:
    """Changes whenever a unit or a succession is saved or deleted through the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT max(history_id) FROM communes_historicalsuccession), "
            "(SELECT max(history_id) FROM communes_historicaladminunit)"
        )
        return cursor.fetchone()


def _follow_successions() -> dict[int, int]:
    edges: dict[int, int] = {}
    rows = (
        Succession.objects.filter(is_default=True, predecessor__valid_until__isnull=False)
        .order_by("effective_date", "pk")
        .values_list("predecessor_id", "successor_id")
    )
    for predecessor, successor in rows:
        edges[predecessor] = successor  # the latest default succession wins
    current: dict[int, int] = {}
    for start in edges:
        unit, seen = start, {start}
        while unit in edges and edges[unit] not in seen:
            unit = edges[unit]
            seen.add(unit)
        current[start] = unit
    return current


def current_units() -> dict[int, int]:
    """Unit id → the unit valid now that took over its records, for every unit that ended.

    Follows the default successions (`is_default`) until a unit that did not end, or whose
    successor nobody recorded. Units missing from the map are their own current unit.
    """
    key = "reports:current-units:{}:{}".format(*_reference_stamp())
    mapping = cache.get(key)
    if mapping is None:
        mapping = _follow_successions()
        cache.set(key, mapping, CURRENT_UNITS_SECONDS)
    return mapping


@dataclass
class Places:
    """Where a unit's figures go: itself (as recorded) or its current unit (today's units)."""

    mode: str
    current: dict[int, int] = field(default_factory=dict)

    def of(self, unit_id: int) -> int:
        return self.current.get(unit_id, unit_id) if self.mode == TODAY else unit_id

    def members(self, place_ids: Iterable[int]) -> dict[int, int]:
        """Every unit whose figures go to one of `place_ids` → that place."""
        places = set(place_ids)
        found = {place: place for place in places}
        if self.mode == TODAY:
            found.update((unit, place) for unit, place in self.current.items() if place in places)
        return found


def places_for(mode: str) -> Places:
    return Places(TODAY, current_units()) if mode == TODAY else Places(RECORDED)


# --- Support (contributions) --------------------------------------------------------------------


@dataclass
class Support:
    """Delivered support; pledges that are not delivered yet are counted apart."""

    total: Trio
    count: Trio
    pledged: Trio
    by_area: list[tuple[str, str, Trio]]  # (code, label, figures)
    by_form: list[tuple[str, str, Trio]]


def support_figures(windows: Windows) -> Support:
    rows = (
        ContributionRollup.objects.filter(month__range=windows.all)
        .values("area", "form", "status")
        .annotate(**_sums(windows, "total_value", money=True), **_sums(windows, "count", "n_"))
        .order_by()
    )
    return _support_from_rows(rows)


def _support_from_rows(rows: Iterable[dict]) -> Support:
    """Support from rows of (area, form, status) with the three columns of value and count."""
    total, count, pledged = Trio(), Trio(), Trio()
    areas: dict[str, Trio] = defaultdict(Trio)
    forms: dict[str, Trio] = defaultdict(Trio)
    for row in rows:
        figures = _trio(row)
        if row["status"] != DELIVERED:
            pledged += figures
            continue
        total += figures
        count += _trio(row, "n_")
        areas[row["area"]] += figures
        forms[row["form"]] += figures
    return Support(
        total=total,
        count=count,
        pledged=pledged,
        by_area=[(code, str(label), areas[code]) for code, label in Area.choices],
        by_form=[(code, str(label), forms[code]) for code, label in Contribution.Form.choices],
    )


def support_by_quarter(year: int) -> dict:
    """Support of each area in each quarter of `year`: chart data in whole đồng."""
    rows = (
        ContributionRollup.objects.filter(
            month__range=(date(year, 1, 1), date(year, 12, 1)), status=DELIVERED
        )
        .values("month", "area")
        .annotate(total=Sum("total_value"))
        .order_by()
    )
    return _quarters_from_rows(year, rows)


def _quarters_from_rows(year: int, rows: Iterable[dict]) -> dict:
    """Chart data from delivered support per (month, area) of `year`."""
    values: dict[str, list[int]] = {code: [0, 0, 0, 0] for code in Area.values}
    for row in rows:
        if row["area"] in values:
            values[row["area"]][(row["month"].month - 1) // 3] += int(row["total"])
    return {
        "labels": [f"Q{number}/{year}" for number in range(1, 5)],
        "datasets": [
            {"key": code, "label": capfirst(str(label)), "data": values[code]}
            for code, label in Area.choices
        ],
    }


def support_by_year(start: date, last_year: int) -> dict:
    """Total support of each year from the programme's first year to `last_year`."""
    rows = (
        ContributionRollup.objects.filter(
            month__range=(start, date(last_year, 12, 1)), status=DELIVERED
        )
        .annotate(year=ExtractYear("month"))
        .values("year")
        .annotate(total=Sum("total_value"))
        .order_by()
    )
    return _years_from_totals(start, last_year, {row["year"]: int(row["total"]) for row in rows})


def _years_from_totals(start: date, last_year: int, totals: dict[int, int]) -> dict:
    years = list(range(start.year, last_year + 1))
    return {"labels": [str(year) for year in years], "data": [totals.get(y, 0) for y in years]}


def support_by_commune(windows: Windows) -> dict[int, Trio]:
    rows = (
        ContributionRollup.objects.filter(month__range=windows.all, status=DELIVERED)
        .values("commune_id")
        .annotate(**_sums(windows, "total_value", money=True))
        .order_by()
    )
    return {row["commune_id"]: _trio(row) for row in rows}


# No month or year: the bounds of an empty range (BETWEEN is false for every value).
NO_MONTHS = (date(2999, 12, 1), date(1900, 1, 1))
NO_YEARS = (9999, 0)


def split_by_years(first: date, last: date) -> tuple[tuple[int, int], list[tuple[date, date]]]:
    """Months `first`…`last` as the whole calendar years among them (first year, last year;
    NO_YEARS when none) and the ranges of months left over (at most two: before and after)."""
    whole_first = first.year if first.month == 1 else first.year + 1
    whole_last = last.year if last.month == 12 else last.year - 1
    if whole_first > whole_last:
        return NO_YEARS, [(first, last)] if first <= last else []
    ranges = []
    if first.year < whole_first:
        ranges.append((first, date(first.year, 12, 1)))
    if last.year > whole_last:
        ranges.append((date(last.year, 1, 1), last))
    return (whole_first, whole_last), ranges


# Every contribution figure of the dashboard in one query. Totals, kinds and charts come from
# the national monthly summary (a few thousand rows); the support of each commune from whole
# years of the yearly summary plus the months of partial years from the rollup itself (both
# summaries are kept by triggers, migrations reports/0007–0008).
SUPPORT_SQL = """
    SELECT 'commune', commune_id, NULL, NULL, NULL, NULL::date, NULL::int,
           SUM(period), SUM(last_year), SUM(cumulative), 0, 0, 0
    FROM (
        SELECT commune_id,
               COALESCE(SUM(total_value) FILTER (WHERE {p_months}), 0) AS period,
               COALESCE(SUM(total_value) FILTER (WHERE {l_months}), 0) AS last_year,
               COALESCE(SUM(total_value) FILTER (WHERE {c_months}), 0) AS cumulative
        FROM reports_contributionrollup
        WHERE status = %(delivered)s AND ({p_months} OR {l_months} OR {c_months})
        GROUP BY commune_id
        UNION ALL
        SELECT commune_id,
               COALESCE(SUM(total_value) FILTER (WHERE {p_years}), 0),
               COALESCE(SUM(total_value) FILTER (WHERE {l_years}), 0),
               COALESCE(SUM(total_value) FILTER (WHERE {c_years}), 0)
        FROM reports_deliveredbycommuneyear
        WHERE {p_years} OR {l_years} OR {c_years}
        GROUP BY commune_id
    ) AS parts
    GROUP BY commune_id
    UNION ALL
    SELECT 'kind', NULL, area, form, status, NULL, NULL,
           COALESCE(SUM(total_value) FILTER (WHERE month BETWEEN %(p_first)s AND %(p_last)s), 0),
           COALESCE(SUM(total_value) FILTER (WHERE month BETWEEN %(l_first)s AND %(l_last)s), 0),
           COALESCE(SUM(total_value) FILTER (WHERE month BETWEEN %(c_first)s AND %(c_last)s), 0),
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(p_first)s AND %(p_last)s), 0),
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(l_first)s AND %(l_last)s), 0),
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(c_first)s AND %(c_last)s), 0)
    FROM reports_supportbymonth
    WHERE month BETWEEN %(all_first)s AND %(all_last)s
    GROUP BY area, form, status
    UNION ALL
    SELECT 'month', NULL, area, NULL, NULL, month, NULL, SUM(total_value), 0, 0, 0, 0, 0
    FROM reports_supportbymonth
    WHERE month BETWEEN %(year_first)s AND %(year_last)s AND status = %(delivered)s
    GROUP BY month, area
    UNION ALL
    SELECT 'year', NULL, NULL, NULL, NULL, NULL, EXTRACT(YEAR FROM month)::int,
           SUM(total_value), 0, 0, 0, 0, 0
    FROM reports_supportbymonth
    WHERE month BETWEEN %(start)s AND %(year_last)s AND status = %(delivered)s
    GROUP BY EXTRACT(YEAR FROM month)::int
"""


def _support_sql(windows: Windows) -> tuple[str, dict]:
    """SUPPORT_SQL with each column's months split into whole years and months, and its
    parameters."""
    params: dict = {}
    conditions = {}
    for name, (first, last) in (
        ("p", windows.current),
        ("l", windows.last_year),
        ("c", windows.cumulative),
    ):
        years, ranges = split_by_years(first, last)
        params[f"{name}_y_first"], params[f"{name}_y_last"] = years
        conditions[f"{name}_years"] = f"year BETWEEN %({name}_y_first)s AND %({name}_y_last)s"
        tests = []
        for index, (low, high) in enumerate(ranges or [NO_MONTHS]):
            params[f"{name}_m{index}_first"], params[f"{name}_m{index}_last"] = low, high
            tests.append(f"month BETWEEN %({name}_m{index}_first)s AND %({name}_m{index}_last)s")
        conditions[f"{name}_months"] = f"({' OR '.join(tests)})"
    return SUPPORT_SQL.format(**conditions), params


def support_all(windows: Windows) -> tuple[Support, dict[int, Trio], dict, dict]:
    """support_figures, support_by_commune, support_by_quarter and support_by_year of the
    dashboard's period, from one query."""
    year, start = windows.period.year, windows.start
    sql, params = _support_sql(windows)
    params |= {
        "delivered": DELIVERED,
        "start": start,
        "year_first": date(year, 1, 1),
        "year_last": date(year, 12, 1),
        "all_first": windows.all[0],
        "all_last": windows.all[1],
        "p_first": windows.current[0],
        "p_last": windows.current[1],
        "l_first": windows.last_year[0],
        "l_last": windows.last_year[1],
        "c_first": windows.cumulative[0],
        "c_last": windows.cumulative[1],
    }
    kinds: list[dict] = []
    by_commune: dict[int, Trio] = {}
    months: list[dict] = []
    years: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for tag, commune, area, form, status, month, row_year, *sums in cursor.fetchall():
            money, counts = sums[:3], [int(n) for n in sums[3:]]
            if tag == "commune":
                by_commune[commune] = Trio(*money)
            elif tag == "kind":
                kinds.append(
                    {
                        "area": area,
                        "form": form,
                        "status": status,
                        **dict(zip(("period", "last_year", "cumulative"), money, strict=True)),
                        **dict(
                            zip(("n_period", "n_last_year", "n_cumulative"), counts, strict=True)
                        ),
                    }
                )
            elif tag == "month":
                months.append({"month": month, "area": area, "total": money[0]})
            else:
                years[row_year] = int(money[0])
    return (
        _support_from_rows(kinds),
        by_commune,
        _quarters_from_rows(year, months),
        _years_from_totals(start, year, years),
    )


# --- Visits, completeness -----------------------------------------------------------------------


def visits_by_kind(windows: Windows) -> list[tuple[str, str, Trio]]:
    rows = (
        VisitRollup.objects.filter(month__range=windows.all)
        .values("kind")
        .annotate(**_sums(windows, "count"))
        .order_by()
    )
    kinds = {row["kind"]: _trio(row) for row in rows}
    return [(code, str(label), kinds.get(code, Trio())) for code, label in Visit.Kind.choices]


def visits_by_commune(windows: Windows) -> dict[int, Trio]:
    rows = (
        VisitRollup.objects.filter(month__range=windows.all)
        .values("commune_id")
        .annotate(**_sums(windows, "count"))
        .order_by()
    )
    return {row["commune_id"]: _trio(row) for row in rows}


VISITS_SQL = """
    SELECT GROUPING(commune_id) = 0, commune_id, kind,
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(p_first)s AND %(p_last)s), 0),
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(l_first)s AND %(l_last)s), 0),
           COALESCE(SUM(count) FILTER (WHERE month BETWEEN %(c_first)s AND %(c_last)s), 0)
    FROM reports_visitrollup
    WHERE month BETWEEN %(first)s AND %(last)s
    GROUP BY GROUPING SETS ((commune_id), (kind))
"""


def visits_all(windows: Windows) -> tuple[list[tuple[str, str, Trio]], dict[int, Trio]]:
    """visits_by_kind and visits_by_commune from one query."""
    params = {
        "first": windows.all[0],
        "last": windows.all[1],
        "p_first": windows.current[0],
        "p_last": windows.current[1],
        "l_first": windows.last_year[0],
        "l_last": windows.last_year[1],
        "c_first": windows.cumulative[0],
        "c_last": windows.cumulative[1],
    }
    kinds: dict[str, Trio] = {}
    by_commune: dict[int, Trio] = {}
    with connection.cursor() as cursor:
        cursor.execute(VISITS_SQL, params)
        for is_commune, commune, kind, period, last_year, cumulative in cursor.fetchall():
            if is_commune:
                by_commune[commune] = Trio(period, last_year, cumulative)
            else:
                kinds[kind] = Trio(period, last_year, cumulative)
    by_kind = [(code, str(label), kinds.get(code, Trio())) for code, label in Visit.Kind.choices]
    return by_kind, by_commune


@dataclass(frozen=True, slots=True)
class Completeness:
    """Months with the expected Party-cell meetings, out of the months they were expected."""

    __reduce__ = _reduce_by_fields

    met: Trio
    expected: Trio

    @staticmethod
    def share(met, expected) -> Decimal | None:
        return Decimal(met) / Decimal(expected) if expected else None

    @property
    def period(self) -> Decimal | None:
        return self.share(self.met.period, self.expected.period)

    @property
    def last_year(self) -> Decimal | None:
        return self.share(self.met.last_year, self.expected.last_year)

    @property
    def cumulative(self) -> Decimal | None:
        return self.share(self.met.cumulative, self.expected.cumulative)

    @property
    def percent(self) -> dict[str, int | None]:
        """Whole percents of the three columns, None where no month was due."""
        return {
            name: None
            if share is None
            else int((share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for name, share in (
                ("period", self.period),
                ("last_year", self.last_year),
                ("cumulative", self.cumulative),
            )
        }

    def __add__(self, other: Completeness) -> Completeness:
        return Completeness(self.met + other.met, self.expected + other.expected)


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of month-index intervals (first, last), as sorted disjoint intervals."""
    merged: list[list[int]] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(first, last) for first, last in merged]


def _overlap(first: int, last: int, window: tuple[date, date]) -> int:
    low, high = max(first, _month_index(window[0])), min(last, _month_index(window[1]))
    return max(0, high - low + 1)


# Months in which a place had the Party-cell meetings expected of it, counted per column. The
# meetings of every unit of the place are summed month by month; a place made of several
# designated communes owes each commune's meetings.
COMPLETENESS_SQL = """
    WITH windows AS (
        SELECT * FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::int[])
            AS w(place_id, first_month, last_month, needed)
    ),
    members AS (
        SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS m(unit_id, place_id)
    ),
    monthly AS (
        SELECT m.place_id, v.month, SUM(v.count) AS meetings
        FROM reports_visitrollup v JOIN members m ON m.unit_id = v.commune_id
        WHERE v.kind = 'cell_meeting' AND v.month BETWEEN %s AND %s
        GROUP BY m.place_id, v.month
    ),
    due AS (
        SELECT mo.place_id, mo.month, mo.meetings, SUM(w.needed) AS needed
        FROM monthly mo
        JOIN windows w ON w.place_id = mo.place_id
         AND mo.month BETWEEN w.first_month AND w.last_month
        GROUP BY mo.place_id, mo.month, mo.meetings
    )
    SELECT place_id,
           COUNT(*) FILTER (WHERE month BETWEEN %s AND %s),
           COUNT(*) FILTER (WHERE month BETWEEN %s AND %s),
           COUNT(*) FILTER (WHERE month BETWEEN %s AND %s)
    FROM due WHERE meetings >= needed
    GROUP BY place_id
"""


def completeness_by_place(
    windows: Windows, designations: list[Term], places: Places, *, today: date
) -> dict[int, Completeness]:
    """Party-cell meeting completeness of each designated place, in the three columns.

    A month is due while the commune is designated, from the programme's first month to the
    current one (months still to come are not due yet). It is met when the commune had at
    least its programme's `cell_meetings_per_month` meetings.
    """
    cap = min(_month_index(reporting_month(today)), _month_index(windows.period.last_month))
    floor = _month_index(windows.start)
    # (place, designated commune) → month intervals and the meetings a month each needs
    terms: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    needs: dict[tuple[int, int], int] = defaultdict(int)
    for designation in designations:
        first = max(floor, _month_index(reporting_month(designation.valid_from)))
        last = cap
        if designation.valid_until:
            last = min(cap, _month_index(reporting_month(designation.valid_until)))
        if first <= last:
            key = (places.of(designation.commune_id), designation.commune_id)
            terms[key].append((first, last))
            needs[key] = max(needs[key], designation.cell_meetings_per_month, 1)
    windows_rows = [
        (place, first, last, needs[place, commune])
        for (place, commune), spans in terms.items()
        for first, last in _merge(spans)
    ]
    due: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for place, first, last, _needed in windows_rows:
        due[place].append((first, last))
    result = {}
    for place, spans in due.items():
        months = _merge(spans)
        expected = Trio(
            sum(_overlap(a, b, windows.current) for a, b in months),
            sum(_overlap(a, b, windows.last_year) for a, b in months),
            sum(_overlap(a, b, windows.cumulative) for a, b in months),
        )
        result[place] = Completeness(met=Trio(), expected=expected)
    if not result:
        return result
    members = places.members(result)
    params = [
        [row[0] for row in windows_rows],
        [_month_of(row[1]) for row in windows_rows],
        [_month_of(row[2]) for row in windows_rows],
        [row[3] for row in windows_rows],
        list(members),
        list(members.values()),
        *windows.all,
        *windows.current,
        *windows.last_year,
        *windows.cumulative,
    ]
    with connection.cursor() as cursor:
        cursor.execute(COMPLETENESS_SQL, params)
        for place, period, last_year, cumulative in cursor.fetchall():
            result[place] = Completeness(
                Trio(period, last_year, cumulative), result[place].expected
            )
    return result


# --- Difficulties -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenNow:
    count: int
    median_raised_on: date | None

    __reduce__ = _reduce_by_fields

    def median_age(self, today: date) -> int | None:
        return (today - self.median_raised_on).days if self.median_raised_on else None


def weighted_median_day(rows: Iterable[tuple[date, int]]) -> date | None:
    """The median of per-commune median days, each weighted by its number of open difficulties.

    The rollup keeps one median per commune, so this is the closest figure it can give to the
    median over every open difficulty (exact when a single commune has them all).
    """
    ordered = sorted((day, weight) for day, weight in rows if day and weight)
    total = sum(weight for _day, weight in ordered)
    running = 0
    for day, weight in ordered:
        running += weight
        if running * 2 >= total:
            return day
    return None


def difficulty_figures(windows: Windows) -> dict[str, Trio]:
    row = DifficultyRollup.objects.filter(month__range=windows.all).aggregate(
        **_sums(windows, "raised", "raised_"), **_sums(windows, "resolved", "resolved_")
    )
    return {"raised": _trio(row, "raised_"), "resolved": _trio(row, "resolved_")}


def open_difficulties() -> dict[int, OpenNow]:
    rows = OpenDifficulties.objects.filter(open_count__gt=0).values_list(
        "commune_id", "open_count", "median_raised_on"
    )
    return {commune: OpenNow(count, median) for commune, count, median in rows}


def combine_open(items: Iterable[OpenNow]) -> OpenNow:
    items = list(items)
    return OpenNow(
        sum(item.count for item in items),
        weighted_median_day((item.median_raised_on, item.count) for item in items),
    )


# --- NTM ----------------------------------------------------------------------------------------


def _recognised_on(year: int, recognised_on: date | None) -> date:
    """Undated decisions count from the last day of their reporting year."""
    return recognised_on or Period("year", year).days()[1]


def ntm_by_place(
    period: Period, place_ids: Iterable[int], places: Places
) -> tuple[dict[str, Trio], dict[int, str]]:
    """Designated places reaching each NTM level: in the period, the same period last year and
    by the end of the period; and the highest level each place had reached by then."""
    members = places.members(place_ids)
    start, end = period.days()
    last_start, last_end = period.same_period_last_year().days()
    reached: dict[str, dict[str, set[int]]] = {
        level: {"period": set(), "last_year": set(), "cumulative": set()} for level in NTM_LEVELS
    }
    rows = (
        NtmRecognition.objects.filter(commune_id__any=members)
        .order_by()
        .values_list("commune_id", "level", "year", "recognised_on")
    )
    for commune_id, level, year, recognised_on in rows:
        if level not in reached:
            continue
        day, place = _recognised_on(year, recognised_on), members[commune_id]
        sets = reached[level]
        if start <= day <= end:
            sets["period"].add(place)
        if last_start <= day <= last_end:
            sets["last_year"].add(place)
        if day <= end:
            sets["cumulative"].add(place)
    counts = {
        level: Trio(len(s["period"]), len(s["last_year"]), len(s["cumulative"]))
        for level, s in reached.items()
    }
    highest: dict[int, str] = {}
    for level in NTM_LEVELS:  # from the lowest, so the highest level wins
        for place in reached[level]["cumulative"]:
            highest[place] = level
    return counts, highest


# --- The special communes -----------------------------------------------------------------------


class Term(NamedTuple):
    """What the dashboard needs of a designation (thousands of them: no model instances)."""

    commune_id: int
    valid_from: date
    valid_until: date | None
    cell_meetings_per_month: int


def designations_until(end: date) -> list[Term]:
    return [
        Term(*row)
        for row in Designation.objects.filter(valid_from__lte=end)
        .order_by("commune_id", "valid_from")
        .values_list(
            "commune_id", "valid_from", "valid_until", "programme__cell_meetings_per_month"
        )
    ]


@dataclass(frozen=True, slots=True)
class Unit:
    """What the dashboard keeps of a unit: each web process keeps the dashboards of several
    periods, each with thousands of rows at national scale, so not the model instance."""

    __reduce__ = _reduce_by_fields

    pk: int
    name: str
    full_name: str
    latitude: Decimal | None
    longitude: Decimal | None


def units_with_districts(unit_ids: Iterable[int]) -> tuple[dict[int, Unit], dict[int, str]]:
    """The dashboard's `Unit` of each unit, and the full name of the unit above it (one plain
    query: thousands of model instances cost a noticeable part of a second)."""
    units: dict[int, Unit] = {}
    districts: dict[int, str] = {}
    rows = (
        AdminUnit.objects.filter(pk__any=unit_ids)
        .order_by()
        .values_list("pk", "kind", "name", "latitude", "longitude", "parent__kind", "parent__name")
    )
    for pk, kind, name, latitude, longitude, parent_kind, parent_name in rows:
        units[pk] = Unit(pk, name, AdminUnit.full_name_of(kind, name), latitude, longitude)
        districts[pk] = (
            AdminUnit.full_name_of(parent_kind, parent_name) if parent_name is not None else ""
        )
    return units, districts


@dataclass(slots=True)
class CommuneRow:
    place: Unit
    url: str
    district: str
    members: list[Unit]  # the designated units whose figures are in this row
    agencies: list[str]
    support: Trio
    visits: Trio
    completeness: Completeness | None
    open: OpenNow
    median_age: int | None
    ntm_level: str
    ntm_label: str

    __reduce__ = _reduce_by_fields

    @property
    def completeness_percent(self) -> int | None:
        return self.completeness.percent["period"] if self.completeness else None

    @property
    def colour(self) -> str:
        return completeness_colour(self.completeness.period if self.completeness else None)

    def marker(self) -> dict | None:
        if self.place.latitude is None or self.place.longitude is None:
            return None
        return {
            "id": self.place.pk,
            "name": self.place.full_name,
            "district": self.district,
            "lat": float(self.place.latitude),
            "lon": float(self.place.longitude),
            "colour": self.colour,
            "completeness": self.completeness_percent,
            "url": self.url,
        }


@dataclass
class Dashboard:
    period: Period
    mode: str
    today: date
    start: date
    support: Support
    visits: list[tuple[str, str, Trio]]
    completeness: Completeness
    difficulties: dict[str, Trio]
    open_now: OpenNow
    median_age: int | None
    ntm: list[tuple[str, str, Trio]]
    communes: list[CommuneRow]
    charts: dict

    # Its fields only: the cached properties below are filled by requests while the worker's
    # copy may be pickled in another thread.
    __reduce__ = _reduce_by_fields

    # Computed once: a kept dashboard (reports.figures_cache) serves many requests.
    @cached_property
    def markers(self) -> list[dict]:
        return [m for m in (row.marker() for row in self.communes) if m]

    @cached_property
    def unplaced(self) -> list[CommuneRow]:
        return [row for row in self.communes if row.marker() is None]


def dashboard_kept(
    period: Period, *, mode: str = RECORDED, today: date, started_on: date | None = None
) -> figures_cache.Kept:
    """Every figure of the province dashboard for `period` (a `Dashboard`), kept while the
    data is unchanged, with when it was computed (reports.figures_cache)."""
    start = reporting_month(started_on or programme_start())
    arguments = {
        "kind": period.kind,
        "year": period.year,
        "number": period.number,
        "mode": mode,
        "today": today.isoformat(),
        "start": start.isoformat(),
    }
    return figures_cache.kept(
        ("dashboard", period, mode, today, start),
        lambda: _compute_dashboard(period, mode=mode, today=today, start=start),
        shared=figures_cache.Shared("dashboard", arguments),
    )


@figures_cache.recipe("dashboard")
def _dashboard_again(
    *, kind: str, year: int, number: int, mode: str, today: str, start: str
) -> Dashboard:
    """`_compute_dashboard` from the JSON arguments of `dashboard_kept` (the worker's refresh)."""
    return _compute_dashboard(
        Period(kind, year, number),
        mode=mode,
        today=date.fromisoformat(today),
        start=date.fromisoformat(start),
    )


def dashboard(
    period: Period, *, mode: str = RECORDED, today: date, started_on: date | None = None
) -> Dashboard:
    """The `Dashboard` of `dashboard_kept`."""
    return dashboard_kept(period, mode=mode, today=today, started_on=started_on).value


def _compute_dashboard(period: Period, *, mode: str, today: date, start: date) -> Dashboard:
    places = places_for(mode)
    windows = Windows(period, start)
    first_day, last_day = period.days()

    designations = designations_until(last_day)
    in_period = [d for d in designations if d.valid_until is None or d.valid_until >= first_day]
    place_ids = {places.of(d.commune_id) for d in in_period}
    member_of = places.members(place_ids)
    designated_units = {d.commune_id for d in in_period}

    support, by_commune, quarters, years = support_all(windows)
    visits_kinds, visits = visits_all(windows)
    open_by_commune = open_difficulties()
    completeness = completeness_by_place(windows, designations, places, today=today)
    # NTM counts take every commune designated by the end of the period.
    ntm_counts, ntm_highest = ntm_by_place(
        period, {places.of(d.commune_id) for d in designations}, places
    )

    # The units the page names (designated communes and their places) and, for the chart by
    # district, every place with support, designated or not: one plain query for them all.
    units, districts_of = units_with_districts(
        {*place_ids, *member_of, *(places.of(unit) for unit in by_commune)}
    )

    agency_day = min(last_day, today)
    agencies: dict[int, list[str]] = defaultdict(list)
    for assignment in (
        Assignment.objects.active_on(agency_day)
        .filter(commune_id__any=member_of, role=Role.LEAD)
        .select_related("agency")
        .order_by("agency__name")
    ):
        names = agencies[member_of[assignment.commune_id]]
        label = assignment.agency.short_name or assignment.agency.name
        if label not in names:
            names.append(label)

    support_by_place: dict[int, Trio] = defaultdict(Trio)
    visits_by_place: dict[int, Trio] = defaultdict(Trio)
    open_by_place: dict[int, list[OpenNow]] = defaultdict(list)
    for unit, figures in by_commune.items():
        support_by_place[places.of(unit)] += figures
    for unit, figures in visits.items():
        visits_by_place[places.of(unit)] += figures
    for unit, item in open_by_commune.items():
        open_by_place[places.of(unit)].append(item)

    # The designated units whose figures go to each place (other than the place itself).
    members_of: dict[int, list[Unit]] = defaultdict(list)
    for unit, target in member_of.items():
        if unit != target and unit in designated_units and unit in units:
            members_of[target].append(units[unit])

    ntm_labels = dict(NtmLevel.choices)
    # One reverse() for thousands of rows: the address of unit 0 with the id put in its place.
    url_head, _zero, url_tail = reverse("programme:commune_detail", args=[0]).rpartition("/0/")
    rows = []
    for place_id in place_ids:
        place = units.get(place_id)
        if place is None:
            continue
        open_now = combine_open(open_by_place.get(place_id, []))
        level = ntm_highest.get(place_id, "")
        rows.append(
            CommuneRow(
                place=place,
                url=f"{url_head}/{place_id}/{url_tail}",
                district=districts_of[place_id],
                members=sorted(
                    members_of.get(place_id, []),
                    key=lambda u: fold(u.name),
                ),
                agencies=agencies.get(place_id, []),
                support=support_by_place.get(place_id, Trio()),
                visits=visits_by_place.get(place_id, Trio()),
                completeness=completeness.get(place_id),
                open=open_now,
                median_age=open_now.median_age(today),
                ntm_level=level,
                ntm_label=str(ntm_labels[level]) if level else "",
            )
        )
    rows.sort(key=lambda row: (fold(row.district), fold(row.place.name)))

    # Support by district: the district of the recorded unit, or the unit above today's unit.
    by_district: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for unit, figures in by_commune.items():
        name = districts_of.get(places.of(unit)) or "—"
        by_district[name][0] += int(figures.period)
        by_district[name][1] += int(figures.last_year)
    districts = sorted(
        ((name, values) for name, values in by_district.items() if any(values)),
        key=lambda item: (-item[1][0], -item[1][1], fold(item[0])),
    )

    open_now = combine_open(open_by_commune.values())
    total_completeness = Completeness(Trio(), Trio())
    for item in completeness.values():
        total_completeness += item

    return Dashboard(
        period=period,
        mode=mode,
        today=today,
        start=start,
        support=support,
        visits=visits_kinds,
        completeness=total_completeness,
        difficulties=difficulty_figures(windows),
        open_now=open_now,
        median_age=open_now.median_age(today),
        ntm=[(level, str(ntm_labels[level]), ntm_counts[level]) for level in NTM_LEVELS],
        communes=rows,
        charts={
            "quarters": quarters,
            "districts": {
                "labels": [name for name, _values in districts],
                "period": [values[0] for _name, values in districts],
                "last_year": [values[1] for _name, values in districts],
            },
            "years": years,
        },
    )


def rollups_pending_since(seconds: int | None = None):
    """When the oldest pending rollup refresh was written, if it is older than `seconds`
    (ROLLUP_PENDING_NOTICE_SECONDS), else None.

    Refreshes normally leave the outbox within seconds; an old one means the worker or the
    broker is down and the figures are behind the records. One index read: the oldest row by
    primary key.
    """
    from datetime import timedelta

    from django.utils import timezone

    from programme.models import RollupOutbox

    if seconds is None:
        seconds = settings.ROLLUP_PENDING_NOTICE_SECONDS
    oldest = RollupOutbox.objects.order_by("pk").values_list("created_at", flat=True).first()
    if oldest is not None and oldest <= timezone.now() - timedelta(seconds=seconds):
        return oldest
    return None
