"""Search-as-you-type choice of a commune, district, agency or enterprise.

A national database holds 14.000 communes, 1.000 agencies and 3.000 enterprises: a <select> of
them weighs hundreds of KiB. A `PickField` renders a text box and a hidden id instead;
static/js/picker.js offers matches from `pick_view` (scoped to the user) as one types. Without
JavaScript the text box is an ordinary one and the server resolves what was typed.

Validation stays on the server: the id posted must be in the user's scope, else the field says so.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.forms.utils import flatatt
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from communes.models import AdminUnit
from communes.text import fold
from partners.models import Agency, Assignment, Enterprise
from partners.scoping import communes_in_scope, scope_for

RESULTS = 20  # matches offered at a time
TEXT_SUFFIX = "_text"  # name of the visible text box beside the hidden id
UNIT_PREFIXES = tuple(
    f"{fold(prefix)} " for prefix in sorted(AdminUnit.KIND_PREFIX.values(), key=len, reverse=True)
)


# --- What a user may pick -----------------------------------------------------------------------


def communes_for_forms(user) -> QuerySet[AdminUnit]:
    """Communes a user may pick: their own (on any day); province staff, any commune."""
    scope = scope_for(user)
    units = AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE)
    if not scope.is_province:
        units = units.filter(communes_in_scope(scope))
    return units.select_related("parent__parent").order_by("name", "pk")


def districts_for_forms(user) -> QuerySet[AdminUnit]:
    """Districts (legacy units above communes) of the communes a user may pick."""
    scope = scope_for(user)
    units = AdminUnit.objects.filter(level=AdminUnit.Level.DISTRICT)
    if not scope.is_province:
        units = units.filter(
            pk__in=AdminUnit.objects.filter(communes_in_scope(scope)).values("parent_id")
        )
    return units.select_related("parent").order_by("name", "pk")


def agencies_for_forms(user) -> QuerySet[Agency]:
    scope = scope_for(user)
    agencies = Agency.objects.order_by("name", "pk")
    return agencies if scope.is_province else agencies.filter(pk__in=scope.agency_ids)


def enterprises_for_forms(user) -> QuerySet[Enterprise]:
    scope = scope_for(user)
    enterprises = Enterprise.objects.order_by("name", "pk")
    return enterprises if scope.is_province else enterprises.filter(pk__in=scope.enterprise_ids)


def assigned_agencies_for(user) -> QuerySet[Agency]:
    """Agencies with an assignment the user may see (the completeness page's filter)."""
    scope = scope_for(user)
    agencies = Agency.objects.order_by("name", "pk")
    if scope.is_province:
        return agencies
    assignments = Assignment.objects.filter(
        Q(agency_id__in=scope.agency_ids) | Q(commune_id__in=scope.commune_ids)
    )
    return agencies.filter(pk__in=assignments.values("agency_id"))


# --- Labels and matching ------------------------------------------------------------------------


def unit_label(unit: AdminUnit) -> str:
    """ "Xã Gia Hưng (Huyện Gia Viễn, Ninh Bình) · until 30/06/2025": the same name recurs."""
    above = []
    if unit.parent_id:
        above.append(unit.parent.full_name)
        if unit.parent.parent_id:
            above.append(unit.parent.parent.name)
    label = f"{unit.full_name} ({', '.join(above)})" if above else unit.full_name
    if unit.valid_until:
        until = date_format(unit.valid_until, "d/m/Y")
        label += " · " + _("until %(date)s") % {"date": until}
    return label


def agency_label(agency: Agency) -> str:
    if agency.short_name and agency.short_name != agency.name:
        return f"{agency.name} ({agency.short_name})"
    return agency.name


def enterprise_label(enterprise: Enterprise) -> str:
    return f"{enterprise.name} ({enterprise.tax_code})"


def unit_core(folded: str) -> str:
    """The name part of a folded unit label: no "(district …)" tail, no "xã "/"phường " prefix."""
    core = folded.split("(", 1)[0].split(" · ", 1)[0].strip()
    for prefix in UNIT_PREFIXES:
        if core.startswith(prefix):
            return core[len(prefix) :].strip()
    return core


def agency_core(folded: str) -> str:
    return folded.split("(", 1)[0].strip()


@dataclass(frozen=True)
class Source:
    """One kind of thing to pick: who may pick what, how it is labelled and matched."""

    name: str
    queryset: Callable  # user -> the scoped queryset
    label: Callable  # object -> str
    core: Callable  # folded text -> the part compared with search_name
    noun: str  # for messages
    also: Callable = lambda folded, text: Q()  # more ways to match typed text

    def search(self, queryset: QuerySet, text: str) -> QuerySet:
        """Matches of `text`, whole-name and prefix matches first."""
        text = text.replace("\x00", "")  # PostgreSQL refuses NUL in text: a 500, not a match
        folded = fold(text)
        core = self.core(folded)
        if not core:
            return queryset
        ranked = queryset.filter(Q(search_name__contains=core) | self.also(folded, text))
        return ranked.annotate(
            pick_rank=Case(
                When(search_name=core, then=Value(0)),
                When(search_name__startswith=core, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        ).order_by("pick_rank", *queryset.query.order_by)


SOURCES = {
    "communes": Source(
        "communes", communes_for_forms, unit_label, unit_core, gettext_lazy("commune")
    ),
    "districts": Source(
        "districts", districts_for_forms, unit_label, unit_core, gettext_lazy("district")
    ),
    "agencies": Source(
        "agencies",
        agencies_for_forms,
        agency_label,
        agency_core,
        gettext_lazy("agency"),
        also=lambda folded, text: Q(short_name__iexact=text.strip()),
    ),
    "assigned-agencies": Source(
        "assigned-agencies",
        assigned_agencies_for,
        agency_label,
        agency_core,
        gettext_lazy("agency"),
        also=lambda folded, text: Q(short_name__iexact=text.strip()),
    ),
    "enterprises": Source(
        "enterprises",
        enterprises_for_forms,
        enterprise_label,
        agency_core,
        gettext_lazy("enterprise"),
        also=lambda folded, text: Q(tax_code=text.strip()),
    ),
}


# --- The JSON endpoint --------------------------------------------------------------------------


@never_cache
@require_GET
def pick_view(request: HttpRequest, source: str) -> JsonResponse:
    """GET /pick/<source>/?q=text → {"results": [{"id", "label"}], "more": bool}, scoped."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Log in again.")}, status=401)
    found = SOURCES.get(source)
    if found is None:
        raise Http404
    text = request.GET.get("q", "")[:100]
    rows = list(found.search(found.queryset(request.user), text)[: RESULTS + 1])
    return JsonResponse(
        {
            "results": [{"id": obj.pk, "label": found.label(obj)} for obj in rows[:RESULTS]],
            "more": len(rows) > RESULTS,
        }
    )


@never_cache
@require_GET
def plan_items_view(request: HttpRequest) -> JsonResponse:
    """GET /pick/plan-items/?commune=ID → the plan items a form offers for that commune."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Log in again.")}, status=401)
    from programme.forms import plan_item_choices  # forms build on this module

    commune = request.GET.get("commune", "")
    choices = plan_item_choices(request.user, int(commune)) if commune.isdigit() else []
    return JsonResponse({"results": [{"id": pk, "label": label} for pk, label in choices]})


# --- The form field -----------------------------------------------------------------------------


class Picked(NamedTuple):
    """What the widget posts: the id picked (may be empty) and the text in the box (or None)."""

    pk: str
    text: str | None


class PickWidget(forms.Widget):
    """A text box (id = the field's id, so its label points at it), a hidden id and a list box.

    The list box and the live region are filled by static/js/picker.js; nothing inline.
    """

    def __init__(self, attrs=None, *, url: str = ""):
        super().__init__(attrs)
        self.url = url

    def value_from_datadict(self, data, files, name) -> Picked:
        text = data.get(name + TEXT_SUFFIX)
        return Picked(str(data.get(name) or "").strip(), text)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data and name + TEXT_SUFFIX not in data

    def render(self, name, value, attrs=None, renderer=None):
        picked = value if isinstance(value, Picked) else Picked("", "")
        final = self.build_attrs(self.attrs, attrs)
        box_id = final.pop("id", None) or f"id_{name}"
        final.pop("required", None)
        css = final.pop("class", "form-control")
        extra = flatatt({k: v for k, v in final.items() if v not in (None, False)})
        return format_html(
            '<div class="picker" data-picker-url="{url}" data-msg-none="{none}"'
            ' data-msg-more="{more}" data-msg-count="{count}">'
            '<input type="text" name="{text_name}" id="{box}" value="{text}" class="{css}"'
            ' autocomplete="off" spellcheck="false" role="combobox" aria-autocomplete="list"'
            ' aria-expanded="false" aria-controls="{box}_listbox"{extra}>'
            '<input type="hidden" name="{name}" id="{box}_id" value="{pk}">'
            '<ul class="picker-list list-group" role="listbox" id="{box}_listbox" hidden></ul>'
            '<div class="visually-hidden" aria-live="polite" id="{box}_status"></div>'
            "</div>",
            url=self.url,
            none=_("Nothing matches: type part of the name, with or without diacritics."),
            more=_("More match: type more of the name."),
            count=_("%(count)s found"),
            text_name=name + TEXT_SUFFIX,
            box=box_id,
            text=picked.text or "",
            css=css,
            extra=extra,
            name=name,
            pk=picked.pk,
        )


class PickField(forms.Field):
    """An object of `source`, within the queryset given (the user's scope), picked by id or name."""

    widget = PickWidget
    default_error_messages = {
        "invalid_choice": gettext_lazy("That %(noun)s is not one you may choose."),
        "no_match": gettext_lazy("No %(noun)s matches “%(text)s”: type part of its name."),
        "several": gettext_lazy(
            "Several of them match “%(text)s” (%(examples)s…): choose one from the list "
            "or type the name as shown there."
        ),
    }

    def __init__(self, *, source: str, queryset: QuerySet, **kwargs):
        self.source = SOURCES[source]
        self.queryset = queryset
        super().__init__(**kwargs)
        self.widget.url = reverse("programme:pick", args=[source])
        self._resolved: tuple | None = None

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.queryset = self.queryset.all()
        result._resolved = None
        return result

    def _error(self, code: str, **params):
        return ValidationError(
            self.error_messages[code], code=code, params={"noun": self.source.noun, **params}
        )

    def to_python(self, value):
        if value is None or isinstance(value, str | int):
            value = Picked(str(value or ""), None)
        if isinstance(value, self.queryset.model):
            return value
        pk, text = value
        folded = fold(text) if text is not None else None
        if folded == "" or (not pk and not folded):
            return None
        obj = None
        if pk:
            if not pk.isdigit():
                raise self._error("invalid_choice")
            obj = self.queryset.filter(pk=int(pk)).first()
            if obj is None:
                raise self._error("invalid_choice")
            label = self.source.label(obj)
            if folded is not None and folded not in {fold(label), fold(str(obj)), obj.search_name}:
                obj = None  # the text was changed without picking again (no JavaScript)
        if obj is None:
            obj = self._resolve(text)
        self._resolved = (value, obj)
        return obj

    def _resolve(self, text: str):
        folded = fold(text)
        candidates = list(self.source.search(self.queryset, text)[:50])
        if not candidates:
            raise self._error("no_match", text=text.strip())
        # The whole label (as the list shows it), else the whole name, picks one.
        exact = [
            obj for obj in candidates if folded in {fold(self.source.label(obj)), fold(str(obj))}
        ]
        if not exact:
            exact = [obj for obj in candidates if obj.search_name == self.source.core(folded)]
        if len(exact) == 1:
            return exact[0]
        if len(candidates) == 1:
            return candidates[0]
        examples = "; ".join(self.source.label(obj) for obj in (exact or candidates)[:3])
        raise self._error("several", text=text.strip(), examples=examples)

    def prepare_value(self, value):
        """What the widget shows: the id and the label (one query for an id given as initial)."""
        if isinstance(value, Picked):
            if self._resolved and self._resolved[0] == value and self._resolved[1] is not None:
                obj = self._resolved[1]
                return Picked(str(obj.pk), self.source.label(obj))
            return Picked(value.pk, value.text if value.text is not None else "")
        if value in self.empty_values:
            return Picked("", "")
        obj = value
        if not isinstance(value, self.queryset.model):
            model = self.queryset.model
            # The label of a kept value is shown even when it is outside today's scope.
            manager = model._default_manager
            if model is AdminUnit:
                manager = manager.select_related("parent__parent")
            obj = manager.filter(pk=value).first() if str(value).isdigit() else None
            if obj is None:
                return Picked("", "")
        return Picked(str(obj.pk), self.source.label(obj))

    def has_changed(self, initial, data) -> bool:
        initial_pk = str(getattr(initial, "pk", initial) or "")
        return initial_pk != (data.pk if isinstance(data, Picked) else str(data or ""))


def pick_field(source: str, user, *, label, queryset: QuerySet | None = None, **kwargs):
    """A PickField of `source`, scoped to `user` unless a queryset is given."""
    queryset = queryset if queryset is not None else SOURCES[source].queryset(user)
    return PickField(source=source, queryset=queryset, label=label, **kwargs)
