"""Model validation without a database round trip where Python can decide it exactly.

Django's `full_clean()` asks PostgreSQL twice per rule: every CheckConstraint becomes
`SELECT 1 WHERE …` inside its own savepoint (three statements), and every foreign key becomes
`SELECT 1 FROM target WHERE id = …`, even when the form has just loaded that very row. A saved
contribution ran 60 statements, 44 of them for this. `InMemoryValidation` evaluates the
conditions our constraints are made of (exact, in, isnull, gt, gte, lt, lte, combined with
AND, OR, NOT) with SQL's three-valued logic, and skips the foreign key query when the related
row is already loaded and satisfies `limit_choices_to`. Anything else (a relation path, an
F() expression, another lookup) goes to Django's own database check, as before. The database
constraints themselves stay: this only decides what `full_clean()` reports.
"""

from __future__ import annotations

import operator

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import CheckConstraint, Q
from django.db.models.constants import LOOKUP_SEP


class Unsupported(Exception):  # noqa: N818 (a signal to fall back, not an error)
    """The condition needs the database to be decided."""


_COMPARISONS = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _field_value(instance: models.Model, name: str):
    """The value the database would compare for `name` (a foreign key compares its id)."""
    if name == "pk":
        return instance.pk
    try:
        field = instance._meta.get_field(name)
    except Exception as error:  # noqa: BLE001 (FieldDoesNotExist: a relation path)
        raise Unsupported(name) from error
    if not getattr(field, "concrete", False) or field.many_to_many or field.one_to_many:
        raise Unsupported(name)
    return getattr(instance, field.attname)


def _lookup(instance: models.Model, key: str, expected) -> bool | None:
    """One `field__lookup=value` term: True, False, or None (SQL's unknown)."""
    if hasattr(expected, "resolve_expression"):
        raise Unsupported(key)  # F(), Value(), subqueries: the database decides
    name, _, lookup = key.partition(LOOKUP_SEP)
    lookup = lookup or "exact"
    if LOOKUP_SEP in lookup:
        raise Unsupported(key)
    value = _field_value(instance, name)
    if lookup == "isnull":
        return (value is None) == bool(expected)
    if lookup == "exact" and expected is None:
        return value is None  # Django turns `field=None` into IS NULL
    if value is None:
        return None
    if lookup == "in":
        values = list(expected)
        if None in values:
            raise Unsupported(key)
        return value in values
    compare = _COMPARISONS.get(lookup)
    if compare is None:
        raise Unsupported(key)
    return compare(value, expected)


def evaluate(condition: Q | dict, instance: models.Model) -> bool | None:
    """A condition over one instance's own fields, in SQL's three-valued logic."""
    if isinstance(condition, dict):
        condition = Q(**condition)
    results = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(evaluate(child, instance))
        elif isinstance(child, tuple) and len(child) == 2:
            results.append(_lookup(instance, *child))
        else:
            raise Unsupported(repr(child))
    if condition.connector == Q.AND:
        result = False if False in results else (None if None in results else True)
    elif condition.connector == Q.OR:
        result = True if True in results else (None if None in results else False)
    else:
        raise Unsupported(condition.connector)  # XOR
    if condition.negated:
        result = None if result is None else not result
    return result


def _referenced_fields(condition: Q) -> set[str]:
    names = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= _referenced_fields(child)
        else:
            names.add(child[0].split(LOOKUP_SEP)[0])
    return names


class _InMemoryCheck:
    """Stands in for one CheckConstraint during validation: evaluated here when possible."""

    def __init__(self, constraint: CheckConstraint):
        self.constraint = constraint

    def __getattr__(self, name):
        return getattr(self.constraint, name)

    def validate(self, model, instance, exclude=None, using=None):
        constraint = self.constraint
        try:
            referenced = _referenced_fields(constraint.condition)
            if exclude and referenced & set(exclude):
                return  # as Django: a rule over an excluded field is not checked
            passed = evaluate(constraint.condition, instance)
        except (Unsupported, ArithmeticError, TypeError, ValueError):
            # Decimal NaN, mismatched types, anything unusual: ask PostgreSQL, as Django does.
            kwargs = {"exclude": exclude} if using is None else {"exclude": exclude, "using": using}
            return constraint.validate(model, instance, **kwargs)
        if passed is False:  # NULL passes a CHECK, as in PostgreSQL
            raise ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )


class InMemoryValidation(models.Model):
    """Mixin for models: full_clean() decides check constraints and loaded foreign keys here."""

    class Meta:
        abstract = True

    def get_constraints(self):
        return [
            (
                model,
                [_InMemoryCheck(c) if isinstance(c, CheckConstraint) else c for c in constraints],
            )
            for model, constraints in super().get_constraints()
        ]

    def clean_fields(self, exclude=None):
        exclude = set(exclude or ())
        for field in self._meta.concrete_fields:
            if field.many_to_one and field.name not in exclude and self._loaded_target(field):
                exclude.add(field.name)
        super().clean_fields(exclude=exclude)

    def _loaded_target(self, field) -> bool:
        """The foreign key points at a row loaded from the database that satisfies the field's
        `limit_choices_to`: it exists, and Django's query would only say so again."""
        if not field.is_cached(self):
            return False
        target = field.get_cached_value(self)
        if target is None or target._state.adding or target._state.db is None:
            return False
        if getattr(self, field.attname) != getattr(target, field.target_field.attname):
            return False
        limit = field.get_limit_choices_to()
        if not limit:
            return True
        try:
            return evaluate(limit, target) is True
        except (Unsupported, ArithmeticError, TypeError, ValueError):
            return False
