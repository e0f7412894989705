import unicodedata
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from communes.constraints import no_overlapping_terms
from communes.text import fold, fold_sql


def _choices_constraint(field: str, choices, model: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=f"{model}_{field}_valid"
    )


def _term_order_constraint(model: str, start: str, end: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": models.F(start)}),
        name=f"{model}_term_ends_after_start",
    )


def check_term_order(start: date | None, end: date | None, *, end_field: str) -> None:
    """The readable twin of the term-order database constraint."""
    if start and end and end < start:
        raise ValidationError({end_field: _("The end date cannot be before the start date.")})


class Programme(models.Model):
    """A support programme under which communes are designated (e.g. Decision 140-QĐ/TU)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=255)
    decision_reference = models.CharField(_("decision reference"), max_length=120, blank=True)
    started_on = models.DateField(_("started on"))
    description = models.TextField(_("description"), blank=True)
    cell_meetings_per_month = models.PositiveSmallIntegerField(
        _("Party-cell meetings to attend a month"),
        default=1,
        help_text=_("What the completeness view expects of each agency in charge, per commune."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["started_on", "code"]

    def __str__(self) -> str:
        return self.name


class UnitLevel(models.TextChoices):
    PROVINCE = "province", _("province")
    DISTRICT = "district", _("district")
    COMMUNE = "commune", _("commune")


class UnitKind(models.TextChoices):
    TINH = "tinh", _("province (tỉnh)")
    THANH_PHO = "thanh_pho", _("city (thành phố)")
    HUYEN = "huyen", _("rural district (huyện)")
    THI_XA = "thi_xa", _("town (thị xã)")
    QUAN = "quan", _("urban district (quận)")
    XA = "xa", _("commune (xã)")
    PHUONG = "phuong", _("ward (phường)")
    THI_TRAN = "thi_tran", _("township (thị trấn)")
    DAC_KHU = "dac_khu", _("special zone (đặc khu)")


class UnitSource(models.TextChoices):
    LEGACY = "legacy", _("package, units as of 30/6/2025")
    CURRENT = "current", _("package, units from 1/7/2025")
    MANUAL = "manual", _("entered by hand")


class AdminUnitQuerySet(models.QuerySet):
    def valid_on(self, day: date) -> "AdminUnitQuerySet":
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=day),
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
        )

    def current(self) -> "AdminUnitQuerySet":
        return self.filter(valid_until__isnull=True)

    def communes(self) -> "AdminUnitQuerySet":
        return self.filter(level=AdminUnit.Level.COMMUNE)

    def search(self, text: str) -> "AdminUnitQuerySet":
        """Accent-insensitive match on the name: "chat binh" finds "Chất Bình"."""
        folded = fold(text)
        return self.filter(search_name__contains=folded) if folded else self

    def missing_successor(self) -> "AdminUnitQuerySet":
        """Units that ended but whose successor nobody has recorded yet."""
        has_successor = Succession.objects.filter(predecessor=OuterRef("pk"))
        return self.filter(valid_until__isnull=False, level=AdminUnit.Level.COMMUNE).exclude(
            Exists(has_successor)
        )


class AdminUnit(models.Model):
    """A province, district or commune as it existed between `valid_from` and `valid_until`.

    Units are never renamed in place: a change of the map ends a unit and records its successors.
    """

    Level = UnitLevel
    Kind = UnitKind
    Source = UnitSource

    KIND_PREFIX = {
        Kind.TINH: "Tỉnh",
        Kind.THANH_PHO: "Thành phố",
        Kind.HUYEN: "Huyện",
        Kind.THI_XA: "Thị xã",
        Kind.QUAN: "Quận",
        Kind.XA: "Xã",
        Kind.PHUONG: "Phường",
        Kind.THI_TRAN: "Thị trấn",
        Kind.DAC_KHU: "Đặc khu",
    }

    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    code = models.CharField(_("GSO code"), max_length=10, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    # Natural key of units loaded from the package, so that reloading updates instead of adding.
    source_key = models.CharField(_("source key"), max_length=200, blank=True, editable=False)
    search_name = models.GeneratedField(
        expression=fold_sql(models.F("name")),
        output_field=models.CharField(max_length=120),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["search_name"])

    objects = AdminUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["level", "name"]
        constraints = [
            _choices_constraint("level", UnitLevel, "adminunit"),
            _choices_constraint("kind", UnitKind, "adminunit"),
            _choices_constraint("source", UnitSource, "adminunit"),
            _term_order_constraint("adminunit", "valid_from", "valid_until"),
            models.UniqueConstraint(
                fields=["source_key"],
                condition=~Q(source_key=""),
                name="adminunit_unique_source_key",
            ),
            models.CheckConstraint(
                condition=~Q(source_key="") | Q(source="manual"),
                name="adminunit_package_units_have_key",
            ),
        ]
        indexes = [
            models.Index(fields=["search_name"], name="adminunit_search_idx"),
            models.Index(fields=["level", "valid_until"], name="adminunit_level_valid_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return self.full_name_of(self.kind, self.name)

    @classmethod
    def full_name_of(cls, kind: str, name: str) -> str:
        """ "Xã Gia Sinh" from the kind and the name (also for rows read without an instance)."""
        return f"{cls.KIND_PREFIX.get(kind, '')} {name}".strip()

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def clean(self) -> None:
        # Search folds composed (NFC) text; a name typed in decomposed form would not be found.
        self.name = unicodedata.normalize("NFC", self.name or "").strip()
        check_term_order(self.valid_from, self.valid_until, end_field="valid_until")
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A unit cannot be its own parent.")})
        if self.level != self.Level.PROVINCE and not self.parent_id and self.valid_until is None:
            raise ValidationError({"parent": _("A current district or commune needs a parent.")})


class Succession(models.Model):
    """Predecessor → successor on a date: a merger, a split, or part of an area moving."""

    predecessor = models.ForeignKey(
        AdminUnit,
        verbose_name=_("predecessor"),
        on_delete=models.CASCADE,
        related_name="successions_out",
    )
    successor = models.ForeignKey(
        AdminUnit,
        verbose_name=_("successor"),
        on_delete=models.CASCADE,
        related_name="successions_in",
    )
    effective_date = models.DateField(_("effective date"))
    legal_reference = models.CharField(_("legal reference"), max_length=200, blank=True)
    partial = models.BooleanField(
        _("only part of the area moved"),
        default=False,
        help_text=_("Ticked when the predecessor was divided among several successors."),
    )
    is_default = models.BooleanField(
        _("takes over the records"),
        default=True,
        help_text=_(
            "When a unit was divided among several successors, reports by today's units "
            "count its records under the successor ticked here."
        ),
    )
    note = models.TextField(_("note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("succession")
        verbose_name_plural = _("successions")
        ordering = ["effective_date", "predecessor__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["predecessor", "successor"], name="succession_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(predecessor=models.F("successor")),
                name="succession_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor} → {self.successor} ({self.effective_date:%d/%m/%Y})"

    def clean(self) -> None:
        if self.predecessor_id and self.predecessor_id == self.successor_id:
            raise ValidationError({"successor": _("A unit cannot succeed itself.")})


class DesignationQuerySet(models.QuerySet):
    def active_on(self, day: date) -> "DesignationQuerySet":
        return self.filter(
            Q(valid_from__lte=day), Q(valid_until__isnull=True) | Q(valid_until__gte=day)
        )


class Designation(models.Model):
    """A commune designated as special (xã đặc thù) under a programme, for a term."""

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.PROTECT,
        related_name="designations",
    )
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="designations",
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
    )
    valid_from = models.DateField(_("from"))
    valid_until = models.DateField(_("until"), null=True, blank=True)
    decision_reference = models.CharField(_("decision reference"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    history = HistoricalRecords()

    objects = DesignationQuerySet.as_manager()

    class Meta:
        verbose_name = _("special-commune designation")
        verbose_name_plural = _("special-commune designations")
        ordering = ["commune__name", "valid_from"]
        constraints = [
            _term_order_constraint("designation", "valid_from", "valid_until"),
            no_overlapping_terms(
                name="designation_no_overlap",
                keys=["programme_id", "commune_id"],
                start="valid_from",
                end="valid_until",
                message=_(
                    "This commune is already designated under this programme for part of that term."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commune} ({self.programme.code})"

    def clean(self) -> None:
        check_term_order(self.valid_from, self.valid_until, end_field="valid_until")
        if self.commune_id and self.commune.level != AdminUnit.Level.COMMUNE:
            raise ValidationError({"commune": _("Only a commune-level unit can be designated.")})


class NtmLevel(models.TextChoices):
    NOT_MET = "not_met", _("not met")
    STANDARD = "standard", _("standard")
    ADVANCED = "advanced", _("advanced")
    MODEL = "model", _("model")


class CriteriaSet(models.Model):
    """A versioned set of national new-rural-development (NTM) criteria for communes."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=255)
    legal_reference = models.CharField(_("legal reference"), max_length=255)
    first_year = models.PositiveSmallIntegerField(_("first year"))
    last_year = models.PositiveSmallIntegerField(_("last year"))
    has_advanced_levels = models.BooleanField(_("has advanced and model levels"), default=False)
    note = models.TextField(_("note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("NTM criteria set")
        verbose_name_plural = _("NTM criteria sets")
        ordering = ["first_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_year__gte=models.F("first_year")),
                name="criteriaset_years_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.first_year}–{self.last_year})"


class Criterion(models.Model):
    criteria_set = models.ForeignKey(
        CriteriaSet,
        verbose_name=_("criteria set"),
        on_delete=models.CASCADE,
        related_name="criteria",
    )
    number = models.PositiveSmallIntegerField(_("number"))
    group = models.CharField(_("group"), max_length=120, blank=True)
    name = models.CharField(_("name"), max_length=255)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("NTM criterion")
        verbose_name_plural = _("NTM criteria")
        ordering = ["criteria_set__first_year", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["criteria_set", "number"], name="criterion_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class CriterionAssessment(models.Model):
    """Where a commune stood on one criterion on a date."""

    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="ntm_assessments",
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
    )
    criterion = models.ForeignKey(
        Criterion, verbose_name=_("criterion"), on_delete=models.PROTECT, related_name="assessments"
    )
    assessed_on = models.DateField(_("assessed on"))
    level = models.CharField(_("level reached"), max_length=10, choices=NtmLevel.choices)
    note = models.TextField(_("note"), blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("NTM criterion assessment")
        verbose_name_plural = _("NTM criterion assessments")
        ordering = ["commune__name", "-assessed_on", "criterion__number"]
        constraints = [
            _choices_constraint("level", NtmLevel, "criterionassessment"),
            models.UniqueConstraint(
                fields=["commune", "criterion", "assessed_on"], name="assessment_unique_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commune} · {self.criterion} · {self.get_level_display()}"

    def clean(self) -> None:
        advanced = self.level in (NtmLevel.ADVANCED, NtmLevel.MODEL)
        if advanced and self.criterion_id and not self.criterion.criteria_set.has_advanced_levels:
            raise ValidationError({"level": _("This criteria set has no advanced or model level.")})


class NtmRecognition(models.Model):
    """A decision recognising a commune at an NTM level."""

    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="ntm_recognitions",
        limit_choices_to={"level": AdminUnit.Level.COMMUNE},
    )
    criteria_set = models.ForeignKey(
        CriteriaSet, verbose_name=_("criteria set"), on_delete=models.PROTECT
    )
    level = models.CharField(pgettext_lazy("NTM", "level"), max_length=10, choices=NtmLevel.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    decision_reference = models.CharField(_("decision reference"), max_length=120, blank=True)
    recognised_on = models.DateField(_("recognised on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("NTM recognition")
        verbose_name_plural = _("NTM recognitions")
        ordering = ["-year", "commune__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=["standard", "advanced", "model"]),
                name="ntmrecognition_level_valid",
            ),
            models.UniqueConstraint(
                fields=["commune", "level", "criteria_set"], name="recognition_unique_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commune} · {self.get_level_display()} ({self.year})"

    def clean(self) -> None:
        if self.level == NtmLevel.NOT_MET:
            raise ValidationError({"level": _("Choose the level the commune was recognised at.")})
        if self.criteria_set_id and self.year:
            cs = self.criteria_set
            if not cs.first_year <= self.year <= cs.last_year:
                raise ValidationError(
                    {"year": _("The year is outside the period of the criteria set.")}
                )
            if self.level != NtmLevel.STANDARD and not cs.has_advanced_levels:
                raise ValidationError(
                    {"level": _("This criteria set has no advanced or model level.")}
                )
