"""Pages of the large exports: start one, watch its progress, download the file when ready.

A job belongs to the user who started it: anybody else gets 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from reports import exports
from reports.models import ExportJob


def get_export_for_user(user, pk) -> ExportJob:
    try:
        return ExportJob.objects.get(pk=pk, user=user)
    except (ExportJob.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


class ExportFormatForm(forms.Form):
    format = forms.ChoiceField(
        label=gettext_lazy("File format"),
        choices=[("xlsx", "XLSX (Excel)"), ("csv", "CSV")],
        initial="xlsx",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


FILTER_KEYS_IGNORED = {"page", "_export", "sort", "format", "csrfmiddlewaretoken"}


def _filter_params(data) -> dict:
    """The list's filters from a query string or a form, as plain JSON."""
    params = {}
    for key in data:
        if key in FILTER_KEYS_IGNORED:
            continue
        values = [value for value in data.getlist(key) if value != ""]
        if values:
            params[key] = values if len(values) > 1 else values[0]
    return params


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    jobs = ExportJob.objects.filter(user=request.user).order_by("-created_at")[:50]
    return render(request, "reports/export_list.html", {"jobs": jobs})


@login_required
def export_contributions(request: HttpRequest) -> HttpResponse:
    """GET: the filters (prefilled from the contribution list's query string); POST: start."""
    source = request.POST if request.method == "POST" else request.GET
    params = _filter_params(source)
    filterset = exports.contributions_filtered(request.user, params)
    format_form = ExportFormatForm(request.POST or None)
    if request.method == "POST" and format_form.is_valid():
        try:
            job = exports.contributions_export_start(
                user=request.user, params=params, file_format=format_form.cleaned_data["format"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The export was started. This page shows its progress."))
            return redirect("reports:export_detail", pk=job.pk)
    return render(
        request,
        "reports/export_new.html",
        {"filter": filterset, "format_form": format_form},
    )


@login_required
@never_cache
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # A job whose worker died shows as failed at once, not at beat's next sweep.
    exports.exports_fail_stale(user=request.user)
    job = get_export_for_user(request.user, pk)
    template = (
        "reports/export_progress.html"
        if request.headers.get("HX-Request")
        else "reports/export_detail.html"
    )
    return render(request, template, {"job": job})


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = get_export_for_user(request.user, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    return FileResponse(
        job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1]
    )
