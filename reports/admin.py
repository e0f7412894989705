"""The audit trail of the rollup writes (drains, rebuilds, reconciliations), read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from programme.admin_audit import AuditTrailAdmin
from reports.models import RollupWrite


@admin.register(RollupWrite)
class RollupWriteAdmin(AuditTrailAdmin):
    list_display = [
        "started_at",
        "kind",
        "scope_display",
        "requester_display",
        "why_display",
        "total",
        "outcome",
        "finished_at",
    ]
    list_filter = ["kind", "outcome", "trigger", "reason", "started_at"]
    search_fields = ["user__username", "user__last_name", "os_user", "task_id", "error"]
    date_hierarchy = "started_at"
    list_select_related = ["user"]
    show_full_result_count = False  # a drain a minute: the table grows
    fields = [
        "kind",
        "scope_display",
        "started_at",
        "finished_at",
        "trigger",
        "user",
        "os_user",
        "task_id",
        "why_display",
        "outbox_rows",
        "counts",
        "total",
        "outcome",
        "error",
    ]
    readonly_fields = fields

    @admin.display(description=_("years covered"))
    def scope_display(self, obj: RollupWrite) -> str:
        return obj.scope

    @admin.display(description=_("who"))
    def requester_display(self, obj: RollupWrite) -> str:
        return obj.requester

    @admin.display(description=_("why"))
    def why_display(self, obj: RollupWrite) -> str:
        return obj.why
