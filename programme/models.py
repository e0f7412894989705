"""Work records of the programme: plans, visits, difficulties, contributions, attachments."""

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from communes.models import AdminUnit
from communes.text import fold_sql
from partners.models import Agency, Enterprise
from programme.validation import InMemoryValidation

# 1.000 tỷ đồng: anything larger is a typing mistake, not a contribution.
MAX_VALUE = 1_000_000_000_000


class Area(models.TextChoices):
    ECONOMY = "economy", _("economy")
    NTM = "ntm", _("new rural development")
    PARTY = "party", _("Party building and political system")
    DEFENCE = "defence", _("defence and security")
    WELFARE = "welfare", _("social welfare")


class Party(models.TextChoices):
    """Who is responsible for a plan item or a difficulty."""

    COMMUNE = "commune", _("commune")
    AGENCY = "agency", _("agency")
    ENTERPRISE = "enterprise", _("enterprise")
    PROVINCE = "province", _("province")


def _trigram(name: str) -> GinIndex:
    """A trigram index on search_text: the lists' search ("contains", programme.filters) finds
    rare words among millions of records without reading them all."""
    return GinIndex(fields=["search_text"], name=name, opclasses=["gin_trgm_ops"])


def _search_text(*fields: str) -> models.GeneratedField:
    """A folded copy of some text fields, for accent-insensitive search ("cau duong" finds "cầu đường")."""
    joined = models.Func(
        *[models.F(name) for name in fields],
        arg_joiner=" || ' ' || ",
        template="(%(expressions)s)",
        output_field=models.TextField(),
    )
    return models.GeneratedField(
        expression=fold_sql(joined), output_field=models.TextField(), db_persist=True
    )


def _in(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class Versioned(InMemoryValidation):
    """Optimistic locking: a save names the version it read; a stale one is refused."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None) -> None:
        """Also hold text fields to their max_length: Django checks that only in forms."""
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.error_dict
        for field in self._meta.concrete_fields:
            if (
                not isinstance(field, models.TextField)
                or not field.max_length
                or field.name in (exclude or ())
                or field.name in errors
            ):
                continue
            value = getattr(self, field.attname)
            try:
                if isinstance(value, str):
                    MaxLengthValidator(field.max_length)(value)
            except ValidationError as error:
                errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)


def check_record_date(day: date | None, field: str) -> None:
    """Neither in the future nor before the programme started."""
    if day is None:
        return
    if day > timezone.localdate():
        raise ValidationError({field: _("The date cannot be in the future.")})
    if day < settings.PROGRAMME_START_DATE:
        raise ValidationError(
            {
                field: _("The date cannot be before the programme started (%(start)s).")
                % {"start": settings.PROGRAMME_START_DATE.strftime("%d/%m/%Y")}
            }
        )


class Plan(Versioned):
    """A commune's annual plan, agreed between the commune, its agency and its enterprises."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        AGREED = "agreed", _("agreed")

    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="plans",
        limit_choices_to={"level": "commune"},
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2016), MaxValueValidator(2100)]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=4000)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-year", "commune__name"]
        constraints = [
            models.UniqueConstraint(fields=["commune", "year"], name="plan_one_per_commune_year"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "agreed"]), name="plan_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(agreed_on__isnull=False),
                name="plan_agreed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return _("Plan %(year)s · %(commune)s") % {"year": self.year, "commune": self.commune}

    def get_absolute_url(self) -> str:
        return reverse("programme:plan_detail", args=[self.pk])

    def clean(self) -> None:
        if self.status == self.Status.AGREED and not self.agreed_on:
            raise ValidationError({"agreed_on": _("An agreed plan needs the date it was agreed.")})
        check_record_date(self.agreed_on, "agreed_on")


class PlanItem(Versioned):
    class PeriodKind(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")
        YEAR = "year", _("year")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        DROPPED = "dropped", _("dropped")

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="items"
    )
    area = models.CharField(_("area"), max_length=10, choices=Area.choices)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True, max_length=4000)
    period_kind = models.CharField(
        _("period"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.YEAR
    )
    period_number = models.PositiveSmallIntegerField(
        _("month or quarter"),
        null=True,
        blank=True,
        help_text=_("1–12 for a month, 1–4 for a quarter; empty for the whole year."),
    )
    responsible = models.CharField(
        _("responsible party"), max_length=10, choices=Party.choices, default=Party.COMMUNE
    )
    target_text = models.CharField(_("target"), max_length=255, blank=True)
    target_value = models.DecimalField(
        _("target value (đồng)"),
        max_digits=18,
        decimal_places=0,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_VALUE)],
        help_text=_("0 when the target is not a sum of money."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    search_text = _search_text("title", "description", "target_text")
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        ordering = ["plan", "period_kind", "period_number", "pk"]
        constraints = [
            _in("area", Area, "planitem_area_valid"),
            _in("responsible", Party, "planitem_responsible_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "in_progress", "done", "dropped"]),
                name="planitem_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(period_kind="year", period_number__isnull=True)
                    | Q(period_kind="quarter", period_number__gte=1, period_number__lte=4)
                    | Q(period_kind="month", period_number__gte=1, period_number__lte=12)
                ),
                name="planitem_period_valid",
            ),
            models.CheckConstraint(
                condition=Q(target_value__gte=0), name="planitem_target_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_on__isnull=False),
                name="planitem_done_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.period_kind == self.PeriodKind.YEAR:
            self.period_number = None
        elif (
            self.period_kind == self.PeriodKind.QUARTER and not 1 <= (self.period_number or 0) <= 4
        ):
            raise ValidationError({"period_number": _("Choose a quarter from 1 to 4.")})
        elif self.period_kind == self.PeriodKind.MONTH and not 1 <= (self.period_number or 0) <= 12:
            raise ValidationError({"period_number": _("Choose a month from 1 to 12.")})
        if self.status == self.Status.DONE and not self.completed_on:
            raise ValidationError({"completed_on": _("A done item needs its completion date.")})
        check_record_date(self.completed_on, "completed_on")

    @property
    def period_label(self) -> str:
        if self.period_kind == self.PeriodKind.MONTH:
            return _("month %(n)s") % {"n": self.period_number}
        if self.period_kind == self.PeriodKind.QUARTER:
            return _("quarter %(n)s") % {"n": self.period_number}
        return _("whole year")


class Visit(Versioned):
    """Agency staff at the commune: a village Party-cell meeting, a survey, a working session…"""

    class Kind(models.TextChoices):
        CELL_MEETING = "cell_meeting", _("village Party-cell meeting")
        COMMITTEE_MEETING = "committee", _("commune Party committee meeting")
        SURVEY = "survey", _("survey")
        WORKING_SESSION = "working", _("working session")
        OTHER = "other", _("other")

    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="visits",
        limit_choices_to={"level": "commune"},
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="visits"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    village = models.CharField(
        _("village or Party cell"),
        max_length=120,
        blank=True,
        help_text=_("Required for a village Party-cell meeting."),
    )
    participants_count = models.PositiveSmallIntegerField(
        _("number of participants"), default=1, validators=[MaxValueValidator(1000)]
    )
    participant_names = models.TextField(_("participants"), blank=True, max_length=2000)
    summary = models.TextField(_("summary"), max_length=8000)
    follow_ups = models.TextField(_("follow-ups"), blank=True, max_length=4000)
    plan_items = models.ManyToManyField(
        PlanItem, verbose_name=_("plan items delivered"), blank=True, related_name="visits"
    )
    search_text = _search_text("village", "summary", "follow_ups")
    history = HistoricalRecords(m2m_fields=[plan_items], excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["cell_meeting", "committee", "survey", "working", "other"]),
                name="visit_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind="cell_meeting") | ~Q(village=""),
                name="visit_cell_meeting_names_village",
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "date"], name="visit_commune_date_idx"),
            # The list's default order, reached by seeking (programme.listing).
            models.Index(fields=["date", "id"], name="visit_date_id_idx"),
            _trigram("visit_search_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.commune} · {self.date:%d/%m/%Y}"

    def get_absolute_url(self) -> str:
        return reverse("programme:visit_detail", args=[self.pk])

    def clean(self) -> None:
        check_record_date(self.date, "date")
        if self.kind == self.Kind.CELL_MEETING and not self.village.strip():
            raise ValidationError(
                {"village": _("Name the village or Party cell whose meeting was attended.")}
            )


class Difficulty(Versioned):
    """A difficulty (khó khăn, vướng mắc) raised by the commune, followed until resolved."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROGRESS = "in_progress", pgettext_lazy("difficulty status", "in progress")
        ESCALATED = "escalated", _("escalated")
        RESOLVED = "resolved", _("resolved")
        CONFIRMED = "confirmed", _("confirmed by the commune")
        UNRESOLVABLE = "unresolvable", _("cannot be resolved")

    # Allowed moves of the lifecycle: open → in progress → escalated → resolved → confirmed.
    TRANSITIONS = {
        Status.OPEN: {Status.IN_PROGRESS, Status.ESCALATED, Status.RESOLVED, Status.UNRESOLVABLE},
        Status.IN_PROGRESS: {Status.ESCALATED, Status.RESOLVED, Status.UNRESOLVABLE},
        Status.ESCALATED: {Status.IN_PROGRESS, Status.RESOLVED, Status.UNRESOLVABLE},
        Status.RESOLVED: {Status.CONFIRMED, Status.IN_PROGRESS},
        Status.CONFIRMED: set(),
        Status.UNRESOLVABLE: {Status.IN_PROGRESS},
    }
    CLOSED = {Status.RESOLVED, Status.CONFIRMED, Status.UNRESOLVABLE}

    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="difficulties",
        limit_choices_to={"level": "commune"},
    )
    raised_on = models.DateField(_("raised on"))
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("raised at visit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="difficulties",
    )
    area = models.CharField(_("area"), max_length=10, choices=Area.choices)
    description = models.TextField(_("description"), max_length=4000)
    proposal = models.TextField(_("proposal"), blank=True, max_length=4000)
    owner = models.CharField(_("owner"), max_length=10, choices=Party.choices, default=Party.AGENCY)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True, max_length=4000)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    unresolvable_reason = models.TextField(
        _("why it cannot be resolved"), blank=True, max_length=4000
    )
    search_text = _search_text("description", "proposal", "resolution")
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("difficulty")
        verbose_name_plural = _("difficulties")
        ordering = ["-raised_on", "-pk"]
        constraints = [
            _in("area", Area, "difficulty_area_valid"),
            _in("owner", Party, "difficulty_owner_valid"),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "open",
                        "in_progress",
                        "escalated",
                        "resolved",
                        "confirmed",
                        "unresolvable",
                    ]
                ),
                name="difficulty_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "confirmed"])
                | (Q(resolved_on__isnull=False) & ~Q(resolution="")),
                name="difficulty_resolved_has_resolution",
            ),
            models.CheckConstraint(
                condition=~Q(status="unresolvable") | ~Q(unresolvable_reason=""),
                name="difficulty_unresolvable_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "status"], name="difficulty_commune_status_idx"),
            # The list's default order, reached by seeking (programme.listing).
            models.Index(fields=["raised_on", "id"], name="difficulty_raised_id_idx"),
            _trigram("difficulty_search_trgm"),
        ]

    def __str__(self) -> str:
        return self.description[:80]

    def get_absolute_url(self) -> str:
        return reverse("programme:difficulty_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED

    @property
    def age_days(self) -> int:
        """Days since it was raised; a closed difficulty stops ageing when it was resolved."""
        end = self.resolved_on if (self.resolved_on and not self.is_open) else timezone.localdate()
        return max(0, (end - self.raised_on).days)

    def clean(self) -> None:
        check_record_date(self.raised_on, "raised_on")
        check_record_date(self.resolved_on, "resolved_on")
        if self.resolved_on and self.raised_on and self.resolved_on < self.raised_on:
            raise ValidationError({"resolved_on": _("It cannot be resolved before it was raised.")})
        if self.status in (self.Status.RESOLVED, self.Status.CONFIRMED):
            errors = {}
            if not self.resolution.strip():
                errors["resolution"] = _("Say how it was resolved.")
            if not self.resolved_on:
                errors["resolved_on"] = _("Give the date it was resolved.")
            if errors:
                raise ValidationError(errors)
        if self.status == self.Status.UNRESOLVABLE and not self.unresolvable_reason.strip():
            raise ValidationError({"unresolvable_reason": _("Say why it cannot be resolved.")})
        if self.visit_id and self.commune_id and self.visit.commune_id != self.commune_id:
            raise ValidationError({"visit": _("That visit was to another commune.")})


class ContributionCategory(InMemoryValidation):
    """The taxonomy of support (seeded, editable in the admin)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    area = models.CharField(
        _("area"),
        max_length=10,
        choices=Area.choices,
        blank=True,
        help_text=_("Empty when the category fits any area."),
    )
    sort = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("in use"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("support category")
        verbose_name_plural = _("support categories")
        ordering = ["sort", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(area__in=[*Area.values, ""]), name="category_area_valid"
            )
        ]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "vi").startswith("en") else self.name_vi


class Contribution(Versioned):
    """Support given to a commune by its agency or one of its enterprises."""

    class Form(models.TextChoices):
        CASH = "cash", _("cash")
        IN_KIND = "in_kind", _("in kind")
        LABOUR = "labour", _("labour (workdays)")

    class Status(models.TextChoices):
        PLEDGED = "pledged", _("pledged")
        DELIVERED = "delivered", _("delivered")

    date = models.DateField(_("date"))
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="contributions",
        limit_choices_to={"level": "commune"},
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contributions",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contributions",
    )
    area = models.CharField(_("area"), max_length=10, choices=Area.choices)
    category = models.ForeignKey(
        ContributionCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="contributions",
    )
    form = models.CharField(_("form"), max_length=8, choices=Form.choices)
    value = models.DecimalField(
        _("value (đồng)"),
        max_digits=18,
        decimal_places=0,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_VALUE)],
    )
    workdays = models.DecimalField(
        _("workdays"),
        max_digits=9,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    daily_rate = models.DecimalField(
        _("daily rate (đồng)"),
        max_digits=12,
        decimal_places=0,
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    beneficiaries = models.PositiveIntegerField(_("beneficiaries"), default=0)
    description = models.TextField(_("description"), max_length=4000)
    note = models.TextField(_("note"), blank=True, max_length=4000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DELIVERED
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    plan_item = models.ForeignKey(
        PlanItem,
        verbose_name=_("plan item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contributions",
    )
    search_text = _search_text("description", "unit")
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(agency__isnull=False) & Q(enterprise__isnull=True))
                | (Q(agency__isnull=True) & Q(enterprise__isnull=False)),
                name="contribution_exactly_one_contributor",
            ),
            _in("area", Area, "contribution_area_valid"),
            models.CheckConstraint(
                condition=Q(form__in=["cash", "in_kind", "labour"]),
                name="contribution_form_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pledged", "delivered"]),
                name="contribution_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(value__gt=0) & Q(value__lte=MAX_VALUE),
                name="contribution_value_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(form="labour")
                | (Q(workdays__isnull=False) & Q(daily_rate__isnull=False)),
                name="contribution_labour_has_workdays",
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "date"], name="contribution_commune_date_idx"),
            models.Index(fields=["agency", "date"], name="contribution_agency_date_idx"),
            models.Index(fields=["enterprise", "date"], name="contribution_ent_date_idx"),
            # The list's default order, reached by seeking (programme.listing).
            models.Index(fields=["date", "id"], name="contribution_date_id_idx"),
            _trigram("contribution_search_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.description[:60]} · {self.commune} · {self.date:%d/%m/%Y}"

    def get_absolute_url(self) -> str:
        return reverse("programme:contribution_detail", args=[self.pk])

    @property
    def contributor(self):
        return self.agency or self.enterprise

    def validate_constraints(self, exclude=None) -> None:
        # clean() words a missing or double contributor for people; skip the constraint's
        # generic "Constraint … is violated." that would repeat it.
        if bool(self.agency_id) == bool(self.enterprise_id):
            exclude = {*(exclude or ()), "agency", "enterprise"}
        super().validate_constraints(exclude=exclude)

    def clean(self) -> None:
        check_record_date(self.date, "date")
        if bool(self.agency_id) == bool(self.enterprise_id):
            raise ValidationError(
                _("A contribution comes from exactly one contributor: an agency or an enterprise.")
            )
        if self.form == self.Form.LABOUR:
            errors = {}
            if not self.workdays:
                errors["workdays"] = _("Give the number of workdays.")
            if not self.daily_rate:
                errors["daily_rate"] = _("Give the value of one workday.")
            if not errors and self.value != labour_value(self.workdays, self.daily_rate):
                errors["value"] = _("For labour the value is workdays × daily rate.")
            if errors:
                raise ValidationError(errors)
        if self.category_id and self.category.area and self.category.area != self.area:
            raise ValidationError(
                {"category": _("This category belongs to another area of support.")}
            )
        if (
            self.plan_item_id
            and self.commune_id
            and self.plan_item.plan.commune_id != self.commune_id
        ):
            raise ValidationError({"plan_item": _("That plan item belongs to another commune.")})


def labour_value(workdays, daily_rate) -> Decimal:
    """Labour is valued as workdays × the value of one workday, in whole đồng."""
    return (Decimal(workdays) * Decimal(daily_rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def attachment_path(instance: "Attachment", filename: str) -> str:
    """A random name that keeps only a safe extension: nothing the user typed reaches the disk."""
    suffix = PurePosixPath(filename).suffix.lower()[:6]
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(InMemoryValidation):
    """A photo, minutes or a receipt on a visit, a difficulty or a contribution."""

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    difficulty = models.ForeignKey(
        Difficulty, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(visit__isnull=False, difficulty__isnull=True, contribution__isnull=True)
                    | Q(visit__isnull=True, difficulty__isnull=False, contribution__isnull=True)
                    | Q(visit__isnull=True, difficulty__isnull=True, contribution__isnull=False)
                ),
                name="attachment_exactly_one_record",
            )
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def record(self):
        return self.visit or self.difficulty or self.contribution


class RollupOutbox(models.Model):
    """Cells of the rollups that a write touched, waiting to be refreshed.

    Rows are written by database triggers on the record tables (migration 0005), in the same
    transaction as the write: whatever saves a record (a page, the admin, an import, a bulk
    load), its pending refresh is saved with it. The reports worker claims rows with
    `FOR UPDATE SKIP LOCKED`, refreshes the cells and deletes them. The programme app knows
    nothing of the rollups themselves.
    """

    class Kind(models.TextChoices):
        CONTRIBUTION = "contribution", _("contribution")
        VISIT = "visit", _("visit")
        DIFFICULTY = "difficulty", _("difficulty")
        PLAN_ITEM = "plan_item", _("plan item")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    commune_id = models.BigIntegerField(_("commune"))
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created at"), db_default=models.functions.Now())

    class Meta:
        verbose_name = _("pending rollup refresh")
        verbose_name_plural = _("pending rollup refreshes")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["contribution", "visit", "difficulty", "plan_item"]),
                name="rollupoutbox_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.commune_id} · {self.day}"


# The import's own records live beside the records they create.
from programme.imports.models import ImportedRecord, ImportJob  # noqa: E402, F401
