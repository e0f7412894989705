"""The province dashboard: figures, charts, map and table of the special communes.

Everything on it comes from reports.selectors, which read rollup tables only.
"""

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
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


# A national database designates thousands of communes: the page stays small by showing the
# commune table a hundred rows at a time, naming the communes without coordinates only up to a
# point, drawing the largest districts, and loading the map markers from a JSON address.
TABLE_ROWS = 100
UNPLACED_NAMED = 30
DISTRICT_BARS = 30
EMBEDDED_MARKERS = 300


def _dashboard_data(request: HttpRequest):
    if not scope_for(request.user).is_province:
        raise PermissionDenied
    today = timezone.localdate()
    start = selectors.programme_start()
    period = period_from_query(request.GET, today=today, first_year=start.year)
    mode = request.GET.get("units")
    if mode not in selectors.PLACE_MODES:
        mode = selectors.RECORDED
    kept = selectors.dashboard_kept(period, mode=mode, today=today, started_on=start)
    return today, start, period, mode, kept


def _fewer_districts(chart: dict) -> dict:
    """The largest DISTRICT_BARS districts; the rest summed as one bar."""
    labels, period, last_year = chart["labels"], chart["period"], chart["last_year"]
    if len(labels) <= DISTRICT_BARS:
        return chart
    keep = DISTRICT_BARS - 1
    return {
        "labels": [
            *labels[:keep],
            _("other districts (%(count)s)") % {"count": len(labels) - keep},
        ],
        "period": [*period[:keep], sum(period[keep:])],
        "last_year": [*last_year[:keep], sum(last_year[keep:])],
    }


@login_required
def dashboard_markers(request: HttpRequest) -> JsonResponse:
    """The map markers of the dashboard's period, for a page with too many to embed."""
    _today, _start, _period, _mode, kept = _dashboard_data(request)
    return JsonResponse({"markers": kept.value.markers})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    today, start, period, mode, kept = _dashboard_data(request)
    data = kept.value
    rows = data.communes
    pages = max(1, -(-len(rows) // TABLE_ROWS))
    page = _whole(request.GET.get("rows")) or 1
    page = min(max(page, 1), pages)
    markers = data.markers
    unplaced = data.unplaced
    first_day, last_day = period.days()
    last_year = period.same_period_last_year()
    previous, following = selectors.period_shift(period, -1), selectors.period_shift(period, 1)
    tile_url = getattr(settings, "MAP_TILE_URL", DEFAULT_TILE_URL) or ""
    context = {
        "data": data,
        "computed_at": kept.computed_at,
        "computed_stale": kept.stale,
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
        "commune_rows": rows[(page - 1) * TABLE_ROWS : page * TABLE_ROWS],
        "commune_total": len(rows),
        "rows_page": page,
        "rows_first": (page - 1) * TABLE_ROWS + 1,
        "rows_last": min(page * TABLE_ROWS, len(rows)),
        "rows_previous": _query(period, mode) + f"&rows={page - 1}#special-communes"
        if page > 1
        else "",
        "rows_next": _query(period, mode) + f"&rows={page + 1}#special-communes"
        if page < pages
        else "",
        "markers": markers if len(markers) <= EMBEDDED_MARKERS else [],
        "markers_url": reverse("reports:dashboard_markers") + _query(period, mode)
        if len(markers) > EMBEDDED_MARKERS
        else "",
        "unplaced": unplaced[:UNPLACED_NAMED],
        "unplaced_more": max(0, len(unplaced) - UNPLACED_NAMED),
        "recorded_url": _query(period, selectors.RECORDED),
        "today_url": _query(period, selectors.TODAY),
        "map_config": {
            "tileUrl": tile_url,
            "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
        },
        "chart_data": {
            **data.charts,
            "districts": _fewer_districts(data.charts["districts"]),
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
