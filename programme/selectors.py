"""Reads of the work records. Every selector starts from the user's scope (programme.scoping)."""

from datetime import date, timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.http import Http404
from django.utils import timezone

from communes.models import AdminUnit, Designation, NtmRecognition
from partners.models import Agency, Assignment, Enterprise, Twinning
from partners.scoping import communes_in_scope, scope_for
from programme.models import Contribution, Difficulty, PlanItem, Visit
from programme.scoping import contributions_for, difficulties_for, plan_items_for, visits_for


def _in_my_communes(queryset: QuerySet, user, field: str = "commune_id") -> QuerySet:
    """The same rows, also filtered by the communes the user ever worked for.

    Redundant with the scope's own test (assigned *on the record's date*), but it lets
    PostgreSQL read a liaison's few communes through the (commune, date) index instead of
    scanning millions of rows: 60 ms instead of 1 s for a list's first page at 2.000.000
    contributions.
    """
    scope = scope_for(user)
    if scope.is_province:
        return queryset
    communes = AdminUnit.objects.filter(communes_in_scope(scope)).values("pk")
    return queryset.filter(**{f"{field}__in": communes})


def visit_list(user) -> QuerySet[Visit]:
    return _in_my_communes(visits_for(user), user).select_related("commune", "agency")


def difficulty_list(user) -> QuerySet[Difficulty]:
    return _in_my_communes(difficulties_for(user), user).select_related("commune")


def contribution_list(user) -> QuerySet[Contribution]:
    return _in_my_communes(contributions_for(user), user).select_related(
        "commune", "agency", "enterprise", "category"
    )


def plan_item_list(user) -> QuerySet[PlanItem]:
    return _in_my_communes(plan_items_for(user), user, "plan__commune_id").select_related(
        "plan", "plan__commune"
    )


def _communes_for(user) -> QuerySet[AdminUnit]:
    """A commune page is open to the users who work for that commune (on any day) and the province."""
    scope = scope_for(user)
    units = AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE).select_related("parent")
    if not scope.is_province:
        units = units.filter(communes_in_scope(scope))
    return units


def _json_rows(queryset: QuerySet, **fields) -> ArraySubquery:
    """The rows of `queryset` as an array of JSON objects of `fields`, in the queryset's order:
    several short lists ride in one row of their parent's query instead of a query each."""
    return ArraySubquery(queryset.values(row=JSONObject(**fields)))


def _from_json(model, data: dict):
    """A `model` instance back from one object of `_json_rows`, as if fetched with `.only()`:
    a field left out of the JSON is deferred, so reading it costs a query (counted by the page
    tests) instead of showing a default.

    JSON knows no dates: each field parses its own value (decimals travel as text, so no float
    rounds them). A related object travels as a nested object with its id; a NULL foreign key
    comes back as an object whose id is null.
    """
    values, related = {}, {}
    for name, value in data.items():
        field = model._meta.get_field(name)
        if field.is_relation:
            values[field.attname] = value["id"]
            related[name] = None if value["id"] is None else _from_json(field.related_model, value)
        else:
            values[field.attname] = field.to_python(value)
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    obj = model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])
    for name, instance in related.items():
        setattr(obj, name, instance)
    return obj


def _instances(model, rows: list | None) -> list:
    """`_from_json` of each row; a scope that may see none of a kind gives NULL, not []."""
    return [_from_json(model, row) for row in rows or ()]


_PERIOD = {"id": "pk", "start_date": "start_date", "end_date": "end_date"}


def _agency(path: str) -> JSONObject:
    return JSONObject(id=f"{path}_id", name=f"{path}__name", short_name=f"{path}__short_name")


def _latest(queryset: QuerySet, limit: int, **fields) -> ArraySubquery:
    """The first `limit` + 1 rows: the extra one only tells that there are more."""
    return _json_rows(queryset[: limit + 1], **fields)


def _partner_rows(here: OuterRef) -> dict:
    """The commune's agencies, enterprises and NTM recognitions, as `_json_rows` annotations."""
    return {
        "assignment_rows": _json_rows(
            Assignment.objects.filter(commune=here).order_by("-start_date", "pk"),
            **_PERIOD,
            role="role",
            agency=_agency("agency"),
        ),
        "twinning_rows": _json_rows(
            Twinning.objects.filter(commune=here).order_by("-start_date", "pk"),
            **_PERIOD,
            enterprise=JSONObject(id="enterprise_id", name="enterprise__name"),
        ),
        "recognition_rows": _json_rows(
            NtmRecognition.objects.filter(commune=here).order_by("-year", "pk"),
            id="pk",
            level="level",
            year="year",
            decision_reference="decision_reference",
        ),
    }


def _record_rows(user, here: OuterRef, limit: int) -> dict:
    """The support recorded, the latest records of each kind and this year's plan items the user
    may see, as annotations. The commune itself is already in the user's scope: the lists'
    extra filter by the user's communes (`_in_my_communes`) would add nothing here."""
    contributions = contributions_for(user).filter(commune=here)
    support = contributions.order_by().values("commune").annotate(total=Sum("value"))
    return {
        "support": Coalesce(
            Subquery(support.values("total")), Value(0), output_field=DecimalField()
        ),
        "visit_rows": _latest(
            visits_for(user).filter(commune=here).order_by("-date", "-pk"),
            limit,
            id="pk",
            date="date",
            kind="kind",
            village="village",
            agency=_agency("agency"),
        ),
        "difficulty_rows": _latest(
            difficulties_for(user).filter(commune=here).order_by("-raised_on", "-pk"),
            limit,
            id="pk",
            raised_on="raised_on",
            description="description",
            status="status",
            resolved_on="resolved_on",
        ),
        "contribution_rows": _latest(
            contributions.order_by("-date", "-pk"),
            limit,
            id="pk",
            date="date",
            value=Cast("value", CharField()),
            category=JSONObject(
                id="category_id", name_vi="category__name_vi", name_en="category__name_en"
            ),
            agency=_agency("agency"),
            enterprise=JSONObject(id="enterprise_id", name="enterprise__name"),
        ),
        "plan_item_rows": _json_rows(
            plan_items_for(user)
            .filter(plan__commune=here, plan__year=timezone.localdate().year)
            .order_by("period_kind", "period_number", "pk"),
            id="pk",
            title="title",
            period_kind="period_kind",
            period_number="period_number",
            status="status",
        ),
    }


def commune_page(user, pk, *, limit: int = 20) -> dict:
    """What the commune page shows, in one query whatever the amount of data: the commune, its
    partners, NTM status, the support recorded, this year's plan and the latest `limit` records
    of each kind (with whether there are more). 404 outside the user's scope."""
    here = OuterRef("pk")
    units = _communes_for(user).annotate(**_partner_rows(here), **_record_rows(user, here, limit))
    try:
        commune = units.get(pk=pk)
    except (AdminUnit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    visits = _instances(Visit, commune.visit_rows)
    difficulties = _instances(Difficulty, commune.difficulty_rows)
    contributions = _instances(Contribution, commune.contribution_rows)
    return {
        "commune": commune,
        "assignments": _instances(Assignment, commune.assignment_rows),
        "twinnings": _instances(Twinning, commune.twinning_rows),
        "recognitions": _instances(NtmRecognition, commune.recognition_rows),
        "support_total": commune.support,
        "visits": visits[:limit],
        "more_visits": len(visits) > limit,
        "difficulties": difficulties[:limit],
        "more_difficulties": len(difficulties) > limit,
        "contributions": contributions[:limit],
        "more_contributions": len(contributions) > limit,
        "plan_items": _instances(PlanItem, commune.plan_item_rows),
    }


def province_totals() -> dict[str, int]:
    """The province overview's totals (designations, agencies, enterprises) in one query, not three
    COUNTs: every query of a page costs a round trip under load."""
    tables = {"designated": Designation, "agencies": Agency, "enterprises": Enterprise}
    names = [connection.ops.quote_name(model._meta.db_table) for model in tables.values()]
    counts = ", ".join(f"(SELECT COUNT(*) FROM {name})" for name in names)  # noqa: S608 - ours
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, next_month - timedelta(days=1)


def my_communes(
    user, *, today: date | None = None, limit: int | None = None
) -> QuerySet[AdminUnit]:
    """The liaison's home: each commune in scope today with this month's figures, in one query.

    With `limit`, the first `limit` communes by name are picked before their figures are
    computed: PostgreSQL then runs each figure's subquery for those rows only, not for the
    thousands a province designates (twice as fast at 13.000 communes)."""
    today = today or timezone.localdate()
    scope = scope_for(user)
    month_start, month_end = _month_bounds(today)
    quarter = (today.month - 1) // 3 + 1
    units = AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE)
    if scope.is_province:
        units = units.filter(pk__in=Designation.objects.active_on(today).values("commune_id"))
    else:
        units = units.filter(communes_in_scope(scope, day=today))
    if limit is not None:
        units = units.filter(pk__in=units.order_by("name", "pk").values("pk")[:limit])
    visits = Visit.objects.filter(commune=OuterRef("pk"), date__range=(month_start, month_end))
    cell_visits = visits.filter(kind=Visit.Kind.CELL_MEETING)
    if scope.agency_ids and not scope.is_province:
        cell_visits = cell_visits.filter(agency_id__in=scope.agency_ids)
    open_difficulties = (
        Difficulty.objects.filter(commune=OuterRef("pk"))
        .exclude(status__in=Difficulty.CLOSED)
        .order_by()
        .values("commune")
        .annotate(n=Count("pk"))
        .values("n")
    )
    due_items = (
        PlanItem.objects.filter(plan__commune=OuterRef("pk"), plan__year=today.year)
        .exclude(status__in=[PlanItem.Status.DONE, PlanItem.Status.DROPPED])
        .filter(
            Q(period_kind=PlanItem.PeriodKind.MONTH, period_number__lte=today.month)
            | Q(period_kind=PlanItem.PeriodKind.QUARTER, period_number__lte=quarter)
        )
        .order_by()
        .values("plan__commune")
        .annotate(n=Count("pk"))
        .values("n")
    )
    support = (
        Contribution.objects.filter(commune=OuterRef("pk"), date__year=today.year)
        .order_by()
        .values("commune")
        .annotate(total=Sum("value"))
        .values("total")
    )
    return (
        units.select_related("parent")
        .annotate(
            visited_this_month=Exists(cell_visits),
            open_difficulties=Coalesce(Subquery(open_difficulties), 0),
            plan_items_due=Coalesce(Subquery(due_items), 0),
            support_this_year=Coalesce(
                Subquery(support, output_field=DecimalField()),
                Value(0),
                output_field=DecimalField(),
            ),
        )
        .order_by("name", "pk")
    )
