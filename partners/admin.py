"""Admin for corrections to agencies, enterprises, their terms and memberships."""

from django.contrib import admin

from communes.admin_history import FoldedSearchMixin, HistoryAdmin, ValidityListFilter
from partners.models import Agency, Assignment, Enterprise, Membership, Twinning

TERM_FIELDS = ["role", "start_date", "end_date", "decision_reference"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fields = ["commune", *TERM_FIELDS]
    autocomplete_fields = ["commune"]
    extra = 0


class TwinningInline(admin.TabularInline):
    model = Twinning
    fields = ["commune", *TERM_FIELDS]
    autocomplete_fields = ["commune"]
    extra = 0


@admin.register(Agency)
class AgencyAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["name", "short_name", "kind", "contact_name", "phone", "email", "is_demo"]
    list_filter = ["kind", "is_demo"]
    # Short names are mostly initials (UBMTTQ, STNMT): the folded term finds them too.
    search_fields = ["search_name__contains", "short_name"]
    readonly_fields = ["is_demo"]
    inlines = [AssignmentInline]


@admin.register(Enterprise)
class EnterpriseAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["name", "tax_code", "sector", "contact_name", "phone", "email", "is_demo"]
    list_filter = ["is_demo"]
    search_fields = ["search_name__contains", "^tax_code"]
    readonly_fields = ["is_demo"]
    inlines = [TwinningInline]


class TermAdmin(FoldedSearchMixin, HistoryAdmin):
    list_filter = [ValidityListFilter, "role", "is_demo"]
    autocomplete_fields = ["commune"]
    readonly_fields = ["is_demo"]


@admin.register(Assignment)
class AssignmentAdmin(TermAdmin):
    list_display = ["commune", "agency", "role", "start_date", "end_date", "decision_reference"]
    list_select_related = ["commune", "agency"]
    search_fields = [
        "commune__search_name__contains",
        "=commune__code",
        "agency__search_name__contains",
        "agency__short_name",
    ]
    autocomplete_fields = ["agency", "commune"]


@admin.register(Twinning)
class TwinningAdmin(TermAdmin):
    list_display = [
        "commune",
        "enterprise",
        "role",
        "start_date",
        "end_date",
        "decision_reference",
    ]
    list_select_related = ["commune", "enterprise"]
    search_fields = [
        "commune__search_name__contains",
        "=commune__code",
        "enterprise__search_name__contains",
        "^enterprise__tax_code",
    ]
    autocomplete_fields = ["enterprise", "commune"]


@admin.register(Membership)
class MembershipAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["user", "role", "agency", "enterprise", "commune", "is_demo"]
    list_filter = ["role", "is_demo"]
    list_select_related = ["user", "agency", "enterprise", "commune"]
    search_fields = [
        "user__username",
        "agency__search_name__contains",
        "enterprise__search_name__contains",
        "commune__search_name__contains",
    ]
    autocomplete_fields = ["user", "agency", "enterprise", "commune"]
    readonly_fields = ["is_demo"]
