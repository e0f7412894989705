"""Imports in the admin: administrators upload there too, and see every import with its report.

The admin uses the same engine, checks and templates as the main pages; an import's records
are read-only here (the history of each imported record is on that record).
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from partners.scoping import scope_for
from programme.imports.models import ImportJob
from programme.imports.views import UploadForm, kinds_for, result_context, start_import


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "original_name",
        "kind_label",
        "status",
        "created",
        "updated",
        "problem_rows",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "kind", "via_admin"]
    search_fields = ["original_name", "created_by__username"]
    date_hierarchy = "created_at"
    change_list_template = "admin/programme/importjob/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="programme_importjob_upload",
            ),
            path(
                "<int:pk>/report/",
                self.admin_site.admin_view(self.report_view),
                name="programme_importjob_report",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:programme_importjob_report", pk=object_id)

    def upload_view(self, request):
        scope = scope_for(request.user)
        # admin_view lets in any staff user, even one without rights or a role to import with.
        if not (self.has_view_permission(request) and kinds_for(scope)):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, scope=scope)
        if request.method == "POST" and form.is_valid():
            job = start_import(
                user=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                via_admin=True,
            )
            return redirect("admin:programme_importjob_report", pk=job.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import from a spreadsheet"),
            "form": form,
        }
        return TemplateResponse(request, "admin/programme/importjob/upload.html", context)

    def report_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = ImportJob.objects.filter(pk=pk).select_related("created_by").first()
        if job is None:
            return redirect("admin:programme_importjob_changelist")
        context = {
            **self.admin_site.each_context(request),
            **result_context(request, job),
            "opts": self.model._meta,
            "title": _("Import #%(id)s") % {"id": job.pk},
            "next": reverse("admin:programme_importjob_report", args=[job.pk]),
        }
        return TemplateResponse(request, "admin/programme/importjob/report.html", context)
