"""Pages of the spreadsheet import: upload, dry-run report, import, undo, template."""

import csv
import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partners.scoping import Scope, scope_for
from programme.imports.kinds import KINDS
from programme.imports.models import ImportJob
from programme.imports.reading import MAX_UPLOAD_BYTES, FileError, open_sheet
from programme.imports.template_xlsx import template_workbook

PROBLEMS_SHOWN = 500


def kinds_for(scope: Scope) -> list:
    return [kind for kind in KINDS.values() if kind.allowed(scope)]


def imports_for(user):
    scope = scope_for(user)
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if scope.is_province else jobs.filter(created_by=user)


def get_import_for_user(user, pk) -> ImportJob:
    try:
        return imports_for(user).get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind.code, kind.label) for kind in kinds_for(scope)]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s MB. Split it and import the parts one by one.")
                % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise ValidationError(_("The file is empty."))
        return upload


def _inline(job: ImportJob) -> bool:
    return job.size <= settings.IMPORT_INLINE_MAX_BYTES


def _run(task_name: str, job: ImportJob, *args) -> None:
    """Small files are handled during the request; larger ones by the worker."""
    from programme.imports import tasks  # noqa: PLC0415

    task = getattr(tasks, task_name)
    if _inline(job):
        task.run(job.pk, *args)
    else:
        # Requests are atomic: the worker must not look for the job before it is committed.
        transaction.on_commit(lambda: task.delay(job.pk, *args))


def start_import(*, user, kind: str, upload, via_admin: bool = False) -> ImportJob:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    job = ImportJob(
        kind=kind,
        original_name=upload.name[:255],
        size=upload.size,
        sha256=digest.hexdigest(),
        created_by=user,
        via_admin=via_admin,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    job.file.save(upload.name, upload, save=False)
    upload.seek(0)
    try:
        # What can be refused at once (not a spreadsheet, zip bomb, hidden sheets, too many
        # rows) is refused during the request, even for a file the worker would check.
        open_sheet(upload.read())
    except FileError as error:
        job.status = ImportJob.Status.FAILED
        job.message = str(error)
        job.save()
        return job
    job.save()
    _run("import_check", job)
    return job


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if not kinds_for(scope):
        raise PermissionDenied
    form = UploadForm(request.POST or None, request.FILES or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        job = start_import(
            user=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
        return redirect(job)
    context = {
        "form": form,
        "jobs": imports_for(request.user)[:30],
        "kinds": kinds_for(scope),
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "programme/import_list.html", context)


def result_context(request, job: ImportJob) -> dict:
    scope = scope_for(request.user)
    return {
        "job": job,
        "kind": KINDS[job.kind],
        "problems": job.problems[:PROBLEMS_SHOWN],
        "problems_cut": len(job.problems) > PROBLEMS_SHOWN,
        "can_undo": scope.is_province and job.status == ImportJob.Status.DONE,
    }


@login_required
@never_cache
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk)
    template = (
        "programme/_import_result.html"
        if request.headers.get("HX-Request")
        else "programme/import_detail.html"
    )
    return render(request, template, result_context(request, job))


def _back(request, job: ImportJob):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(job)


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk)
    if job.created_by_id != request.user.pk and not scope_for(request.user).is_province:
        raise PermissionDenied
    updated = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.CHECKED, problem_rows=0
    ).update(status=ImportJob.Status.IMPORTING, stage="", progress_done=0)
    if not updated or not (job.to_create or job.to_update):
        messages.error(request, _("This import cannot be started: check the file first."))
        return _back(request, job)
    job.refresh_from_db()
    _run("import_commit", job)
    job.refresh_from_db()
    if job.status == ImportJob.Status.DONE:
        messages.success(
            request,
            _("Imported: %(created)s created, %(updated)s updated.")
            % {"created": job.created, "updated": job.updated},
        )
    return _back(request, job)


@login_required
@require_POST
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk)
    if not scope_for(request.user).is_province:
        raise PermissionDenied
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.UNDOING, message=""
    )
    if not updated:
        messages.error(request, _("Only a finished import can be undone."))
        return _back(request, job)
    _run("import_undo", job, request.user.pk)
    job.refresh_from_db()
    if job.status == ImportJob.Status.UNDONE:
        messages.success(request, _("The import was undone."))
    elif job.message:
        messages.error(request, job.message)
    return _back(request, job)


@login_required
def import_problems(request: HttpRequest, pk: int) -> HttpResponse:
    """Every problem found, as CSV (UTF-8 with BOM, so Excel shows Vietnamese letters)."""
    job = get_import_for_user(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Row"), _("Column"), _("Problem")])
    for row, column, message in job.problems:
        writer.writerow([row, column, _neutralise(message)])
    return response


def _neutralise(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    scope = scope_for(request.user)
    found = next((k for k in kinds_for(scope) if k.code == kind), None)
    if found is None:
        raise Http404
    response = HttpResponse(
        template_workbook(found),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="mau-nhap-{found.code}.xlsx"'
    return response
