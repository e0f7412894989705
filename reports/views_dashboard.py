"""The province dashboard: figures, charts, map and table of the special communes.

Everything on it comes from reports.selectors, which read rollup tables only.
"""

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.scoping import scope_for
from programme.periods import Period, reporting_month
from reports import selectors

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
DEFAULT_KIND = "quarter"


def _whole(raw: str | None) -> int | None:
    """A plain positive whole number typed in a query string, or None."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        return None
    return int(raw)


def period_from_query(query: QueryDict, *, today: date, first_year: int) -> Period:
    """The period asked for in ?kind=&year=&number=; each bad value falls back to its default.

    The default is the current quarter. Years run from the programme's first year to the
    current reporting year.
    """
    kind = query.get("kind")
    if kind not in Period.MONTHS:
        kind = DEFAULT_KIND
    current = Period.containing(kind, today)
    year = _whole(query.get("year"))
    if year is None or not first_year <= year <= reporting_month(today).year:
        year = current.year
    number = _whole(query.get("number"))
    if number is None or not 1 <= number <= 12 // Period.MONTHS[kind]:
        number = current.number
    return Period(kind, year, number)


def period_label(period: Period) -> str:
    if period.kind == "month":
        return _("month %(number)s/%(year)s") % {"number": period.number, "year": period.year}
    if period.kind == "quarter":
        return _("quarter %(number)s/%(year)s") % {"number": period.number, "year": period.year}
    if period.kind == "half":
        if period.number == 1:
            return _("first half of %(year)s") % {"year": period.year}
        return _("second half of %(year)s") % {"year": period.year}
    return _("year %(year)s") % {"year": period.year}


def _query(period: Period, mode: str) -> str:
    return "?" + urlencode(
        {"kind": period.kind, "year": period.year, "number": period.number, "units": mode}
    )


def _number_choices() -> list[dict]:
    """The numbers of the period select; `kinds` tells which kinds each number fits."""
    choices = []
    for number in range(1, 13):
        kinds = [kind for kind, size in Period.MONTHS.items() if number <= 12 // size]
        choices.append({"value": number, "kinds": " ".join(kinds)})
    return choices


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not scope_for(request.user).is_province:
        raise PermissionDenied
    today = timezone.localdate()
    start = selectors.programme_start()
    period = period_from_query(request.GET, today=today, first_year=start.year)
    mode = request.GET.get("units")
    if mode not in selectors.PLACE_MODES:
        mode = selectors.RECORDED
    data = selectors.dashboard(period, mode=mode, today=today, started_on=start)
    first_day, last_day = period.days()
    last_year = period.same_period_last_year()
    previous, following = selectors.period_shift(period, -1), selectors.period_shift(period, 1)
    tile_url = getattr(settings, "MAP_TILE_URL", DEFAULT_TILE_URL) or ""
    context = {
        "data": data,
        "period": period,
        "period_label": period_label(period),
        "last_year_label": period_label(last_year),
        "first_day": first_day,
        "last_day": last_day,
        "mode": mode,
        "kinds": [
            ("month", _("month")),
            ("quarter", _("quarter")),
            ("half", _("half-year")),
            ("year", _("year")),
        ],
        "years": list(range(start.year, reporting_month(today).year + 1)),
        "numbers": _number_choices(),
        "previous_url": _query(previous, mode) if previous.year >= start.year else "",
        "next_url": _query(following, mode)
        if following.first_month <= reporting_month(today)
        else "",
        "recorded_url": _query(period, selectors.RECORDED),
        "today_url": _query(period, selectors.TODAY),
        "map_config": {
            "tileUrl": tile_url,
            "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
        },
        "chart_data": {
            **data.charts,
            "labels": {
                "period": period_label(period),
                "lastYear": period_label(last_year),
                "total": _("Total support"),
                "billion": _("billion đồng"),
                "million": _("million đồng"),
                "dong": _("đồng"),
                "completeness": _("Party-cell meeting completeness"),
                "noMonths": _("no month due"),
                "open": _("Open the commune page"),
            },
        },
    }
    return render(request, "reports/dashboard.html", context)
