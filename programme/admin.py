"""Admin for corrections to the work records. Each change needs a reason and is in the history;
the database triggers queue the rollup refresh whatever saves the record."""

from django.contrib import admin
from django.db.models import F

from communes.admin_history import FoldedSearchMixin, HistoryAdmin
from programme.models import (
    Attachment,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    RollupOutbox,
    Visit,
)


class VersionedAdmin(FoldedSearchMixin, HistoryAdmin):
    """A correction is a new version: an edit opened before it is then refused as stale."""

    readonly_fields = ["version", "created_by", "created_at", "is_demo"]

    def save_model(self, request, obj, form, change):
        if change:
            type(obj).objects.filter(pk=obj.pk).update(version=F("version") + 1)
            obj.version += 1
        elif not obj.created_by_id:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # files are checked by content on the pages, not here


@admin.register(ContributionCategory)
class ContributionCategoryAdmin(HistoryAdmin):
    list_display = ["code", "name_vi", "name_en", "area", "sort", "active"]
    list_editable = ["sort", "active"]
    list_filter = ["area", "active"]
    search_fields = ["code", "name_vi", "name_en"]


class PlanItemInline(admin.TabularInline):
    model = PlanItem
    fields = ["area", "title", "period_kind", "period_number", "responsible", "status"]
    extra = 0


@admin.register(Plan)
class PlanAdmin(VersionedAdmin):
    list_display = ["commune", "year", "status", "agreed_on"]
    list_filter = ["status", "year"]
    list_select_related = ["commune"]
    search_fields = ["commune__search_name__contains"]
    autocomplete_fields = ["commune"]
    inlines = [PlanItemInline]


@admin.register(Visit)
class VisitAdmin(VersionedAdmin):
    list_display = ["date", "commune", "agency", "kind", "village", "participants_count"]
    list_filter = ["kind", "date"]
    list_select_related = ["commune", "agency"]
    search_fields = ["commune__search_name__contains", "agency__search_name__contains"]
    autocomplete_fields = ["commune", "agency"]
    filter_horizontal = ["plan_items"]
    date_hierarchy = "date"
    inlines = [AttachmentInline]


@admin.register(Difficulty)
class DifficultyAdmin(VersionedAdmin):
    list_display = ["raised_on", "commune", "area", "owner", "status", "resolved_on"]
    list_filter = ["status", "area", "owner"]
    list_select_related = ["commune"]
    search_fields = ["commune__search_name__contains", "search_text__contains"]
    autocomplete_fields = ["commune"]
    raw_id_fields = ["visit"]
    date_hierarchy = "raised_on"
    inlines = [AttachmentInline]


@admin.register(Contribution)
class ContributionAdmin(VersionedAdmin):
    list_display = ["date", "commune", "agency", "enterprise", "category", "form", "value"]
    list_filter = ["area", "form", "status", "category"]
    list_select_related = ["commune", "agency", "enterprise", "category"]
    search_fields = [
        "commune__search_name__contains",
        "agency__search_name__contains",
        "enterprise__search_name__contains",
        "search_text__contains",
    ]
    autocomplete_fields = ["commune", "agency", "enterprise"]
    raw_id_fields = ["plan_item"]
    readonly_fields = [*VersionedAdmin.readonly_fields, "confirmed_by", "confirmed_at"]
    date_hierarchy = "date"
    inlines = [AttachmentInline]


@admin.register(RollupOutbox)
class RollupOutboxAdmin(admin.ModelAdmin):
    """Read-only: what the worker has still to refresh (empty when all is up to date)."""

    list_display = ["kind", "commune_id", "day", "created_at"]
    list_filter = ["kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Login logs read-only, users deactivated rather than deleted (see admin_audit); the import's
# admin (upload, reports) is defined with the import. Importing registers them.
from programme import admin_audit as _audit_admin  # noqa: E402, F401
from programme.imports import admin as _imports_admin  # noqa: E402, F401
