"""The audit trail in the admin: shown, never changed.

Who changed what, when and why lives in simple-history's historical rows (never registered in
the admin: each record's history page shows them), in the imports and the rows they created, in
`reports.RollupWrite` and in the login logs of django-axes. Their admins derive from
`AuditTrailAdmin`, which refuses adding, changing and deleting to everybody, superusers included;
tests/security/test_audit_admin.py checks every registered model.

Users are not deleted either (deactivate them instead): the history rows would lose the name of
whoever made their changes (simple-history sets `history_user` to NULL).
"""

from axes.admin import AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin


class AuditTrailAdmin(admin.ModelAdmin):
    """Read-only: list, filter, search and open; no add, change, delete or bulk action."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAccessLogAdmin(AuditTrailAdmin, AccessLogAdmin):
    pass


class ReadOnlyAccessFailureLogAdmin(AuditTrailAdmin, AccessFailureLogAdmin):
    pass


class UserKeptAdmin(UserAdmin):
    """Django's user admin without deletion: a user who leaves is deactivated."""

    def has_delete_permission(self, request, obj=None):
        return False


def _replace(model, model_admin) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)


# django-axes registers its logs with delete rights (and its own lockout counters, which stay
# deletable: deleting an AccessAttempt is how a locked-out user is let in again).
_replace(AccessLog, ReadOnlyAccessLogAdmin)
_replace(AccessFailureLog, ReadOnlyAccessFailureLogAdmin)
_replace(get_user_model(), UserKeptAdmin)
