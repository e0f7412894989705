from communes.models import AdminUnit, AdminUnitQuerySet


def unit_search(*, query: str) -> AdminUnitQuerySet:
    """Units whose name matches `query` without regard to case or diacritics, current ones first."""
    return (
        AdminUnit.objects.search(query)
        .select_related("parent", "parent__parent")
        .order_by("valid_until", "level", "name")
    )
