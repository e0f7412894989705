"""One scoping helper per record type: what a user may see (404 otherwise) and change (403).

    visits_for(user)                      -> the visits the user may see
    get_visit_for_user(user, pk, change=) -> one visit, 404 to outsiders, 403 to read-only users

Views never fetch a record by primary key in any other way.
"""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Func, OuterRef, Q, QuerySet, Value
from django.http import Http404

from partners.models import Assignment, Twinning
from partners.scoping import (
    Scope,
    assigned_on_record_date,
    is_assigned,
    scope_for,
    twinned_on_record_date,
)
from programme.models import Attachment, Contribution, Difficulty, Plan, PlanItem, Visit

NOTHING = Q(pk__in=[])


def _fetch(queryset: QuerySet, pk, *, change: bool, can_change: Callable) -> object:
    try:
        obj = queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if change and not can_change(obj):
        raise PermissionDenied
    return obj


# --- Visits -------------------------------------------------------------------------------------


def _visit_q(scope: Scope) -> Q:
    if scope.is_province:
        return Q()
    q = NOTHING
    if scope.commune_ids:
        q |= Q(commune_id__in=scope.commune_ids)
    if scope.agency_ids:
        q |= Q(assigned_on_record_date(scope.agency_ids))
    return q


def can_change_visit(scope: Scope, visit: Visit) -> bool:
    if scope.is_province:
        return True
    return visit.agency_id in scope.agency_ids and is_assigned(
        agency_id=visit.agency_id, commune_id=visit.commune_id, day=visit.date
    )


def visits_for(user) -> QuerySet[Visit]:
    return Visit.objects.filter(_visit_q(scope_for(user)))


def get_visit_for_user(user, pk, *, change: bool = False) -> Visit:
    scope = scope_for(user)
    return _fetch(
        visits_for(user).select_related("commune", "agency"),
        pk,
        change=change,
        can_change=lambda v: can_change_visit(scope, v),
    )


# --- Difficulties -------------------------------------------------------------------------------


def _difficulty_q(scope: Scope) -> Q:
    if scope.is_province:
        return Q()
    q = NOTHING
    if scope.commune_ids:
        q |= Q(commune_id__in=scope.commune_ids)
    if scope.agency_ids:
        q |= Q(assigned_on_record_date(scope.agency_ids, date_field="raised_on"))
    return q


def can_change_difficulty(scope: Scope, difficulty: Difficulty) -> bool:
    if scope.is_province or difficulty.commune_id in scope.commune_ids:
        return True
    return any(
        is_assigned(agency_id=agency_id, commune_id=difficulty.commune_id, day=difficulty.raised_on)
        for agency_id in scope.agency_ids
    )


def difficulties_for(user) -> QuerySet[Difficulty]:
    return Difficulty.objects.filter(_difficulty_q(scope_for(user)))


def get_difficulty_for_user(user, pk, *, change: bool = False) -> Difficulty:
    scope = scope_for(user)
    return _fetch(
        difficulties_for(user).select_related("commune"),
        pk,
        change=change,
        can_change=lambda d: can_change_difficulty(scope, d),
    )


# --- Contributions ------------------------------------------------------------------------------


def _contribution_q(scope: Scope) -> Q:
    if scope.is_province:
        return Q()
    q = NOTHING
    if scope.commune_ids:
        q |= Q(commune_id__in=scope.commune_ids)
    if scope.agency_ids:
        q |= Q(assigned_on_record_date(scope.agency_ids))
    if scope.enterprise_ids:
        q |= Q(enterprise_id__in=scope.enterprise_ids) & Q(
            twinned_on_record_date(scope.enterprise_ids)
        )
    return q


def can_change_contribution(scope: Scope, contribution: Contribution) -> bool:
    if scope.is_province:
        return True
    if contribution.agency_id:
        return contribution.agency_id in scope.agency_ids
    return contribution.enterprise_id in scope.enterprise_ids


def can_confirm_contribution(scope: Scope, contribution: Contribution) -> bool:
    """The commune confirms what it received; province staff may correct it."""
    return scope.is_province or contribution.commune_id in scope.commune_ids


def contributions_for(user) -> QuerySet[Contribution]:
    return Contribution.objects.filter(_contribution_q(scope_for(user)))


def get_contribution_for_user(user, pk, *, change: bool = False) -> Contribution:
    scope = scope_for(user)
    return _fetch(
        contributions_for(user).select_related("commune", "agency", "enterprise", "category"),
        pk,
        change=change,
        can_change=lambda c: can_change_contribution(scope, c),
    )


def get_contribution_to_confirm(user, pk) -> Contribution:
    scope = scope_for(user)
    return _fetch(
        contributions_for(user).select_related("commune"),
        pk,
        change=True,
        can_change=lambda c: can_confirm_contribution(scope, c),
    )


# --- Plans and plan items -----------------------------------------------------------------------


def _term_touches_year(model, ids_field: str, ids, *, year_field: str, commune_field: str):
    """The commune had a term (assignment or twinning) on at least one day of the plan's year."""
    return Exists(
        model.objects.filter(
            **{f"{ids_field}__in": ids},
            commune_id=OuterRef(commune_field),
            start_date__lte=Func(OuterRef(year_field), Value(12), Value(31), function="make_date"),
        ).filter(
            Q(end_date__isnull=True)
            | Q(end_date__gte=Func(OuterRef(year_field), Value(1), Value(1), function="make_date"))
        )
    )


def _plan_q(scope: Scope, prefix: str = "") -> Q:
    if scope.is_province:
        return Q()
    q = NOTHING
    if scope.commune_ids:
        q |= Q(**{f"{prefix}commune_id__in": scope.commune_ids})
    if scope.agency_ids:
        q |= Q(
            _term_touches_year(
                Assignment,
                "agency_id",
                scope.agency_ids,
                year_field=f"{prefix}year",
                commune_field=f"{prefix}commune_id",
            )
        )
    if scope.enterprise_ids:
        q |= Q(
            _term_touches_year(
                Twinning,
                "enterprise_id",
                scope.enterprise_ids,
                year_field=f"{prefix}year",
                commune_field=f"{prefix}commune_id",
            )
        )
    return q


def can_change_plan(scope: Scope, plan: Plan) -> bool:
    """The commune drafts its plan; its agency and province staff may work on it too."""
    if scope.is_province or plan.commune_id in scope.commune_ids:
        return True
    if not scope.agency_ids:
        return False
    return (
        Plan.objects.filter(pk=plan.pk)
        .filter(
            _term_touches_year(
                Assignment,
                "agency_id",
                scope.agency_ids,
                year_field="year",
                commune_field="commune_id",
            )
        )
        .exists()
    )


def plans_for(user) -> QuerySet[Plan]:
    return Plan.objects.filter(_plan_q(scope_for(user)))


def get_plan_for_user(user, pk, *, change: bool = False) -> Plan:
    scope = scope_for(user)
    return _fetch(
        plans_for(user).select_related("commune"),
        pk,
        change=change,
        can_change=lambda p: can_change_plan(scope, p),
    )


def plan_items_for(user) -> QuerySet[PlanItem]:
    return PlanItem.objects.filter(_plan_q(scope_for(user), prefix="plan__"))


def get_plan_item_for_user(user, pk, *, change: bool = False) -> PlanItem:
    scope = scope_for(user)
    return _fetch(
        plan_items_for(user).select_related("plan", "plan__commune"),
        pk,
        change=change,
        can_change=lambda item: can_change_plan(scope, item.plan),
    )


# --- Attachments --------------------------------------------------------------------------------


def get_attachment_for_user(user, pk, *, change: bool = False) -> Attachment:
    """An attachment is visible exactly when its record is; changing it needs the record's right."""
    try:
        attachment = Attachment.objects.get(pk=pk)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if attachment.visit_id:
        get_visit_for_user(user, attachment.visit_id, change=change)
    elif attachment.difficulty_id:
        get_difficulty_for_user(user, attachment.difficulty_id, change=change)
    else:
        get_contribution_for_user(user, attachment.contribution_id, change=change)
    return attachment
