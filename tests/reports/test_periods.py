"""Reporting periods: calendar months or the Decree 09/2019/NĐ-CP calendar (15th → 14th)."""

import datetime

import pytest
from django.db import connection

from programme.periods import Period, reporting_month, reporting_month_sql

D = datetime.date


@pytest.mark.django_db
@pytest.mark.parametrize("decree_09", [False, True], ids=["calendar", "decree09"])
def test_reporting_month_sql_agrees_with_python_on_every_day_of_2024_to_2026(decree_09):
    expression = reporting_month_sql("day", decree_09=decree_09)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT day, {expression} FROM generate_series("
            "'2024-01-01'::date, '2026-12-31'::date, interval '1 day') AS g(ts), "
            "LATERAL (SELECT ts::date AS day) AS d ORDER BY day"
        )
        rows = cursor.fetchall()
    assert len(rows) == 366 + 365 + 365
    disagreements = [
        (day, month) for day, month in rows if month != reporting_month(day, decree_09=decree_09)
    ]
    assert disagreements == []


@pytest.mark.django_db
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Ho_Chi_Minh", "America/Los_Angeles"])
def test_reporting_month_sql_does_not_depend_on_the_session_time_zone(time_zone):
    days = [D(2025, 1, 1), D(2025, 1, 14), D(2025, 1, 15), D(2025, 12, 31), D(2024, 2, 29)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [time_zone])
        for decree_09 in (False, True):
            expression = reporting_month_sql("day", decree_09=decree_09)
            cursor.execute(f"SELECT day, {expression} FROM unnest(%s::date[]) AS t(day)", [days])
            for day, month in cursor.fetchall():
                assert month == reporting_month(day, decree_09=decree_09), (day, decree_09)


@pytest.mark.parametrize(
    ("day", "calendar", "decree09"),
    [
        (D(2025, 3, 1), D(2025, 3, 1), D(2025, 3, 1)),
        (D(2025, 3, 14), D(2025, 3, 1), D(2025, 3, 1)),
        (D(2025, 3, 15), D(2025, 3, 1), D(2025, 4, 1)),
        (D(2025, 3, 31), D(2025, 3, 1), D(2025, 4, 1)),
        (D(2025, 12, 14), D(2025, 12, 1), D(2025, 12, 1)),
        (D(2025, 12, 15), D(2025, 12, 1), D(2026, 1, 1)),
        (D(2025, 12, 31), D(2025, 12, 1), D(2026, 1, 1)),
        (D(2024, 1, 31), D(2024, 1, 1), D(2024, 2, 1)),
        (D(2024, 2, 29), D(2024, 2, 1), D(2024, 3, 1)),
    ],
)
def test_reporting_month_of_a_day(day, calendar, decree09):
    assert reporting_month(day, decree_09=False) == calendar
    assert reporting_month(day, decree_09=True) == decree09


def test_reporting_month_follows_the_setting(settings):
    settings.REPORTING_CALENDAR = "calendar"
    assert reporting_month(D(2025, 12, 20)) == D(2025, 12, 1)
    settings.REPORTING_CALENDAR = "decree09"
    assert reporting_month(D(2025, 12, 20)) == D(2026, 1, 1)


@pytest.mark.parametrize(
    ("period", "calendar", "decree09"),
    [
        (Period("month", 2026, 1), (D(2026, 1, 1), D(2026, 1, 31)), (D(2025, 12, 15), D(2026, 1, 14))),
        (Period("month", 2024, 2), (D(2024, 2, 1), D(2024, 2, 29)), (D(2024, 1, 15), D(2024, 2, 14))),
        (Period("month", 2025, 3), (D(2025, 3, 1), D(2025, 3, 31)), (D(2025, 2, 15), D(2025, 3, 14))),
        (Period("month", 2025, 12), (D(2025, 12, 1), D(2025, 12, 31)), (D(2025, 11, 15), D(2025, 12, 14))),
        (Period("quarter", 2026, 1), (D(2026, 1, 1), D(2026, 3, 31)), (D(2025, 12, 15), D(2026, 3, 14))),
        (Period("quarter", 2025, 2), (D(2025, 4, 1), D(2025, 6, 30)), (D(2025, 3, 15), D(2025, 6, 14))),
        (Period("quarter", 2025, 4), (D(2025, 10, 1), D(2025, 12, 31)), (D(2025, 9, 15), D(2025, 12, 14))),
        (Period("half", 2025, 1), (D(2025, 1, 1), D(2025, 6, 30)), (D(2024, 12, 15), D(2025, 6, 14))),
        (Period("half", 2025, 2), (D(2025, 7, 1), D(2025, 12, 31)), (D(2025, 6, 15), D(2025, 12, 14))),
        (Period("year", 2026), (D(2026, 1, 1), D(2026, 12, 31)), (D(2025, 12, 15), D(2026, 12, 14))),
        (Period("year", 2024), (D(2024, 1, 1), D(2024, 12, 31)), (D(2023, 12, 15), D(2024, 12, 14))),
    ],
)  # fmt: skip
def test_period_days_in_both_calendars(period, calendar, decree09):
    assert period.days(decree_09=False) == calendar
    assert period.days(decree_09=True) == decree09


@pytest.mark.parametrize("decree_09", [False, True], ids=["calendar", "decree09"])
@pytest.mark.parametrize("kind", ["month", "quarter", "half", "year"])
def test_periods_of_a_year_tile_it_without_gaps_or_overlaps(kind, decree_09):
    count = 12 // Period.MONTHS[kind]
    spans = [Period(kind, 2025, n).days(decree_09=decree_09) for n in range(1, count + 1)]
    assert spans[0][0] == Period("year", 2025).days(decree_09=decree_09)[0]
    assert spans[-1][1] == Period("year", 2025).days(decree_09=decree_09)[1]
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start == end + datetime.timedelta(days=1)


def test_period_months_are_its_reporting_months():
    assert Period("quarter", 2026, 1).months == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert Period("half", 2025, 2).first_month == D(2025, 7, 1)
    assert Period("half", 2025, 2).last_month == D(2025, 12, 1)
    assert len(Period("year", 2025).months) == 12


@pytest.mark.parametrize(
    ("kind", "day", "calendar", "decree09"),
    [
        ("month", D(2025, 12, 20), Period("month", 2025, 12), Period("month", 2026, 1)),
        ("month", D(2025, 12, 14), Period("month", 2025, 12), Period("month", 2025, 12)),
        ("quarter", D(2025, 12, 15), Period("quarter", 2025, 4), Period("quarter", 2026, 1)),
        ("quarter", D(2026, 3, 14), Period("quarter", 2026, 1), Period("quarter", 2026, 1)),
        ("quarter", D(2026, 3, 15), Period("quarter", 2026, 1), Period("quarter", 2026, 2)),
        ("half", D(2025, 6, 15), Period("half", 2025, 1), Period("half", 2025, 2)),
        ("half", D(2025, 6, 14), Period("half", 2025, 1), Period("half", 2025, 1)),
        ("year", D(2025, 12, 15), Period("year", 2025), Period("year", 2026)),
        ("year", D(2025, 12, 14), Period("year", 2025), Period("year", 2025)),
        ("year", D(2025, 1, 1), Period("year", 2025), Period("year", 2025)),
    ],
)
def test_period_containing_a_day(kind, day, calendar, decree09):
    assert Period.containing(kind, day, decree_09=False) == calendar
    assert Period.containing(kind, day, decree_09=True) == decree09


@pytest.mark.parametrize("decree_09", [False, True], ids=["calendar", "decree09"])
def test_period_containing_covers_exactly_its_days(decree_09):
    day = D(2024, 1, 1)
    while day <= D(2026, 12, 31):
        for kind in ("month", "quarter", "half", "year"):
            first, last = Period.containing(kind, day, decree_09=decree_09).days(
                decree_09=decree_09
            )
            assert first <= day <= last, (kind, day)
        day += datetime.timedelta(days=1)


def test_same_period_last_year():
    assert Period("quarter", 2026, 1).same_period_last_year() == Period("quarter", 2025, 1)
    assert Period("month", 2025, 2).same_period_last_year() == Period("month", 2024, 2)
    assert Period("year", 2026).same_period_last_year() == Period("year", 2025)
    assert Period("quarter", 2026, 1).same_period_last_year().days(decree_09=True) == (
        D(2024, 12, 15),
        D(2025, 3, 14),
    )
