"""Filters for the record lists. Choice lists are limited to what the user may see."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from communes.text import fold
from programme.fields import VnDateField
from programme.models import Area, Contribution, ContributionCategory, Difficulty, PlanItem, Visit
from programme.picker import SOURCES, PickField


class VnDateFilter(django_filters.DateFilter):
    field_class = VnDateField


class PickFilter(django_filters.Filter):
    """A commune, district, agency or enterprise typed or picked (programme.picker); the
    FilterSet scopes it to the user."""

    field_class = PickField

    def __init__(self, *args, source: str, **kwargs):
        super().__init__(*args, source=source, queryset=SOURCES[source].queryset, **kwargs)


# Above this many matches a search word is common: the list's own order finds a page of them
# sooner than fetching every match (programme.filters.RecordFilter.filter_search).
SEARCH_COMMON = 500


class RecordFilter(django_filters.FilterSet):
    """Search, commune, district and date range, shared by every record list."""

    q = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=100)
    commune = PickFilter(label=_("Commune"), source="communes")
    district = PickFilter(label=_("District"), source="districts", method="filter_district")
    year = django_filters.NumberFilter(
        label=_("Year"), method="filter_year", min_value=2000, max_value=2100
    )
    date_from = VnDateFilter(label=_("From"), method="filter_date_from")
    date_to = VnDateFilter(label=_("To"), method="filter_date_to")

    date_field = "date"
    search_fields = ("search_text", "commune__search_name")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = request.user
        for filter_ in self.filters.values():
            if isinstance(filter_, PickFilter):
                # The source's scoping function becomes the user's queryset.
                filter_.extra["queryset"] = filter_.extra["queryset"](user)
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def filter_search(self, queryset, name, value):
        """Records whose own text or whose commune, agency… name contains the words.

        Over millions of records the fast way depends on how many match. A rare word: the
        matching ids, field by field (the records' trigram index, or the records of the few
        units whose name matches), then those records by primary key. A common word: the list
        in its own order, each record tested, until a page is full. The first SEARCH_COMMON + 1
        matching ids tell which.
        """
        folded = fold(value)
        if not folded:
            return queryset
        records = queryset.model._base_manager
        parts = [
            records.filter(**{f"{field}__contains": folded}).values_list("pk", flat=True)
            for field in self.search_fields
        ]
        # UNION ALL, so that PostgreSQL stops reading as soon as it has enough.
        found = list(parts[0].union(*parts[1:], all=True).order_by()[: SEARCH_COMMON + 1])
        if len(found) <= SEARCH_COMMON:
            return queryset.filter(pk__in=set(found))
        anywhere = Q()
        for field in self.search_fields:
            anywhere |= Q(**{f"{field}__contains": folded})
        return queryset.filter(anywhere)

    def filter_district(self, queryset, name, value):
        return queryset.filter(commune__parent=value) if value else queryset

    def filter_year(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__year": int(value)}) if value else queryset

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__gte": value}) if value else queryset

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__lte": value}) if value else queryset


class VisitFilter(RecordFilter):
    search_fields = ("search_text", "commune__search_name", "agency__search_name")
    agency = PickFilter(label=_("Agency"), source="agencies")

    class Meta:
        model = Visit
        fields = ["q", "commune", "district", "agency", "kind", "year", "date_from", "date_to"]


class DifficultyFilter(RecordFilter):
    date_field = "raised_on"
    open_only = django_filters.BooleanFilter(
        label=_("Not closed yet"), method="filter_open", widget=forms.CheckboxInput
    )

    class Meta:
        model = Difficulty
        fields = [
            "q",
            "commune",
            "district",
            "area",
            "status",
            "owner",
            "year",
            "date_from",
            "date_to",
        ]

    def filter_open(self, queryset, name, value):
        return queryset.exclude(status__in=Difficulty.CLOSED) if value else queryset


class ContributionFilter(RecordFilter):
    search_fields = (
        "search_text",
        "commune__search_name",
        "agency__search_name",
        "enterprise__search_name",
    )
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=ContributionCategory.objects.all()
    )
    agency = PickFilter(label=_("Agency"), source="agencies")
    enterprise = PickFilter(label=_("Enterprise"), source="enterprises")

    class Meta:
        model = Contribution
        fields = [
            "q",
            "commune",
            "district",
            "agency",
            "enterprise",
            "area",
            "category",
            "form",
            "status",
            "year",
            "date_from",
            "date_to",
        ]


class PlanItemFilter(RecordFilter):
    search_fields = ("search_text", "plan__commune__search_name")
    date_field = "completed_on"
    year = django_filters.NumberFilter(label=_("Plan year"), field_name="plan__year")

    class Meta:
        model = PlanItem
        fields = [
            "q",
            "commune",
            "district",
            "area",
            "status",
            "period_kind",
            "responsible",
            "year",
        ]

    def filter_district(self, queryset, name, value):
        return queryset.filter(plan__commune__parent=value) if value else queryset

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["commune"].field_name = "plan__commune"


AREA_CHOICES = Area.choices
