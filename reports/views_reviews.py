"""Pages of the period reports: the list, drafting one, reading one, the review steps, exports.

Every report is fetched through `reviews.get_period_report_for_user`.
"""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import PageNotAnInteger
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from partners.scoping import scope_for
from programme.picker import pick_field
from reports import exports, reviews
from reports import figures as fig
from reports.models import PeriodReport

# --- List ---------------------------------------------------------------------------------------


class PeriodReportFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label=gettext_lazy("Year"), min_value=2000, max_value=2100)

    class Meta:
        model = PeriodReport
        fields = ["year", "kind", "scope", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(form_field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            form_field.widget.attrs.setdefault("class", css)


STATUS_BADGES = {
    PeriodReport.Status.DRAFT: "text-bg-secondary",
    PeriodReport.Status.SUBMITTED: "text-bg-primary",
    PeriodReport.Status.APPROVED: "text-bg-success",
    PeriodReport.Status.RETURNED: "text-bg-warning",
}


class PeriodReportTable(tables.Table):
    period = tables.Column(
        verbose_name=gettext_lazy("Period"), accessor="pk", order_by=("year", "kind", "number")
    )
    scope = tables.Column(verbose_name=gettext_lazy("For"), order_by=("scope",))
    status = tables.Column(verbose_name=gettext_lazy("Status"))
    submitted_at = tables.DateTimeColumn(format="d/m/Y H:i")
    decided_at = tables.DateTimeColumn(format="d/m/Y H:i")

    class Meta:
        model = PeriodReport
        fields = ["period", "scope", "status", "submitted_at", "decided_at"]
        attrs = {"class": "table table-sm table-hover align-middle", "id": "reports"}

    def render_period(self, record):
        url = reverse("reports:report_detail", args=[record.pk])
        label = fig.period_label(record.kind, record.year, record.number)
        return format_html('<a href="{}">{}</a>', url, label)

    def render_scope(self, record):
        return fig.scope_label(record)

    def render_status(self, record):
        return format_html(
            '<span class="badge {}">{}</span>',
            STATUS_BADGES.get(record.status, "text-bg-light"),
            record.get_status_display(),
        )


class BoundedLazyPaginator(LazyPaginator):
    """A page number past any real list is not a page: ?page=10**40 would overflow OFFSET."""

    MAX_PAGE = 10_000

    def validate_number(self, number):
        number = super().validate_number(number)
        if number > self.MAX_PAGE:
            raise PageNotAnInteger(_("That page number is too large."))
        return number


class PeriodReportListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    template_name = "reports/report_list.html"
    table_class = PeriodReportTable
    filterset_class = PeriodReportFilter
    paginate_by = 25
    paginator_class = BoundedLazyPaginator

    def paginate_queryset(self, queryset, page_size):
        # The table paginates, falling back to a page that exists; ListView's own paginator
        # would answer 404 to ?page=0, ?page=abc or a page past the end.
        return None, None, queryset, False

    def get_queryset(self):
        return (
            reviews.period_reports_for(self.request.user)
            .select_related("commune", "agency")
            .order_by("-year", "-pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = scope_for(self.request.user)
        context["can_draft"] = bool(scope.is_province or scope.agency_ids or scope.commune_ids)
        return context


# --- Drafting -----------------------------------------------------------------------------------


class ReportDraftForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Period"), choices=PeriodReport.Kind.choices)
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2016, max_value=2100)
    number = forms.IntegerField(
        label=gettext_lazy("Number"),
        min_value=1,
        max_value=12,
        initial=1,
        help_text=gettext_lazy("Month 1–12, quarter 1–4, half-year 1–2; 1 for a year."),
    )
    scope = forms.ChoiceField(label=gettext_lazy("For"), choices=PeriodReport.Scope.choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Typed or picked (programme.picker): province staff any commune, the others their own.
        self.fields["commune"] = pick_field(
            "communes", user, label=gettext_lazy("Commune"), required=False
        )
        self.fields["agency"] = pick_field(
            "agencies", user, label=gettext_lazy("Agency"), required=False
        )
        if not scope_for(user).is_province:
            self.fields["scope"].choices = [
                c for c in PeriodReport.Scope.choices if c[0] != PeriodReport.Scope.PROGRAMME
            ]
        if not self.is_bound:
            self.initial.setdefault("year", timezone.localdate().year)
        for form_field in self.fields.values():
            css = "form-select" if isinstance(form_field.widget, forms.Select) else "form-control"
            form_field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == PeriodReport.Scope.COMMUNE:
            if not cleaned.get("commune"):
                self.add_error("commune", _("Choose the commune."))
            cleaned["agency"] = None
        elif scope == PeriodReport.Scope.AGENCY:
            if not cleaned.get("agency"):
                self.add_error("agency", _("Choose the agency."))
            cleaned["commune"] = None
        else:
            cleaned["commune"] = cleaned["agency"] = None
        if cleaned.get("kind") == PeriodReport.Kind.YEAR:
            cleaned["number"] = 1
        return cleaned


@login_required
def report_new(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if not (scope.is_province or scope.agency_ids or scope.commune_ids):
        raise PermissionDenied
    form = ReportDraftForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                report, created = reviews.period_report_draft(
                    kind=data["kind"],
                    year=data["year"],
                    number=data["number"],
                    scope=data["scope"],
                    commune=data["commune"],
                    agency=data["agency"],
                    user=request.user,
                )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            if created:
                messages.success(request, _("The report was drafted."))
            else:
                messages.info(request, _("This report exists already: here it is."))
            return redirect("reports:report_detail", pk=report.pk)
    return render(
        request, "reports/report_form.html", {"form": form, "title": _("Draft a period report")}
    )


# --- One report ---------------------------------------------------------------------------------


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = reviews.get_period_report_for_user(request.user, pk)
    scope = scope_for(request.user)
    shown, current = reviews.report_figures_shown(report)
    differences = fig.figures_differences(shown, current) if current is not None else []
    context = {
        "report": report,
        "period": fig.period_label(report.kind, report.year, report.number),
        "scope_label": fig.scope_label(report),
        "rows": fig.table_rows(shown),
        "headers": exports.HEADERS,
        "differences": differences,
        "changes": reviews.period_report_changes(report) if differences else [],
        "timeline": reviews.report_timeline(report),
        "can_submit": report.status in (PeriodReport.Status.DRAFT, PeriodReport.Status.RETURNED)
        and reviews.can_submit(scope, report),
        "can_decide": report.status == PeriodReport.Status.SUBMITTED and reviews.can_decide(scope),
        "status_badge": STATUS_BADGES.get(report.status, "text-bg-light"),
    }
    return render(request, "reports/report_detail.html", context)


def _step(request, pk: int, action) -> HttpResponse:
    try:
        action()
    except reviews.ReportStateError as error:
        messages.error(request, " ".join(error.messages))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("reports:report_detail", pk=pk)


@login_required
@require_POST
def report_submit(request: HttpRequest, pk: int) -> HttpResponse:
    report = reviews.get_period_report_for_user(request.user, pk, change=True)

    def submit():
        reviews.period_report_submit(user=request.user, report=report)
        messages.success(request, _("The report was submitted for approval."))

    return _step(request, pk, submit)


@login_required
@require_POST
def report_approve(request: HttpRequest, pk: int) -> HttpResponse:
    report = reviews.get_period_report_for_user(request.user, pk, decide=True)

    def approve():
        reviews.period_report_approve(
            user=request.user, report=report, comment=request.POST.get("comment", "")[:4000]
        )
        messages.success(request, _("The report was approved; its figures are frozen."))

    return _step(request, pk, approve)


@login_required
@require_POST
def report_return(request: HttpRequest, pk: int) -> HttpResponse:
    report = reviews.get_period_report_for_user(request.user, pk, decide=True)

    def send_back():
        reviews.period_report_return(
            user=request.user, report=report, comment=request.POST.get("comment", "")
        )
        messages.success(request, _("The report was returned with your comment."))

    return _step(request, pk, send_back)


EXPORTS = {
    "xlsx": (
        exports.report_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "csv": (exports.report_csv, "text/csv; charset=utf-8"),
    "pdf": (exports.report_pdf, "application/pdf"),
}


@login_required
def report_export(request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
    if file_format not in EXPORTS:
        raise Http404
    report = reviews.get_period_report_for_user(request.user, pk)
    make, content_type = EXPORTS[file_format]
    response = HttpResponse(make(report), content_type=content_type)
    stem = exports.report_filename_stem(report)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{file_format}"'
    return response
