"""Filters for the record lists. Choice lists are limited to what the user may see."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from communes.models import AdminUnit
from communes.text import fold
from partners.models import Enterprise
from programme.fields import VnDateField
from programme.forms import agencies_for_forms, communes_for_forms, enterprises_for_forms
from programme.models import Area, Contribution, ContributionCategory, Difficulty, PlanItem, Visit


class VnDateFilter(django_filters.DateFilter):
    field_class = VnDateField


class RecordFilter(django_filters.FilterSet):
    """Search, commune, district and date range, shared by every record list."""

    q = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=100)
    commune = django_filters.ModelChoiceFilter(
        label=_("Commune"), queryset=AdminUnit.objects.none()
    )
    district = django_filters.ModelChoiceFilter(
        label=_("District"), queryset=AdminUnit.objects.none(), method="filter_district"
    )
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
        communes = communes_for_forms(user)
        self.filters["commune"].queryset = communes
        self.filters["district"].queryset = AdminUnit.objects.filter(
            pk__in=communes.values("parent_id"), level=AdminUnit.Level.DISTRICT
        ).order_by("name")
        if "agency" in self.filters:
            self.filters["agency"].queryset = agencies_for_forms(user)
        if "enterprise" in self.filters:
            self.filters["enterprise"].queryset = enterprises_for_forms(user)
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def filter_search(self, queryset, name, value):
        folded = fold(value)
        if not folded:
            return queryset
        q = Q()
        for field in self.search_fields:
            q |= Q(**{f"{field}__contains": folded})
        return queryset.filter(q)

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
    enterprise = django_filters.ModelChoiceFilter(
        label=_("Enterprise"), queryset=Enterprise.objects.none()
    )

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
