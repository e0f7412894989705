"""Admin for corrections to units, successions, designations and NTM data (see admin_history)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from communes.admin_history import FoldedSearchMixin, HistoryAdmin, ValidityListFilter
from communes.models import (
    AdminUnit,
    CriteriaSet,
    Criterion,
    CriterionAssessment,
    Designation,
    NtmRecognition,
    Programme,
    Succession,
)


class ValidFromUntilFilter(ValidityListFilter):
    start_field = "valid_from"
    end_field = "valid_until"


class MissingSuccessorFilter(admin.SimpleListFilter):
    """Ended communes whose successor nobody has recorded yet: for administrators to complete."""

    title = _("successor")
    parameter_name = "successor"

    def lookups(self, request, model_admin):
        return [("missing", _("ended without a successor"))]

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.missing_successor()
        return queryset


@admin.register(Programme)
class ProgrammeAdmin(HistoryAdmin):
    list_display = ["code", "name", "decision_reference", "started_on"]
    search_fields = ["code", "name"]


class SuccessorInline(admin.TabularInline):
    model = Succession
    fk_name = "predecessor"
    fields = ["successor", "effective_date", "partial", "legal_reference"]
    autocomplete_fields = ["successor"]
    extra = 0
    verbose_name = _("successor")
    verbose_name_plural = _("successors")


class PredecessorInline(admin.TabularInline):
    model = Succession
    fk_name = "successor"
    fields = ["predecessor", "effective_date", "partial", "legal_reference"]
    autocomplete_fields = ["predecessor"]
    extra = 0
    verbose_name = _("predecessor")
    verbose_name_plural = _("predecessors")


@admin.register(AdminUnit)
class AdminUnitAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = [
        "full_name",
        "level",
        "code",
        "parent",
        "valid_from",
        "valid_until",
        "source",
    ]
    list_filter = [ValidFromUntilFilter, MissingSuccessorFilter, "level", "kind", "source"]
    list_select_related = ["parent"]
    search_fields = ["search_name__contains", "=code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["source_key"]
    inlines = [PredecessorInline, SuccessorInline]

    @admin.display(description=_("name"), ordering="name")
    def full_name(self, obj: AdminUnit) -> str:
        return obj.full_name


@admin.register(Succession)
class SuccessionAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["predecessor", "successor", "effective_date", "partial", "legal_reference"]
    list_filter = ["partial", "effective_date"]
    list_select_related = ["predecessor", "successor"]
    search_fields = ["predecessor__search_name__contains", "successor__search_name__contains"]
    autocomplete_fields = ["predecessor", "successor"]


@admin.register(Designation)
class DesignationAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["commune", "programme", "valid_from", "valid_until", "decision_reference"]
    list_filter = [ValidFromUntilFilter, "programme"]
    list_select_related = ["commune", "programme"]
    search_fields = ["commune__search_name__contains", "=commune__code"]
    autocomplete_fields = ["commune"]
    readonly_fields = ["is_demo"]


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = ["number", "group", "name"]
    extra = 0


@admin.register(CriteriaSet)
class CriteriaSetAdmin(HistoryAdmin):
    list_display = ["code", "name", "legal_reference", "years"]
    list_filter = ["has_advanced_levels"]
    search_fields = ["code", "name", "legal_reference"]
    inlines = [CriterionInline]

    @admin.display(description=_("years"), ordering="first_year")
    def years(self, obj: CriteriaSet) -> str:
        # Years are not amounts: no thousand separator.
        return f"{obj.first_year}–{obj.last_year}"


@admin.register(Criterion)
class CriterionAdmin(HistoryAdmin):
    list_display = ["number", "name", "group", "criteria_set"]
    list_display_links = ["number", "name"]
    list_filter = ["criteria_set"]
    list_select_related = ["criteria_set"]
    search_fields = ["name", "group"]


@admin.register(CriterionAssessment)
class CriterionAssessmentAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["commune", "criterion", "criteria_set", "assessed_on", "level"]
    list_filter = ["level", "criterion__criteria_set"]
    list_select_related = ["commune", "criterion__criteria_set"]
    search_fields = ["commune__search_name__contains", "=commune__code"]
    autocomplete_fields = ["commune"]
    readonly_fields = ["is_demo"]

    @admin.display(description=_("criteria set"), ordering="criterion__criteria_set__first_year")
    def criteria_set(self, obj: CriterionAssessment) -> str:
        return obj.criterion.criteria_set.code

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "criterion":
            # Criteria of different sets share numbers and names: label each with its set.
            kwargs["queryset"] = Criterion.objects.select_related("criteria_set")
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            field.label_from_instance = lambda c: f"{c.criteria_set.code} · {c}"
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(NtmRecognition)
class NtmRecognitionAdmin(FoldedSearchMixin, HistoryAdmin):
    list_display = ["commune", "level", "recognition_year", "criteria_set", "decision_reference"]
    list_filter = ["level", "criteria_set", "year"]
    list_select_related = ["commune", "criteria_set"]
    search_fields = ["commune__search_name__contains", "=commune__code"]
    autocomplete_fields = ["commune"]
    readonly_fields = ["is_demo"]

    @admin.display(description=_("year"), ordering="year")
    def recognition_year(self, obj: NtmRecognition) -> str:
        return str(obj.year)
