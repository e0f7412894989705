"""The completeness page, and the rollup rebuild with a live progress bar (province staff)."""

import uuid
from datetime import timedelta

from celery.result import AsyncResult
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from communes.models import AdminUnit
from partners.models import Assignment
from partners.scoping import Scope, scope_for
from programme.periods import Period, reporting_month
from programme.picker import pick_field
from reports.completeness import completeness_kept, grace_days
from reports.models import PeriodReport
from reports.tasks_completeness import PROGRESS, rebuild_with_progress


def _scoped_assignments(scope: Scope):
    assignments = Assignment.objects.all()
    if not scope.is_province:
        assignments = assignments.filter(
            Q(agency_id__in=scope.agency_ids) | Q(commune_id__in=scope.commune_ids)
        )
    return assignments


class CompletenessForm(forms.Form):
    """The period and the filters of the completeness page; choices limited to the user's rows."""

    kind = forms.ChoiceField(label=_("Period"), choices=PeriodReport.Kind.choices)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    number = forms.IntegerField(
        label=_("Number"),
        min_value=1,
        max_value=12,
        required=False,
        help_text=_("Month 1–12, quarter 1–4, half-year 1–2; empty for a year."),
    )

    def __init__(self, *args, scope: Scope, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Typed or picked (programme.picker): a national list of agencies is no <select>.
        self.fields["agency"] = pick_field(
            "assigned-agencies", user, label=_("Agency"), required=False
        )
        assignments = _scoped_assignments(scope)
        self.fields["district"] = pick_field(
            "districts",
            user,
            label=_("District"),
            required=False,
            queryset=AdminUnit.objects.filter(
                level=AdminUnit.Level.DISTRICT, pk__in=assignments.values("commune__parent_id")
            )
            .select_related("parent")
            .order_by("name", "pk"),
        )
        for field in self.fields.values():
            css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else ""
            field.widget.attrs.setdefault("class", css or "form-control form-control-sm")

    def clean(self):
        data = super().clean()
        kind, number = data.get("kind"), data.get("number")
        if kind == "year":
            data["number"] = 1
        elif kind:
            most = 12 // Period.MONTHS[kind]
            if not number or number > most:
                self.add_error(
                    "number",
                    _("Choose a number from 1 to %(most)d for this period.") % {"most": most},
                )
        return data

    def period(self) -> Period:
        data = self.cleaned_data
        return Period(data["kind"], data["year"], data["number"])


def _default_filters() -> dict:
    """The last reporting month whose due date has passed."""
    this_month = reporting_month(timezone.localdate())
    last = reporting_month(this_month - timedelta(days=1))
    return {"kind": "month", "year": last.year, "number": last.month}


SHOWN_ROWS = 30  # agency × commune rows, with a cell per month
SHOWN_SUMMARY_ROWS = 60  # rows of the "by agency" and "by commune" tables


@login_required
def completeness_page(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if not (scope.is_province or scope.agency_ids or scope.commune_ids):
        raise PermissionDenied
    data = request.GET if "kind" in request.GET else _default_filters()
    form = CompletenessForm(data, scope=scope, user=request.user)
    report = kept = None
    if form.is_valid():
        kept = completeness_kept(
            form.period(),
            scope=scope,
            agency_id=form.cleaned_data["agency"].pk if form.cleaned_data["agency"] else None,
            district_id=form.cleaned_data["district"].pk if form.cleaned_data["district"] else None,
        )
        report = kept.value
    context = {"form": form, "report": report, "scope": scope, "grace": grace_days()}
    if kept is not None:
        context.update(computed_at=kept.computed_at, computed_stale=kept.stale)
        # A national programme has thousands of rows: the page shows the first ones (the
        # totals count them all) and the agency and district filters narrow to the others.
        context.update(
            shown_limit=SHOWN_ROWS,
            shown_rows=report.rows[:SHOWN_ROWS],
            shown_agencies=report.by_agency[:SHOWN_SUMMARY_ROWS],
            shown_communes=report.by_commune[:SHOWN_SUMMARY_ROWS],
            more_rows=len(report.rows) > SHOWN_ROWS or len(report.by_commune) > SHOWN_SUMMARY_ROWS,
        )
    return render(request, "reports/completeness.html", context)


# --- Rebuilding the rollups --------------------------------------------------------------------

SESSION_KEY = "rollup_rebuild_tasks"


def _require_province(request: HttpRequest) -> None:
    if not scope_for(request.user).is_province:
        raise PermissionDenied


class RebuildForm(forms.Form):
    year = forms.TypedChoiceField(
        label=_("Year"), required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        first = settings.PROGRAMME_START_DATE.year
        last = timezone.localdate().year + 1
        self.fields["year"].choices = [
            ("", _("all years")),
            *((year, str(year)) for year in range(last, first - 1, -1)),
        ]
        self.fields["year"].widget.attrs["class"] = "form-select"


@login_required
@require_http_methods(["GET", "POST"])
def rebuild(request: HttpRequest) -> HttpResponse:
    """Start `reports.rebuild_with_progress` and follow it on its progress page."""
    _require_province(request)
    form = RebuildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        task_id = str(uuid.uuid4())
        # The task's audit row (reports.audit) names the user who pressed the button.
        kwargs = {"year": form.cleaned_data["year"], "requested_by": request.user.pk}
        transaction.on_commit(
            lambda: rebuild_with_progress.apply_async(kwargs=kwargs, task_id=task_id)
        )
        # Only the person who started a rebuild follows it: task ids are not listed anywhere.
        request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-19:], task_id]
        return redirect("reports:completeness_rebuild_progress", task_id=task_id)
    return render(request, "reports/rebuild.html", {"form": form})


def _started_here(request: HttpRequest, task_id: uuid.UUID) -> str:
    _require_province(request)
    task_id = str(task_id)
    if task_id not in request.session.get(SESSION_KEY, []):
        raise Http404
    return task_id


def _status(task_id: str) -> dict:
    """What the progress bar shows of a rebuild task."""
    result = AsyncResult(task_id, app=rebuild_with_progress.app)
    state, info = result.state, result.info
    figures = info if isinstance(info, dict) and "total" in info else {}
    total = figures.get("total") or 1
    done = figures.get("done", 0)
    if state == "SUCCESS":
        done = total
    return {
        "task_id": task_id,
        "state": state,
        "running": state in ("PENDING", "RECEIVED", "STARTED", "RETRY", PROGRESS),
        "waiting": state in ("PENDING", "RECEIVED"),
        "succeeded": state == "SUCCESS",
        "failed": state in ("FAILURE", "REVOKED"),
        "done": done,
        "total": total,
        "percent": round(100 * done / total),
        "step": figures.get("step", ""),
        "poll_url": reverse("reports:completeness_rebuild_status", args=[task_id]),
    }


@login_required
@never_cache
def rebuild_progress(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    task_id = _started_here(request, task_id)
    return render(request, "reports/rebuild_progress.html", _status(task_id))


@login_required
@never_cache
def rebuild_status(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    """The progress bar alone, polled by htmx every second until the task has finished."""
    task_id = _started_here(request, task_id)
    return render(request, "reports/rebuild_progress.html#status", _status(task_id))
