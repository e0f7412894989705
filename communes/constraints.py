"""Non-overlapping date terms without the btree_gist extension.

An exclusion constraint needs a GiST operator class for every column it compares. Plain integer
equality has one only with btree_gist, which the embedded PostgreSQL lacks; so the key columns
are turned into one-point ranges (`int8range(id, id, '[]')`), whose `&&` is built in.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db.models import F, Func, Q, Value


def _point(field: str) -> Func:
    return Func(F(field), F(field), Value("[]"), function="int8range")


def _term(start: str, end: str) -> Func:
    return Func(F(start), F(end), Value("[]"), function="daterange")


def no_overlapping_terms(
    *,
    name: str,
    keys: list[str],
    start: str,
    end: str,
    condition: Q | None = None,
    message=None,
) -> ExclusionConstraint:
    """Refuse two rows with equal `keys` whose [start, end] terms share a day (NULL end: open)."""
    expressions = [(_point(key), RangeOperators.OVERLAPS) for key in keys]
    expressions.append((_term(start, end), RangeOperators.OVERLAPS))
    return ExclusionConstraint(
        name=name,
        expressions=expressions,
        index_type="gist",
        condition=condition,
        violation_error_message=message,
    )
