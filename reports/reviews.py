"""Review and sign-off of period reports: who may see and act, the services, what changed.

    draft ──submit──▶ submitted ──approve──▶ approved (snapshot of the figures frozen)
      ▲                   │
      └──── returned ◀────┘ return (a comment is required); submit again

Every step is a conditional UPDATE on the status it starts from, so two clicks (or two people)
cannot both approve: the second finds nothing to update and is told so. The same transaction
writes the history row (who, when, why).

Who may do what:
- province staff read every report, submit any, and approve or return them;
- an agency liaison reads and submits the reports of their agency and of the communes their
  agency is in charge of (in the report's year);
- a commune officer reads and submits the reports of their commune;
- anybody else gets 404; a reader who may not approve gets 403 on approve and return.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, Func, OuterRef, Q, QuerySet, Value
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from communes.models import AdminUnit
from partners.models import Agency, Assignment
from partners.scoping import Scope, scope_for
from programme.models import Contribution, Difficulty, PlanItem, Visit
from programme.periods import Period, reporting_month
from programme.templatetags.vn import format_money
from reports import figures as fig
from reports.models import PeriodReport

Status = PeriodReport.Status
NOTHING = Q(pk__in=[])


class ReportStateError(ValidationError):
    """The report is not in a state that allows this step (e.g. someone approved it already)."""


# --- Scoping ------------------------------------------------------------------------------------


def _assigned_in_report_year(agency_ids) -> Exists:
    """The report's commune was assigned to one of the agencies on at least one day of its year."""
    year = OuterRef("year")
    return Exists(
        Assignment.objects.filter(
            agency_id__in=agency_ids,
            commune_id=OuterRef("commune_id"),
            start_date__lte=Func(year, Value(12), Value(31), function="make_date"),
        ).filter(
            Q(end_date__isnull=True)
            | Q(end_date__gte=Func(year, Value(1), Value(1), function="make_date"))
        )
    )


def _report_q(scope: Scope) -> Q:
    if scope.is_province:
        return Q()
    q = NOTHING
    if scope.commune_ids:
        q |= Q(scope=PeriodReport.Scope.COMMUNE, commune_id__in=scope.commune_ids)
    if scope.agency_ids:
        q |= Q(scope=PeriodReport.Scope.AGENCY, agency_id__in=scope.agency_ids)
        q |= Q(scope=PeriodReport.Scope.COMMUNE) & Q(_assigned_in_report_year(scope.agency_ids))
    return q


def period_reports_for(user) -> QuerySet[PeriodReport]:
    """The reports a user may read."""
    return PeriodReport.objects.filter(_report_q(scope_for(user)))


def can_submit(scope: Scope, report: PeriodReport) -> bool:
    """Province staff submit any report; the others submit what they may read (see above)."""
    if scope.is_province:
        return True
    if report.scope == PeriodReport.Scope.AGENCY:
        return report.agency_id in scope.agency_ids
    if report.scope == PeriodReport.Scope.COMMUNE:
        if report.commune_id in scope.commune_ids:
            return True
        return (
            bool(scope.agency_ids)
            and PeriodReport.objects.filter(pk=report.pk)
            .filter(_assigned_in_report_year(scope.agency_ids))
            .exists()
        )
    return False


def can_decide(scope: Scope) -> bool:
    """Approving and returning is the province's."""
    return scope.is_province


def get_period_report_for_user(
    user, pk, *, change: bool = False, decide: bool = False
) -> PeriodReport:
    """One report: 404 to those who may not read it, 403 to readers who may not act on it."""
    try:
        report = period_reports_for(user).select_related("commune", "agency").get(pk=pk)
    except (PeriodReport.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    scope = scope_for(user)
    if change and not can_submit(scope, report):
        raise PermissionDenied
    if decide and not can_decide(scope):
        raise PermissionDenied
    return report


# --- Services -----------------------------------------------------------------------------------


def _history(report: PeriodReport, *, user, reason: str, at: datetime) -> None:
    """Write the history row of a step made by a conditional UPDATE (which sends no signal)."""
    report._history_user = user
    report._change_reason = reason
    PeriodReport.history.bulk_history_create(
        [report], update=True, default_user=user, default_change_reason=reason, default_date=at
    )


def _check_period(kind: str, year: int, number: int) -> Period:
    try:
        period = Period(kind, year, number)
        first_day, _last = period.days()
    except (KeyError, ValueError):
        raise ValidationError(_("That period does not exist.")) from None
    if first_day > timezone.localdate():
        raise ValidationError(_("That period has not started yet."))
    return period


@transaction.atomic
def period_report_draft(
    *,
    kind: str,
    year: int,
    number: int = 1,
    scope: str,
    commune: AdminUnit | None = None,
    agency: Agency | None = None,
    user=None,
) -> tuple[PeriodReport, bool]:
    """The report of a period and scope, created as a draft when it does not exist yet.

    Idempotent: drafting the same report twice, or at the same time, gives the same row.
    """
    lookup = {
        "kind": kind,
        "year": year,
        "number": number,
        "scope": scope,
        "commune": commune,
        "agency": agency,
    }
    existing = PeriodReport.objects.filter(**lookup).first()
    if existing is not None:
        return existing, False
    report = PeriodReport(**lookup)
    report.full_clean(validate_unique=False, validate_constraints=True)
    if commune is not None and commune.level != AdminUnit.Level.COMMUNE:
        raise ValidationError({"commune": _("Choose a commune-level unit.")})
    _check_period(kind, year, number)
    report._history_user = user
    report._change_reason = _("Drafted")
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        # Drafted meanwhile by someone else (or by the monthly task): take theirs.
        return PeriodReport.objects.get(**lookup), False
    return report, True


def _step(
    report: PeriodReport,
    *,
    user,
    allowed_from: set[str],
    changes: dict,
    reason: str,
    at: datetime,
    refused: str,
) -> PeriodReport:
    updated = PeriodReport.objects.filter(pk=report.pk, status__in=allowed_from).update(**changes)
    if not updated:
        raise ReportStateError(refused)
    report.refresh_from_db()
    _history(report, user=user, reason=reason, at=at)
    return report


@transaction.atomic
def period_report_submit(*, user, report: PeriodReport) -> PeriodReport:
    if not can_submit(scope_for(user), report):
        raise PermissionDenied
    now = timezone.now()
    return _step(
        report,
        user=user,
        allowed_from={Status.DRAFT, Status.RETURNED},
        changes={
            "status": Status.SUBMITTED,
            "submitted_by": user,
            "submitted_at": now,
            # The earlier decision and its comment stay in the history.
            "decided_by": None,
            "decided_at": None,
            "comment": "",
        },
        reason=_("Submitted"),
        at=now,
        refused=_("Only a draft or a returned report can be submitted."),
    )


@transaction.atomic
def period_report_approve(*, user, report: PeriodReport, comment: str = "") -> PeriodReport:
    """Approve a submitted report and freeze its current figures as the snapshot."""
    if not can_decide(scope_for(user)):
        raise PermissionDenied
    now = timezone.now()
    snapshot = fig.snapshot_make(fig.report_figures(report), at=now)
    return _step(
        report,
        user=user,
        allowed_from={Status.SUBMITTED},
        changes={
            "status": Status.APPROVED,
            "snapshot": snapshot,
            "decided_by": user,
            "decided_at": now,
            "comment": comment.strip(),
        },
        reason=_("Approved"),
        at=now,
        refused=_("Only a submitted report can be approved: it was approved or returned already."),
    )


@transaction.atomic
def period_report_return(*, user, report: PeriodReport, comment: str) -> PeriodReport:
    """Send a submitted report back with a comment saying what to fix."""
    if not can_decide(scope_for(user)):
        raise PermissionDenied
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what needs fixing before returning the report.")})
    if len(comment) > PeriodReport._meta.get_field("comment").max_length:
        raise ValidationError({"comment": _("The comment is too long.")})
    now = timezone.now()
    return _step(
        report,
        user=user,
        allowed_from={Status.SUBMITTED},
        changes={
            "status": Status.RETURNED,
            "decided_by": user,
            "decided_at": now,
            "comment": comment,
        },
        reason=_("Returned"),
        at=now,
        refused=_("Only a submitted report can be returned: it was approved or returned already."),
    )


def periods_just_ended(today: date) -> list[Period]:
    """The reporting month that ended last before `today`, and the quarter, half-year and year
    that ended with it."""
    previous = (reporting_month(today) - timedelta(days=1)).replace(day=1)
    periods = [Period("month", previous.year, previous.month)]
    for kind in ("quarter", "half", "year"):
        size = Period.MONTHS[kind]
        if previous.month % size == 0:
            periods.append(Period(kind, previous.year, previous.month // size))
    return periods


def period_reports_draft_due(*, today: date) -> int:
    """Draft the programme report and one report per agency in charge for each period that just
    ended. Idempotent: returns how many reports were created by this run."""
    created = 0
    for period in periods_just_ended(today):
        first_day, last_day = period.days()
        _report, was_created = period_report_draft(
            kind=period.kind,
            year=period.year,
            number=period.number,
            scope=PeriodReport.Scope.PROGRAMME,
        )
        created += was_created
        agencies = (
            Agency.objects.filter(
                Exists(
                    Assignment.objects.filter(
                        agency_id=OuterRef("pk"), start_date__lte=last_day
                    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=first_day))
                )
            )
            .order_by("pk")
            .only("pk")
        )
        for agency in agencies.iterator(chunk_size=500):
            _report, was_created = period_report_draft(
                kind=period.kind,
                year=period.year,
                number=period.number,
                scope=PeriodReport.Scope.AGENCY,
                agency=agency,
            )
            created += was_created
    return created


# --- Reading a report ---------------------------------------------------------------------------


def report_figures_shown(report: PeriodReport) -> tuple[dict, dict | None]:
    """(figures to show, current figures when they differ from the approved ones or None).

    An approved report shows what was approved; the others show the rollups as they are now.
    """
    current = fig.report_figures(report)
    approved = fig.snapshot_figures(report)
    if report.status == Status.APPROVED and approved is not None:
        return approved, current
    return current, None


def report_timeline(report: PeriodReport) -> QuerySet:
    """Every step of the report, oldest first, with who made it and when."""
    return report.history.select_related("history_user").order_by("history_date", "history_id")


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class ChangedRecord:
    kind: str
    title: str
    url: str | None
    action: str
    at: datetime
    user: object
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class Tracked:
    """A kind of record whose corrections may change a report's figures."""

    model: type[models.Model]
    label: object
    fields: tuple[str, ...]
    url_name: str | None

    def in_period(self, scope: fig.Scope, period: Period) -> Q:
        first_day, last_day = period.days()
        actual = fig.windows(period)["actual"]
        if self.model is Contribution or self.model is Visit:
            return Q(date__gte=first_day, date__lte=last_day) & fig.actor_rows(scope)
        if self.model is Difficulty:
            when = Q(raised_on__gte=first_day, raised_on__lte=last_day) | Q(
                resolved_on__gte=first_day, resolved_on__lte=last_day
            )
            return when & fig.commune_rows(scope, actual)
        return fig.plan_due_in(period) & fig.commune_rows(scope, actual, field="plan__commune_id")

    def title(self, row) -> str:
        if self.model is Contribution:
            return f"{row.description[:60]} · {format_money(row.value)} · {row.date:%d/%m/%Y}"
        if self.model is Visit:
            return f"{row.get_kind_display()} · {row.date:%d/%m/%Y}"
        if self.model is Difficulty:
            return f"{row.description[:60]} · {row.raised_on:%d/%m/%Y}"
        return row.title[:80]

    def url(self, row) -> str | None:
        if row.history_type == "-":
            return None
        if self.model is PlanItem:
            return reverse("programme:plan_detail", args=[row.plan_id])
        return reverse(self.url_name, args=[row.id])


TRACKED = (
    Tracked(
        Contribution,
        gettext_lazy("Contribution"),
        ("date", "commune", "agency", "value", "area", "form", "status"),
        "programme:contribution_detail",
    ),
    Tracked(
        Visit,
        gettext_lazy("Visit"),
        ("date", "commune", "agency", "kind"),
        "programme:visit_detail",
    ),
    Tracked(
        Difficulty,
        gettext_lazy("Difficulty"),
        ("raised_on", "resolved_on", "commune", "area", "status"),
        "programme:difficulty_detail",
    ),
    Tracked(
        PlanItem,
        gettext_lazy("Plan item"),
        ("period_kind", "period_number", "area", "status", "target_value", "completed_on"),
        None,
    ),
)
ACTIONS = {"+": gettext_lazy("created"), "~": gettext_lazy("changed"), "-": gettext_lazy("deleted")}


def _display(model, name: str, value, names: dict) -> str:
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(name)
    if isinstance(model_field, models.ForeignKey):
        return names.get((model_field.related_model, value), str(value))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if name in ("value", "target_value"):
        return format_money(value)
    return str(value)


def period_report_changes(report: PeriodReport, *, limit: int = 100) -> list[ChangedRecord]:
    """The corrections made after the approval to records of the report's period and scope.

    A record counts when its new version falls in the period and scope, or when it did before
    the approval (it was moved out, or deleted). Newest first, at most `limit` per kind.
    """
    if report.status != Status.APPROVED or report.decided_at is None:
        return []
    since = report.decided_at
    scope = fig.Scope.of(report)
    period = fig.report_period(report)
    found: list[tuple[Tracked, object]] = []
    for tracked in TRACKED:
        historical = tracked.model.history.model
        in_period = tracked.in_period(scope, period)
        before = historical.objects.filter(
            in_period, id=OuterRef("id"), history_date__lte=since
        ).values("pk")
        rows = list(
            historical.objects.filter(history_date__gt=since)
            .filter(in_period | Q(Exists(before)))
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:limit]
        )
        found += [(tracked, row) for row in rows]
    if not found:
        return []
    previous = _previous_versions(found)
    names = _names(found, previous)
    changed = []
    for tracked, row in sorted(found, key=lambda item: item[1].history_date, reverse=True):
        before = previous.get((tracked.model, row.history_id))
        changes = []
        for name in tracked.fields:
            attname = tracked.model._meta.get_field(name).attname
            new = getattr(row, attname)
            old = getattr(before, attname) if before is not None else None
            if row.history_type == "+" or old != new:
                changes.append(
                    FieldChange(
                        label=str(tracked.model._meta.get_field(name).verbose_name),
                        old="—" if before is None else _display(tracked.model, name, old, names),
                        new=_display(tracked.model, name, new, names),
                    )
                )
        changed.append(
            ChangedRecord(
                kind=str(tracked.label),
                title=tracked.title(row),
                url=tracked.url(row),
                action=str(ACTIONS.get(row.history_type, row.history_type)),
                at=row.history_date,
                user=row.history_user,
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
    return changed


def _previous_versions(found) -> dict:
    """{(model, history_id): the version just before it}, one query per kind of record."""
    previous = {}
    by_model: dict[Tracked, list] = {}
    for tracked, row in found:
        by_model.setdefault(tracked, []).append(row)
    for tracked, rows in by_model.items():
        historical = tracked.model.history.model
        latest = max(row.history_date for row in rows)
        versions = historical.objects.filter(
            id__in={row.id for row in rows}, history_date__lte=latest
        ).order_by("id", "history_date", "history_id")
        chains: dict[int, list] = {}
        for version in versions:
            chains.setdefault(version.id, []).append(version)
        for row in rows:
            chain = chains.get(row.id, [])
            earlier = [
                v
                for v in chain
                if (v.history_date, v.history_id) < (row.history_date, row.history_id)
            ]
            previous[(tracked.model, row.history_id)] = earlier[-1] if earlier else None
    return previous


def _names(found, previous) -> dict:
    """Names of the communes and agencies the changes mention, one query per model."""
    wanted: dict[type, set] = {AdminUnit: set(), Agency: set()}
    rows = [row for _tracked, row in found] + [v for v in previous.values() if v is not None]
    for row in rows:
        for model, attname in ((AdminUnit, "commune_id"), (Agency, "agency_id")):
            value = getattr(row, attname, None)
            if value:
                wanted[model].add(value)
    names = {}
    for model, ids in wanted.items():
        for obj in model.objects.filter(pk__in=ids):
            names[(model, obj.pk)] = str(obj)
    return names
