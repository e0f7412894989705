"""Who acts for what: the scope of a user, and the building blocks other apps scope records with.

A record is in an agency liaison's scope when the record's commune is assigned to the liaison's
agency *on the record's date*; an enterprise representative's, when it is twinned with the
representative's enterprise on that date; a commune officer's, when it is their commune.
Province staff (and superusers) see everything and may correct it.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Q

from partners.models import Assignment, Membership, Twinning


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    is_province: bool = False
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    enterprise_ids: frozenset[int] = field(default_factory=frozenset)
    commune_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.is_province or self.agency_ids or self.enterprise_ids or self.commune_ids)


def scope_for(user) -> Scope:
    """The user's scope, read once per request (cached on the user object)."""
    cached = getattr(user, "_programme_scope", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        scope = Scope(user_id=None)
    else:
        rows = list(
            Membership.objects.filter(user=user).values_list(
                "role", "agency_id", "enterprise_id", "commune_id"
            )
        )
        roles = {row[0] for row in rows}
        scope = Scope(
            user_id=user.pk,
            is_province=user.is_superuser or Membership.Role.PROVINCE_STAFF in roles,
            agency_ids=frozenset(row[1] for row in rows if row[1]),
            enterprise_ids=frozenset(row[2] for row in rows if row[2]),
            commune_ids=frozenset(row[3] for row in rows if row[3]),
        )
    user._programme_scope = scope
    return scope


def _active_on(date_ref) -> Q:
    return Q(start_date__lte=date_ref) & (Q(end_date__isnull=True) | Q(end_date__gte=date_ref))


def assigned_on_record_date(
    agency_ids, *, commune_field: str = "commune_id", date_field: str = "date"
) -> Exists:
    """Filter expression: the row's commune is assigned to one of `agency_ids` on the row's date."""
    return Exists(
        Assignment.objects.filter(
            _active_on(OuterRef(date_field)),
            agency_id__in=agency_ids,
            commune_id=OuterRef(commune_field),
        )
    )


def twinned_on_record_date(
    enterprise_ids, *, commune_field: str = "commune_id", date_field: str = "date"
) -> Exists:
    """Filter expression: the row's commune is twinned with one of `enterprise_ids` that day."""
    return Exists(
        Twinning.objects.filter(
            _active_on(OuterRef(date_field)),
            enterprise_id__in=enterprise_ids,
            commune_id=OuterRef(commune_field),
        )
    )


def is_assigned(*, agency_id: int, commune_id: int, day: date) -> bool:
    return Assignment.objects.filter(
        _active_on(day), agency_id=agency_id, commune_id=commune_id
    ).exists()


def is_twinned(*, enterprise_id: int, commune_id: int, day: date) -> bool:
    return Twinning.objects.filter(
        _active_on(day), enterprise_id=enterprise_id, commune_id=commune_id
    ).exists()


def communes_in_scope(scope: Scope, *, day: date | None = None) -> Q:
    """A filter on AdminUnit: the communes the user works for (on `day`, or on any day)."""
    if scope.is_province:
        return Q(level="commune")
    q = Q(pk__in=scope.commune_ids)
    assignments = Assignment.objects.filter(agency_id__in=scope.agency_ids)
    twinnings = Twinning.objects.filter(enterprise_id__in=scope.enterprise_ids)
    if day is not None:
        assignments = assignments.filter(_active_on(day))
        twinnings = twinnings.filter(_active_on(day))
    if scope.agency_ids:
        q |= Q(pk__in=assignments.values("commune_id"))
    if scope.enterprise_ids:
        q |= Q(pk__in=twinnings.values("commune_id"))
    return q
