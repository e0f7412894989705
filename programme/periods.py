"""Reporting periods. A month is either a calendar month or, under Decree 09/2019/NĐ-CP, the
days from the 15th of the previous month to the 14th. Quarters, half-years and years are made of
whole reporting months in both calendars, so every figure is kept per reporting month and summed.

A reporting month is named by the first day of the calendar month it is labelled with: under
Decree 09, 20/12/2025 falls in reporting month 2026-01-01 (15/12/2025–14/01/2026).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

DECREE_09 = "decree09"


def uses_decree_09() -> bool:
    return settings.REPORTING_CALENDAR == DECREE_09


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def reporting_month(day: date, *, decree_09: bool | None = None) -> date:
    """The reporting month a day belongs to, named by its label's first day."""
    decree_09 = uses_decree_09() if decree_09 is None else decree_09
    if decree_09 and day.day >= 15:
        return _next_month(day)
    return day.replace(day=1)


def reporting_month_sql(column: str, *, decree_09: bool | None = None) -> str:
    """The same as `reporting_month`, as an SQL expression over a date column."""
    decree_09 = uses_decree_09() if decree_09 is None else decree_09
    if decree_09:
        return (
            f"date_trunc('month', CASE WHEN extract(day FROM {column}) >= 15 "
            f"THEN {column} + interval '1 month' ELSE {column} END)::date"
        )
    return f"date_trunc('month', {column})::date"


@dataclass(frozen=True)
class Period:
    """A month, quarter, half-year or year of reporting months."""

    kind: str  # "month", "quarter", "half", "year"
    year: int
    number: int = 1  # month 1–12, quarter 1–4, half 1–2; 1 for a year

    MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}

    @property
    def first_month(self) -> date:
        size = self.MONTHS[self.kind]
        return date(self.year, (self.number - 1) * size + 1, 1)

    @property
    def months(self) -> list[date]:
        first = self.first_month
        return [date(self.year, first.month + i, 1) for i in range(self.MONTHS[self.kind])]

    @property
    def last_month(self) -> date:
        return self.months[-1]

    def days(self, *, decree_09: bool | None = None) -> tuple[date, date]:
        """The first and last day the period covers under the reporting calendar."""
        decree_09 = uses_decree_09() if decree_09 is None else decree_09
        first, last = self.first_month, self.last_month
        if decree_09:
            start = (first - timedelta(days=1)).replace(day=15)
            end = last.replace(day=14)
        else:
            start = first
            end = _next_month(last) - timedelta(days=1)
        return start, end

    def same_period_last_year(self) -> "Period":
        return Period(self.kind, self.year - 1, self.number)

    @classmethod
    def containing(cls, kind: str, day: date, *, decree_09: bool | None = None) -> "Period":
        month = reporting_month(day, decree_09=decree_09)
        size = cls.MONTHS[kind]
        return cls(kind, month.year, (month.month - 1) // size + 1)
