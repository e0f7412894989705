"""Rollup tables: per reporting month and commune, filled only by the reports worker.

Quarter, half-year and year figures are sums of reporting months (programme.periods). Rows point
at communes, agencies and enterprises without database foreign keys: a rollup is derived data,
refreshed after its sources change, and must never block a change to them.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from communes.models import AdminUnit
from partners.models import Agency, Enterprise
from programme.models import ContributionCategory


def _ref(model, name: str, *, null: bool = False, indexed: bool = True) -> models.ForeignKey:
    """A reference without a database constraint. `indexed=False` where another index of the
    table starts with the column (or nothing filters by it): each index costs every refresh
    and the rebuild of the table."""
    return models.ForeignKey(
        model,
        verbose_name=name,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=indexed,
        null=null,
        related_name="+",
    )


class ContributionRollup(models.Model):
    month = models.DateField(_("reporting month"))
    commune = _ref(AdminUnit, _("commune"), indexed=False)
    agency = _ref(Agency, _("agency"), null=True)  # agency reports filter by it
    enterprise = _ref(Enterprise, _("enterprise"), null=True, indexed=False)
    category = _ref(ContributionCategory, _("category"), indexed=False)
    area = models.CharField(_("area"), max_length=10)
    form = models.CharField(_("form"), max_length=8)
    status = models.CharField(_("status"), max_length=10)
    total_value = models.DecimalField(_("total value (đồng)"), max_digits=20, decimal_places=0)
    count = models.PositiveIntegerField(_("number"))

    class Meta:
        verbose_name = _("contribution rollup")
        verbose_name_plural = _("contribution rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "commune",
                    "agency",
                    "enterprise",
                    "category",
                    "area",
                    "form",
                    "status",
                ],
                nulls_distinct=False,
                name="contributionrollup_cell",
            )
        ]
        # Month ranges over every commune read the unique index (it starts with the month).
        indexes = [models.Index(fields=["commune", "month"], name="contribrollup_commune_month")]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} · {self.commune_id} · {self.total_value}"


class SupportByMonth(models.Model):
    """Contribution rollups summed over every commune: one row per (month, area, form, status).

    Kept equal to reports_contributionrollup by database triggers (migration 0007), in the
    transaction that changes the rollup. The national dashboard reads its totals, charts and
    kinds from these few thousand rows instead of millions of rollup rows.
    """

    month = models.DateField(_("reporting month"))
    area = models.CharField(_("area"), max_length=10)
    form = models.CharField(_("form"), max_length=8)
    status = models.CharField(_("status"), max_length=10)
    total_value = models.DecimalField(_("total value (đồng)"), max_digits=20, decimal_places=0)
    count = models.PositiveIntegerField(_("number"))

    class Meta:
        verbose_name = _("support by month")
        verbose_name_plural = _("support by month")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "area", "form", "status"], name="supportbymonth_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} · {self.area} · {self.total_value}"


class DeliveredByCommuneYear(models.Model):
    """Delivered support of a commune in a calendar year of reporting months.

    Kept equal to the delivered rows of reports_contributionrollup by database triggers
    (migration 0007). The dashboard's cumulative column reads whole years from here and only the
    months of partial years from the rollup.
    """

    commune = _ref(AdminUnit, _("commune"), indexed=False)
    year = models.PositiveSmallIntegerField(_("year"))
    total_value = models.DecimalField(_("total value (đồng)"), max_digits=20, decimal_places=0)
    count = models.PositiveIntegerField(_("number"))

    class Meta:
        verbose_name = _("delivered support by commune and year")
        verbose_name_plural = _("delivered support by commune and year")
        constraints = [
            models.UniqueConstraint(fields=["year", "commune"], name="deliveredbycommuneyear_cell")
        ]

    def __str__(self) -> str:
        return f"{self.year} · {self.commune_id} · {self.total_value}"


class VisitRollup(models.Model):
    month = models.DateField(_("reporting month"))
    commune = _ref(AdminUnit, _("commune"), indexed=False)
    agency = _ref(Agency, _("agency"))
    kind = models.CharField(_("kind"), max_length=12)
    count = models.PositiveIntegerField(_("number"))

    class Meta:
        verbose_name = _("visit rollup")
        verbose_name_plural = _("visit rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "commune", "agency", "kind"], name="visitrollup_cell"
            )
        ]
        indexes = [models.Index(fields=["commune", "month"], name="visitrollup_commune_month")]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} · {self.commune_id} · {self.count}"


class DifficultyRollup(models.Model):
    month = models.DateField(_("reporting month"))
    commune = _ref(AdminUnit, _("commune"), indexed=False)
    area = models.CharField(_("area"), max_length=10)
    raised = models.PositiveIntegerField(_("raised"))
    resolved = models.PositiveIntegerField(_("resolved"))

    class Meta:
        verbose_name = _("difficulty rollup")
        verbose_name_plural = _("difficulty rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "commune", "area"], name="difficultyrollup_cell"
            )
        ]
        indexes = [models.Index(fields=["commune", "month"], name="diffrollup_commune_month")]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} · {self.commune_id} · {self.raised}/{self.resolved}"


class OpenDifficulties(models.Model):
    """Difficulties open now in a commune. The median age is today minus the median raising day."""

    commune = models.OneToOneField(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    open_count = models.PositiveIntegerField(_("open"))
    median_raised_on = models.DateField(_("median day raised"), null=True)

    class Meta:
        verbose_name = _("open difficulties")
        verbose_name_plural = _("open difficulties")

    def __str__(self) -> str:
        return f"{self.commune_id} · {self.open_count}"


class PlanItemRollup(models.Model):
    month = models.DateField(_("reporting month"))
    commune = _ref(AdminUnit, _("commune"), indexed=False)
    area = models.CharField(_("area"), max_length=10)
    due = models.PositiveIntegerField(_("due"))
    done = models.PositiveIntegerField(_("done"))

    class Meta:
        verbose_name = _("plan item rollup")
        verbose_name_plural = _("plan item rollups")
        constraints = [
            models.UniqueConstraint(fields=["month", "commune", "area"], name="planitemrollup_cell")
        ]
        indexes = [models.Index(fields=["commune", "month"], name="planrollup_commune_month")]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} · {self.commune_id} · {self.done}/{self.due}"


class PeriodReport(models.Model):
    """A period report for the programme, a commune or an agency, reviewed and signed off.

    draft → submitted → approved, or returned with a comment (and submitted again). Approval
    freezes the figures in `snapshot`; a later correction in the period shows as a difference
    between the snapshot and the current rollups.
    """

    class Kind(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")
        HALF = "half", _("half-year")
        YEAR = "year", _("year")

    class Scope(models.TextChoices):
        PROGRAMME = "programme", _("whole programme")
        COMMUNE = "commune", _("commune")
        AGENCY = "agency", _("agency")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        RETURNED = "returned", _("returned")

    kind = models.CharField(_("period"), max_length=8, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("number"), default=1)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    comment = models.TextField(_("comment"), blank=True, max_length=4000)
    snapshot = models.JSONField(_("approved figures"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("approved or returned at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("period report")
        verbose_name_plural = _("period reports")
        ordering = ["-year", "kind", "-number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["month", "quarter", "half", "year"]),
                name="periodreport_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "approved", "returned"]),
                name="periodreport_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="month", number__gte=1, number__lte=12)
                    | Q(kind="quarter", number__gte=1, number__lte=4)
                    | Q(kind="half", number__gte=1, number__lte=2)
                    | Q(kind="year", number=1)
                ),
                name="periodreport_number_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope="programme", commune__isnull=True, agency__isnull=True)
                    | Q(scope="commune", commune__isnull=False, agency__isnull=True)
                    | Q(scope="agency", commune__isnull=True, agency__isnull=False)
                ),
                name="periodreport_scope_matches",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(snapshot__isnull=False),
                name="periodreport_approved_has_snapshot",
            ),
            models.UniqueConstraint(
                fields=["kind", "year", "number", "scope", "commune", "agency"],
                nulls_distinct=False,
                name="periodreport_one_per_period_and_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}/{self.year} · {self.get_scope_display()}"


class ReminderLog(models.Model):
    """A reminder sent for an obligation; the unique key makes sure it is never sent twice."""

    class Stage(models.TextChoices):
        BEFORE = "before", _("before the due date")
        AFTER = "after", _("after the due date")

    obligation = models.CharField(_("obligation"), max_length=120)
    stage = models.CharField(_("stage"), max_length=6, choices=Stage.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(
                fields=["obligation", "stage", "recipient"], name="reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.obligation} · {self.stage} · {self.recipient_id}"


class ExportJob(models.Model):
    """A large export made by the worker, with progress and a download when ready."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True, max_length=200)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Written when the worker claims the job and with each progress step: a running job whose
    # heartbeat is old lost its worker (reports.exports.exports_fail_stale).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="exportjob_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="exportjob_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.get_status_display()}"


class DataChange(models.Model):
    """One row per SQL statement that changed a table the dashboard or the completeness page
    read (rollups, units, designations, assignments, visits…), written by database triggers
    (migration 0004). `reports.figures_cache` keys its cached pages on (count, max id): it
    changes when any such change commits, whatever the order of the commits."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        verbose_name = _("data change")
        verbose_name_plural = _("data changes")

    def __str__(self) -> str:
        return str(self.pk)


class RollupWrite(models.Model):
    """The audit trail of the rollup tables: one row per drain, rebuild or reconciliation.

    Rollup rows are derived data rewritten in bulk by set-based SQL, so they have no history of
    their own; this row says when the write ran, what it touched, who or what asked for it and
    why, and how it ended. Written only by `reports.audit`; read-only in the admin.
    """

    class Kind(models.TextChoices):
        DRAIN = "drain", _("refresh after changes")
        REBUILD = "rebuild", _("rebuild")
        RECONCILE = "reconcile", _("reconciliation")

    class Trigger(models.TextChoices):
        USER = "user", _("a user, from the rebuild page")
        COMMAND = "command", _("the rollups command")
        SCHEDULED = "scheduled", _("the schedule")
        ON_COMMIT = "on_commit", _("a saved change")
        TASK = "task", _("a worker task")

    class Reason(models.TextChoices):
        RECORDS_CHANGED = "records_changed", _("records changed")
        REQUESTED = "requested", _("requested")
        NIGHTLY = "nightly", _("nightly reconciliation")
        DRIFT_REPAIRED = "drift_repaired", _("drift repaired")

    class Outcome(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        SKIPPED = "skipped", _("skipped: the same rebuild had just run")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Who: a user (the rebuild page), the command and the system account that ran it, or the
    # worker on its own (schedule, after a save).
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    os_user = models.CharField(_("system account"), max_length=150, blank=True)
    task_id = models.CharField(_("worker task"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    # What: the years of a rebuild (empty: all years) or of a reconciliation.
    years = ArrayField(
        models.PositiveSmallIntegerField(), verbose_name=_("years covered"), default=list
    )
    outbox_rows = models.PositiveIntegerField(_("pending refreshes handled"), default=0)
    # Per table (kind): cells refreshed (drain), rows written (rebuild), cells repaired
    # (reconciliation); "open_difficulties": communes refreshed or repaired.
    counts = models.JSONField(_("per table"), default=dict)
    total = models.PositiveBigIntegerField(_("cells or rows"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=Outcome.choices, default=Outcome.RUNNING
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("rollup write")
        verbose_name_plural = _("rollup writes")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["drain", "rebuild", "reconcile"]),
                name="rollupwrite_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=["user", "command", "scheduled", "on_commit", "task"]),
                name="rollupwrite_trigger_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    reason__in=["records_changed", "requested", "nightly", "drift_repaired"]
                ),
                name="rollupwrite_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["running", "done", "skipped", "failed"]),
                name="rollupwrite_outcome_valid",
            ),
            # A write started from a page names its user.
            models.CheckConstraint(
                condition=~Q(trigger="user") | Q(user__isnull=False),
                name="rollupwrite_user_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.started_at:%d/%m/%Y %H:%M} · {self.outcome}"

    @property
    def requester(self) -> str:
        """Who asked for the write, in words."""
        if self.trigger == self.Trigger.USER and self.user is not None:
            return self.user.get_full_name() or self.user.get_username()
        if self.trigger == self.Trigger.COMMAND:
            return _("the rollups command (system account %(account)s)") % {
                "account": self.os_user or "?"
            }
        return str(self.get_trigger_display())

    @property
    def why(self) -> str:
        """Why the write ran, in words (translated when shown, not when written)."""
        if self.reason == self.Reason.RECORDS_CHANGED:
            return _("records changed: %(count)d pending refreshes") % {"count": self.outbox_rows}
        if self.reason == self.Reason.DRIFT_REPAIRED:
            return _("drift repaired: %(count)d cells or communes") % {"count": self.total}
        if self.reason == self.Reason.REQUESTED:
            return _("%(kind)s requested by %(who)s") % {
                "kind": self.get_kind_display(),
                "who": self.requester,
            }
        return str(self.get_reason_display())

    @property
    def scope(self) -> str:
        """The years written, in words."""
        if self.kind == self.Kind.DRAIN:
            return str(_("the changed cells"))
        if not self.years:
            return str(_("all years"))
        return ", ".join(str(year) for year in self.years)
