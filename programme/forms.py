"""Forms of the field work. They check what a person can fix; services check the rest."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from partners.models import Agency, Enterprise
from partners.scoping import scope_for
from programme.attachments import detect_attachment_type
from programme.fields import MoneyField, MultipleFileField, VnDateField
from programme.models import (
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    Visit,
    check_record_date,
)
from programme.picker import (  # noqa: F401 (re-exported: other apps scope their forms with them)
    SOURCES,
    PickField,
    agencies_for_forms,
    communes_for_forms,
    districts_for_forms,
    enterprises_for_forms,
)
from programme.scoping import plan_items_for


def check_files(files: list) -> list:
    """At most 10 files, each of an accepted type and size (checked by content)."""
    if len(files) > 10:
        raise ValidationError(_("Attach at most 10 files at a time."))
    errors = []
    for upload in files:
        try:
            detect_attachment_type(upload)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    return files


def _plan_item_label(item: PlanItem) -> str:
    return f"{item.plan.commune.name} {item.plan.year}: {item.title}"


PLAN_ITEM_CHOICES = 200  # plan items of one commune offered in a form


def plan_item_choices(user, commune_id) -> list[tuple[int, str]]:
    """The plan items offered for one commune (all are validated against the user's scope)."""
    if not commune_id:
        return []
    items = (
        plan_items_for(user)
        .filter(plan__commune_id=commune_id)
        .exclude(status=PlanItem.Status.DROPPED)
        .select_related("plan__commune")
        .order_by("-plan__year", "period_kind", "period_number", "pk")[:PLAN_ITEM_CHOICES]
    )
    return [(item.pk, _plan_item_label(item)) for item in items]


class FieldWorkForm(forms.ModelForm):
    """Bootstrap classes, the user's communes and organisations, and checked attachments."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    files = MultipleFileField(label=_("Attachments (photos, minutes, receipts)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name, source in (
            ("commune", "communes"),
            ("agency", "agencies"),
            ("enterprise", "enterprises"),
        ):
            if name not in self.fields:
                continue
            queryset = SOURCES[source].queryset(user)
            kept = getattr(self.instance, f"{name}_id", None)
            if kept:
                # A correction may keep a value that is no longer in the user's scope.
                queryset = queryset | queryset.model.objects.filter(pk=kept)
            old = self.fields[name]
            self.fields[name] = PickField(
                source=source,
                queryset=queryset,
                label=old.label,
                required=old.required,
                help_text=old.help_text,
            )
        if not self.instance.pk and not scope_for(user).is_province:
            # A liaison with one agency or one commune should not have to pick it.
            for name in ("commune", "agency", "enterprise"):
                if name in self.fields and name not in self.initial:
                    choices = list(self.fields[name].queryset[:2])
                    if len(choices) == 1:
                        self.initial[name] = choices[0]
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields.pop("files", None)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def known_commune_id(self) -> int | None:
        """The commune the form is about as it is shown: posted, given as initial, or saved."""
        if "commune" not in self.fields:
            return None
        if self.is_bound:
            raw = self["commune"].data
            pk = raw.pk if isinstance(raw, tuple) else str(raw or "")
            return int(pk) if pk.isdigit() else None
        initial = self.initial.get("commune") or getattr(self.instance, "commune_id", None)
        return getattr(initial, "pk", initial)

    def narrow_plan_items(self, name: str) -> None:
        """Offer only the plan items of the form's commune; picker.js refreshes them on a change.

        The field still validates against every plan item in the user's scope.
        """
        field = self.fields[name]
        field.queryset = plan_items_for(self.user).select_related("plan__commune")
        field.widget.choices = (
            [] if field.widget.allow_multiple_selected else [("", "---------")]
        ) + (plan_item_choices(self.user, self.known_commune_id()))
        field.widget.attrs["data-options-url"] = reverse("programme:pick_plan_items")
        field.widget.attrs["data-options-from"] = f"{self['commune'].auto_id}_id"
        field.label_from_instance = _plan_item_label

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, VnDateField) and cleaned.get(name):
                try:
                    check_record_date(cleaned[name], name)
                except ValidationError as error:
                    self.add_error(None, error)
        return cleaned

    def clean_files(self):
        return check_files(self.cleaned_data.get("files") or [])

    def service_fields(self) -> dict:
        data = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in {"version"} and name in self._meta.fields
        }
        return data


class VisitForm(FieldWorkForm):
    date = VnDateField(label=_("Date"))

    class Meta:
        model = Visit
        fields = [
            "commune",
            "agency",
            "date",
            "kind",
            "village",
            "participants_count",
            "participant_names",
            "summary",
            "follow_ups",
            "plan_items",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 4}),
            "follow_ups": forms.Textarea(attrs={"rows": 2}),
            "participant_names": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.narrow_plan_items("plan_items")
        self.fields["plan_items"].help_text = _("The plan items this visit delivered, if any.")

    def clean(self):
        cleaned = super().clean()
        commune = cleaned.get("commune")
        items = cleaned.get("plan_items") or []
        if commune and any(item.plan.commune_id != commune.pk for item in items):
            self.add_error("plan_items", _("A plan item chosen belongs to another commune."))
        return cleaned


class DifficultyForm(FieldWorkForm):
    raised_on = VnDateField(label=_("Raised on"))
    resolved_on = VnDateField(label=_("Resolved on"), required=False)

    class Meta:
        model = Difficulty
        fields = [
            "commune",
            "raised_on",
            "visit",
            "area",
            "description",
            "proposal",
            "owner",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "proposal": forms.Textarea(attrs={"rows": 2}),
            "visit": forms.HiddenInput,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields.pop("resolved_on")


class DifficultyUpdateForm(FieldWorkForm):
    resolved_on = VnDateField(label=_("Resolved on"), required=False)

    class Meta:
        model = Difficulty
        fields = [
            "area",
            "description",
            "proposal",
            "owner",
            "status",
            "resolution",
            "resolved_on",
            "unresolvable_reason",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "proposal": forms.Textarea(attrs={"rows": 2}),
            "resolution": forms.Textarea(attrs={"rows": 3}),
            "unresolvable_reason": forms.Textarea(attrs={"rows": 2}),
        }


class ContributionForm(FieldWorkForm):
    date = VnDateField(label=_("Date"))
    value = MoneyField(
        label=_("Value (đồng)"),
        required=False,
        help_text=_("Whole đồng, e.g. 1.500.000. For labour it is workdays × daily rate."),
    )
    daily_rate = MoneyField(label=_("Value of one workday (đồng)"), required=False)

    class Meta:
        model = Contribution
        fields = [
            "date",
            "commune",
            "agency",
            "enterprise",
            "category",
            "area",
            "form",
            "value",
            "workdays",
            "daily_rate",
            "quantity",
            "unit",
            "beneficiaries",
            "description",
            "note",
            "status",
            "plan_item",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["category"].queryset = ContributionCategory.objects.filter(active=True)
        self.fields["area"].required = False
        self.fields["area"].help_text = _("Filled from the category when the category has an area.")
        self.narrow_plan_items("plan_item")
        scope = scope_for(user)
        # A liaison gives for their agency, a representative for their enterprise.
        if not scope.is_province:
            if not scope.agency_ids:
                self.fields.pop("agency")
            if not scope.enterprise_ids:
                self.fields.pop("enterprise")

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        if category and category.area:
            cleaned["area"] = category.area
        elif category and not cleaned.get("area"):
            self.add_error("area", _("Choose the area of support for this category."))
        form = cleaned.get("form")
        if form == Contribution.Form.LABOUR:
            if not cleaned.get("workdays"):
                self.add_error("workdays", _("Give the number of workdays."))
            if not cleaned.get("daily_rate"):
                self.add_error("daily_rate", _("Give the value of one workday."))
        elif cleaned.get("value") is None and "value" not in self.errors:
            self.add_error("value", _("Give the value in đồng."))
        agency, enterprise = cleaned.get("agency"), cleaned.get("enterprise")
        if (
            "agency" in self.fields
            and "enterprise" in self.fields
            and bool(agency) == bool(enterprise)
        ):
            raise ValidationError(_("Choose either the agency or the enterprise that gave it."))
        if len(self.fields.keys() & {"agency", "enterprise"}) == 1:
            scope = scope_for(self.user)
            only = "agency" if "agency" in self.fields else "enterprise"
            ids = scope.agency_ids if only == "agency" else scope.enterprise_ids
            if not cleaned.get(only) and len(ids) == 1:
                model = Agency if only == "agency" else Enterprise
                cleaned[only] = model.objects.get(pk=next(iter(ids)))
        plan_item, commune = cleaned.get("plan_item"), cleaned.get("commune")
        if plan_item and commune and plan_item.plan.commune_id != commune.pk:
            self.add_error("plan_item", _("That plan item belongs to another commune."))
        return cleaned

    def _post_clean(self):
        # The model's own checks run in the service, once the contributor and value are settled.
        pass


class PlanForm(FieldWorkForm):
    class Meta:
        model = Plan
        fields = ["commune", "year", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields.pop("files", None)

    def validate_unique(self):
        # plan_create explains a second plan for the same year beside the year field.
        pass

    def validate_constraints(self):
        # Django 6 checks the UniqueConstraint here too; leave it to plan_create as well.
        pass


class PlanStatusForm(FieldWorkForm):
    """Agree a plan (or take it back to draft)."""

    agreed_on = VnDateField(label=_("Agreed on"), required=False)

    class Meta:
        model = Plan
        fields = ["status", "agreed_on", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}


class AttachmentForm(forms.Form):
    files = MultipleFileField(label=_("Attachments (photos, minutes, receipts)"), required=True)

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        if not files:
            raise ValidationError(_("Choose at least one file."))
        return check_files(files)


class PlanItemForm(FieldWorkForm):
    target_value = MoneyField(label=_("Target value (đồng)"), required=False)
    completed_on = VnDateField(label=_("Completed on"), required=False)

    class Meta:
        model = PlanItem
        fields = [
            "area",
            "title",
            "description",
            "period_kind",
            "period_number",
            "responsible",
            "target_text",
            "target_value",
            "status",
            "completed_on",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields.pop("files", None)

    def clean_target_value(self):
        return self.cleaned_data.get("target_value") or 0
