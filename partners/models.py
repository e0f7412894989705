import unicodedata
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from communes.constraints import no_overlapping_terms
from communes.models import AdminUnit, check_term_order
from communes.text import fold_sql

tax_code_validator = RegexValidator(
    regex=r"^\d{10}(-\d{3})?$",
    message=_("A tax code has 10 digits, or 10 digits, a dash and 3 digits (0101234567-001)."),
)


class Agency(models.Model):
    """A provincial agency or unit put in charge of special communes."""

    class Kind(models.TextChoices):
        PARTY = "party", _("Party body")
        STATE = "state", _("State agency")
        MASS = "mass", _("Fatherland Front or mass organisation")
        ARMED = "armed", _("armed forces")
        PUBLIC_SERVICE = "service", _("public service unit")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=255, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STATE)
    contact_name = models.CharField(_("contact person"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    search_name = models.GeneratedField(
        expression=fold_sql(models.F("name")),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["search_name"])

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["party", "state", "mass", "armed", "service", "other"]),
                name="agency_kind_valid",
            )
        ]
        indexes = [models.Index(fields=["search_name"], name="agency_search_idx")]

    def __str__(self) -> str:
        return self.short_name or self.name

    def clean(self) -> None:
        self.name = unicodedata.normalize("NFC", self.name or "").strip()


class Enterprise(models.Model):
    """An enterprise twinned with one or more special communes."""

    name = models.CharField(_("name"), max_length=255)
    tax_code = models.CharField(
        _("tax code"), max_length=14, unique=True, validators=[tax_code_validator]
    )
    sector = models.CharField(_("sector"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    search_name = models.GeneratedField(
        expression=fold_sql(models.F("name")),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["search_name"])

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_code__regex=r"^\d{10}(-\d{3})?$"),
                name="enterprise_tax_code_format",
            )
        ]
        indexes = [models.Index(fields=["search_name"], name="enterprise_search_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = unicodedata.normalize("NFC", self.name or "").strip()


class Role(models.TextChoices):
    LEAD = "lead", _("lead")
    CO_RESPONSIBLE = "co", _("co-responsible")


class TermQuerySet(models.QuerySet):
    def active_on(self, day: date) -> "TermQuerySet":
        return self.filter(Q(start_date__lte=day), Q(end_date__isnull=True) | Q(end_date__gte=day))


class Term(models.Model):
    """A link to a commune that holds from `start_date` to `end_date` (open when empty)."""

    # Subclasses add `commune` with their own related name.
    role = models.CharField(_("role"), max_length=4, choices=Role.choices, default=Role.LEAD)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    decision_reference = models.CharField(_("decision reference"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)

    objects = TermQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        check_term_order(self.start_date, self.end_date, end_field="end_date")
        if self.commune_id and self.commune.level != AdminUnit.Level.COMMUNE:
            raise ValidationError({"commune": _("Choose a commune-level unit.")})

    def overlapping(self, queryset: models.QuerySet) -> models.QuerySet:
        """Rows of `queryset` whose term shares at least one day with this one."""
        others = queryset.exclude(pk=self.pk).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=self.start_date)
        )
        if self.end_date:
            others = others.filter(start_date__lte=self.end_date)
        return others


class Assignment(Term):
    """Agency in charge of a commune (Decision 140-QĐ/TU): at most one lead agency on any day."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="assignments"
    )
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
        related_name="assignments",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assignment (agency in charge)")
        verbose_name_plural = _("assignments (agencies in charge)")
        ordering = ["commune__name", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["lead", "co"]), name="assignment_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="assignment_term_ends_after_start",
            ),
            no_overlapping_terms(
                name="assignment_one_lead_per_commune",
                keys=["commune_id"],
                start="start_date",
                end="end_date",
                condition=Q(role="lead"),
                message=_("A commune has at most one lead agency on any day."),
            ),
            no_overlapping_terms(
                name="assignment_no_duplicate_term",
                keys=["agency_id", "commune_id"],
                start="start_date",
                end="end_date",
                message=_("This agency is already assigned to this commune for part of that term."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} → {self.commune}"

    def get_constraints(self):
        # clean() explains a lead clash, naming the other agency; the constraint need not repeat it.
        return [
            (model, [c for c in constraints if c.name != "assignment_one_lead_per_commune"])
            for model, constraints in super().get_constraints()
        ]

    def clean(self) -> None:
        super().clean()
        if not (self.commune_id and self.start_date):
            return
        if self.role == Role.LEAD:
            clash = (
                self.overlapping(
                    Assignment.objects.filter(commune_id=self.commune_id, role=Role.LEAD)
                )
                .select_related("agency")
                .first()
            )
            if clash:
                raise ValidationError(
                    {
                        "role": _(
                            "%(agency)s is already the lead agency for this commune from "
                            "%(start)s%(end)s. A commune has at most one lead agency on any day: "
                            "end that term first, or choose co-responsible."
                        )
                        % {
                            "agency": clash.agency,
                            "start": clash.start_date.strftime("%d/%m/%Y"),
                            "end": f" – {clash.end_date:%d/%m/%Y}" if clash.end_date else "",
                        }
                    }
                )


class Twinning(Term):
    """An enterprise twinned with a commune (doanh nghiệp kết nghĩa)."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="twinnings"
    )
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
        related_name="twinnings",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("twinning")
        verbose_name_plural = _("twinnings")
        ordering = ["commune__name", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["lead", "co"]), name="twinning_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="twinning_term_ends_after_start",
            ),
            no_overlapping_terms(
                name="twinning_no_duplicate_term",
                keys=["enterprise_id", "commune_id"],
                start="start_date",
                end="end_date",
                message=_(
                    "This enterprise is already twinned with this commune for part of that term."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} ↔ {self.commune}"


class Membership(models.Model):
    """Links a user to the role they play and the agency, enterprise or commune they act for.

    The role is also a Django group of the same name (see `partners.roles`).
    """

    class Role(models.TextChoices):
        PROVINCE_STAFF = "province_staff", _("province staff")
        AGENCY_LIAISON = "agency_liaison", _("agency liaison")
        ENTERPRISE_REP = "enterprise_rep", _("enterprise representative")
        COMMUNE_OFFICER = "commune_officer", _("commune officer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, null=True, blank=True
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, null=True, blank=True
    )
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
    )
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    history = HistoricalRecords()

    # Which organisation each role must name (and only that one).
    ORGANISATION_OF_ROLE = {
        Role.PROVINCE_STAFF: None,
        Role.AGENCY_LIAISON: "agency",
        Role.ENTERPRISE_REP: "enterprise",
        Role.COMMUNE_OFFICER: "commune",
    }

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        role="province_staff",
                        agency__isnull=True,
                        enterprise__isnull=True,
                        commune__isnull=True,
                    )
                    | Q(
                        role="agency_liaison",
                        agency__isnull=False,
                        enterprise__isnull=True,
                        commune__isnull=True,
                    )
                    | Q(
                        role="enterprise_rep",
                        agency__isnull=True,
                        enterprise__isnull=False,
                        commune__isnull=True,
                    )
                    | Q(
                        role="commune_officer",
                        agency__isnull=True,
                        enterprise__isnull=True,
                        commune__isnull=False,
                    )
                ),
                name="membership_organisation_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "agency", "enterprise", "commune"],
                nulls_distinct=False,
                name="membership_unique",
            ),
        ]

    def __str__(self) -> str:
        organisation = self.organisation
        label = self.get_role_display()
        return f"{self.user} · {label}" + (f" · {organisation}" if organisation else "")

    @property
    def organisation(self):
        field = self.ORGANISATION_OF_ROLE.get(self.role)
        return getattr(self, field) if field else None

    def clean(self) -> None:
        wanted = self.ORGANISATION_OF_ROLE.get(self.role)
        errors = {}
        for field in ("agency", "enterprise", "commune"):
            is_set = getattr(self, f"{field}_id") is not None
            if field == wanted and not is_set:
                errors[field] = _("Choose the %(what)s this person acts for.") % {
                    "what": self._meta.get_field(field).verbose_name
                }
            elif field != wanted and is_set:
                errors[field] = _("Leave this empty for the role chosen.")
        if errors:
            raise ValidationError(errors)
