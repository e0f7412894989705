"""Record tables. Columns read only what the selectors already joined: no query per row."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from programme.models import Contribution, Difficulty, PlanItem, Visit
from programme.templatetags.vn import format_money


class MoneyColumn(tables.Column):
    attrs = {"td": {"class": "money"}, "th": {"class": "money"}}

    def render(self, value):
        return format_money(value)

    def value(self, value):
        return int(value) if value is not None else ""


class DateColumn(tables.Column):
    """dd/mm/yyyy on the page and in downloads."""

    def render(self, value):
        return value.strftime("%d/%m/%Y")

    def value(self, value):
        return value.strftime("%d/%m/%Y")


class TextColumn(tables.Column):
    """Long text cut on the page, whole in downloads."""

    def __init__(self, *args, length: int = 120, **kwargs):
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)
        self.length = length

    def render(self, value):
        return value[: self.length] + ("…" if len(value) > self.length else "")

    def value(self, value):
        return value


class CommuneColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("verbose_name", _("Commune"))
        kwargs.setdefault("order_by", ("commune__name",))
        super().__init__(*args, **kwargs)

    def render(self, value, record):
        url = reverse("programme:commune_detail", args=[value.pk])
        return format_html('<a href="{}">{}</a>', url, value.full_name)

    def value(self, value):
        return value.full_name


class VisitTable(tables.Table):
    date = DateColumn(linkify=True, verbose_name=_("Date"))
    commune = CommuneColumn()
    agency = tables.Column(verbose_name=_("Agency"), order_by=("agency__name",))
    kind = tables.Column(verbose_name=_("Kind"))
    village = tables.Column(verbose_name=_("Village or Party cell"))
    participants_count = tables.Column(verbose_name=_("Participants"))
    summary = TextColumn(verbose_name=_("Summary"))

    class Meta:
        model = Visit
        fields = ("date", "commune", "agency", "kind", "village", "participants_count", "summary")
        order_by = ("-date",)
        attrs = {"class": "table table-sm table-hover align-middle"}


class DifficultyTable(tables.Table):
    raised_on = DateColumn(linkify=True, verbose_name=_("Raised on"))
    commune = CommuneColumn()
    area = tables.Column(verbose_name=_("Area"))
    description = TextColumn(verbose_name=_("Description"))
    owner = tables.Column(verbose_name=_("Owner"))
    status = tables.Column(verbose_name=_("Status"))
    age = tables.Column(verbose_name=_("Age (days)"), accessor="age_days", order_by=("raised_on",))

    class Meta:
        model = Difficulty
        fields = ("raised_on", "commune", "area", "description", "owner", "status", "age")
        order_by = ("-raised_on",)
        attrs = {"class": "table table-sm table-hover align-middle"}


class ContributionTable(tables.Table):
    date = DateColumn(linkify=True, verbose_name=_("Date"))
    commune = CommuneColumn()
    contributor = tables.Column(
        verbose_name=_("Contributor"),
        accessor="contributor",
        order_by=("agency__name", "enterprise__name"),
    )
    category = tables.Column(verbose_name=_("Category"), order_by=("category__sort",))
    form = tables.Column(verbose_name=_("Form"))
    value = MoneyColumn(verbose_name=_("Value (đồng)"))
    description = TextColumn(verbose_name=_("Description"), length=100)
    status = tables.Column(verbose_name=_("Status"))
    confirmed = tables.BooleanColumn(
        verbose_name=_("Confirmed by the commune"), accessor="confirmed_at", orderable=False
    )

    class Meta:
        model = Contribution
        fields = (
            "date",
            "commune",
            "contributor",
            "category",
            "form",
            "value",
            "description",
            "status",
            "confirmed",
        )
        order_by = ("-date",)
        attrs = {"class": "table table-sm table-hover align-middle"}

    def value_confirmed(self, value):
        return _("yes") if value else _("no")


class PlanItemTable(tables.Table):
    title = tables.Column(
        linkify=lambda record: record.plan.get_absolute_url(), verbose_name=_("Title")
    )
    commune = CommuneColumn(accessor="plan__commune", order_by=("plan__commune__name",))
    year = tables.Column(verbose_name=_("Year"), accessor="plan__year")
    area = tables.Column(verbose_name=_("Area"))
    period = tables.Column(
        verbose_name=_("Period"), accessor="period_label", order_by=("period_kind", "period_number")
    )
    responsible = tables.Column(verbose_name=_("Responsible"))
    target_value = MoneyColumn(verbose_name=_("Target (đồng)"))
    status = tables.Column(verbose_name=_("Status"))

    class Meta:
        model = PlanItem
        fields = (
            "title",
            "commune",
            "year",
            "area",
            "period",
            "responsible",
            "target_value",
            "status",
        )
        order_by = ("-plan__year",)
        attrs = {"class": "table table-sm table-hover align-middle"}
