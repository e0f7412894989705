"""Reusable admin pieces: corrections that carry a reason, history with diffs, and revert.

Every admin correction is recorded by django-simple-history with who, when and why:

- the add and change forms, and the revert form of the history page, get a required
  "Reason for this change" field (a form field, not a model field). `save_model` and
  `save_formset` put it on each instance as `_change_reason`, which simple-history stores in
  `history_change_reason`; the user comes from `HistoryRequestMiddleware` and `_history_user`;
- deleting asks for a reason on the confirmation page, and the reason goes on every row the
  deletion removes, cascaded rows included;
- the bulk "delete selected" action is switched off, because its confirmation page has no room
  for a reason: rows are deleted one at a time;
- the history page (`SimpleHistoryAdmin`) lists user, date, reason and the changed fields with
  their old and new values. Historical models are not registered, so the trail is read-only.

Also here: accent-insensitive search over the generated `search_name` columns, and a
"current / ended" list filter for models with a validity period.
"""

import copy

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import models, router
from django.db.models import Q
from django.db.models.deletion import Collector
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import ModelChange, ModelChangeValue
from simple_history.template_utils import HistoricalRecordContextHelper

from communes.text import fold

REASON_FIELD = "change_reason"
# simple-history's default `history_change_reason` column is a CharField(max_length=100).
REASON_MAX_LENGTH = 100


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for this change"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Required. Kept in the history of the record with your name and the time."),
        widget=forms.TextInput(attrs={"size": 80}),
    )


class ChangeReasonForm(forms.ModelForm):
    """Base form of every history admin: the model's fields plus the required reason."""

    change_reason = _reason_field()


class DeleteReasonForm(forms.Form):
    change_reason = _reason_field()


class ReadableDeltaContextHelper(HistoricalRecordContextHelper):
    """Shows choice labels, dates in the local format and yes/no icons in the history diffs."""

    def prepare_delta_change_value(self, change: ModelChange, value: ModelChangeValue):
        field = self.model._meta.get_field(change.field)
        if field.choices or isinstance(field, (models.BooleanField, models.DateField)):
            return display_for_field(value, field, "-")
        return super().prepare_delta_change_value(change, value)


def delete_with_reason(obj: models.Model, *, reason: str, user) -> None:
    """Delete `obj` like `obj.delete()`, with the reason and user on every row removed.

    `Model.delete()` collects the object and its cascaded rows, then deletes them; doing the same
    here lets the reason reach the instances whose `post_delete` writes the history records.
    """
    collector = Collector(using=router.db_for_write(obj.__class__, instance=obj), origin=obj)
    collector.collect([obj])
    for instances in collector.data.values():
        for instance in instances:
            instance._change_reason = reason
            instance._history_user = user
    collector.delete()


def _as_get(request: HttpRequest) -> HttpRequest:
    """A copy of a POST request without its data, so a view shows its page instead of acting."""
    get_request = copy.copy(request)
    get_request.method = "GET"
    get_request.POST = QueryDict()
    return get_request


class HistoryAdmin(SimpleHistoryAdmin):
    """ModelAdmin for corrections: a required reason on every write, history with diffs, revert.

    A subclass that sets its own `form` must derive it from `ChangeReasonForm`.
    """

    form = ChangeReasonForm
    delete_confirmation_template = "admin/history_delete_confirmation.html"
    # The unfiltered total costs one more COUNT(*) on every page; the filtered count is enough.
    show_full_result_count = False

    # --- the reason field on the add, change and revert forms --------------------------------

    def _may_write(self, request, obj) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != REASON_FIELD]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if not self._may_write(request, obj):
            # A read-only page shows no form fields, so it has no reason to give either.
            return fieldsets
        return [*fieldsets, (_("Reason for this change"), {"fields": [REASON_FIELD]})]

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data[REASON_FIELD]
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data[REASON_FIELD]
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            delete_with_reason(obj, reason=reason, user=request.user)
        for obj in instances:
            obj._change_reason = reason
            obj._history_user = request.user
            obj.save()
        formset.save_m2m()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history saves a posted revert for anyone who may *view* the history.
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- deletion --------------------------------------------------------------------------

    def delete_view(self, request, object_id, extra_context=None):
        reason_form = DeleteReasonForm(request.POST or None)
        if request.POST and not reason_form.is_valid():
            # Show the confirmation page again, with the error: nothing is deleted.
            request = _as_get(request)
        extra_context = {**(extra_context or {}), "reason_form": reason_form}
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        reason_form = DeleteReasonForm(request.POST)
        if not reason_form.is_valid():
            # delete_view lets only a valid reason through; anything else is not our form.
            raise SuspiciousOperation("Deletion without a reason.")
        delete_with_reason(obj, reason=reason_form.cleaned_data[REASON_FIELD], user=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk deletion would bypass the reason: delete one record at a time instead.
        actions.pop("delete_selected", None)
        return actions

    # --- the history page --------------------------------------------------------------------

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableDeltaContextHelper(self.model, historical_record)


class FoldedSearchMixin:
    """Accent-insensitive search: "chat binh" finds "Chất Bình" (and the autocomplete too).

    The term is folded like the generated `search_name` columns, so list those columns in
    `search_fields` as `search_name__contains` (or `commune__search_name__contains`). Other
    fields in `search_fields` receive the folded term too: use them only for codes and other
    text without diacritics.
    """

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, fold(search_term))


class ValidityListFilter(admin.SimpleListFilter):
    """Current (valid today) or ended; subclasses name their start and end date fields."""

    title = _("validity")
    parameter_name = "validity"
    start_field = "start_date"
    end_field = "end_date"

    def lookups(self, request, model_admin):
        return [("current", _("current")), ("ended", _("ended"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        start, end = self.start_field, self.end_field
        if self.value() == "current":
            return queryset.filter(
                Q(**{f"{start}__isnull": True}) | Q(**{f"{start}__lte": today}),
                Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": today}),
            )
        if self.value() == "ended":
            return queryset.filter(**{f"{end}__lt": today})
        return queryset
