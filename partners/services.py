from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.db.models import Q

from communes.models import AdminUnit
from partners.models import Agency, Enterprise, Membership
from partners.roles import ROLE_PERMISSIONS


def _permission_objects(names: frozenset[str]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    if len(found) != len(names):
        missing = names - {f"{p.content_type.app_label}.{p.codename}" for p in found}
        raise LookupError(f"Permissions not in the database (run migrate?): {sorted(missing)}")
    return found


def roles_ensure() -> dict[str, Group]:
    """Create the role groups and give them exactly their permissions. Safe to run again."""
    with transaction.atomic():
        # `migrate` creates permissions in a post_migrate handler; make sure they exist even
        # when this runs before that (e.g. on a database set up with --run-syncdb).
        for label in ("communes", "partners"):
            create_permissions(apps.get_app_config(label), verbosity=0)
        groups = {}
        for role, names in ROLE_PERMISSIONS.items():
            group, _created = Group.objects.get_or_create(name=role)
            wanted = _permission_objects(names)
            if set(group.permissions.all()) != set(wanted):
                group.permissions.set(wanted)
            groups[role] = group
    return groups


def membership_create(
    *,
    user: AbstractBaseUser,
    role: str,
    agency: Agency | None = None,
    enterprise: Enterprise | None = None,
    commune: AdminUnit | None = None,
    is_demo: bool = False,
) -> Membership:
    """Give `user` a role acting for one organisation, and put them in the role's group."""
    with transaction.atomic():
        groups = roles_ensure()
        membership = Membership(
            user=user,
            role=role,
            agency=agency,
            enterprise=enterprise,
            commune=commune,
            is_demo=is_demo,
        )
        membership.full_clean()
        membership.save()
        user.groups.add(groups[role])
    return membership
