"""Writing the records an import creates: the records with COPY, their “created” history rows
copied from them by one INSERT … SELECT, and the ImportedRecord links (which let the import be
undone) with COPY again.

`bulk_create_with_history` spent most of a 100.000-row commit building, and quoting, a model
instance and a history instance per row; COPY streams plain tuples. The ids are taken from the
table's own sequence first, so that the history rows and links can name the records. Row
triggers (the rollup outbox) fire for COPY as for INSERT.
"""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, models
from django.utils import timezone

from programme.imports.checked import record_fields
from programme.imports.models import ImportedRecord

HISTORY_OWN_FIELDS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
}


def _columns(names: list[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), pk, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(table: str, columns: list[str], rows) -> None:
    # Names of our own tables and columns only; the values travel as COPY data.
    statement = f"COPY {connection.ops.quote_name(table)} ({_columns(columns)}) FROM STDIN"
    # Django's wrapper turns the driver's errors (a foreign key gone…) into IntegrityError &c.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _filled_in(fields: list[models.Field], *, user_id: int | None, now: datetime):
    """Per field, (True, value) when the commit sets it whatever the dry run kept: who created
    the record and when are the commit's. (False, None) keeps the kept value."""
    filled = []
    for field in fields:
        if field.name == "created_by":
            filled.append((True, user_id))
        elif (
            getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
            or field.default is timezone.now
        ):
            filled.append((True, now))
        else:
            filled.append((False, None))
    return filled


def create_records(
    model: type[models.Model],
    records: Iterable[tuple],
    count: int,
    *,
    user_id: int | None,
    reason: str,
    now: datetime,
) -> list[int]:
    """Insert the `count` `records` (tuples of `record_fields(model)`), each with its “+” history
    row, as `bulk_create_with_history` would; returns their ids, in order."""
    if not count:
        return []
    fields = record_fields(model)
    filled = _filled_in(fields, user_id=user_id, now=now)
    forced = [(index, value) for index, (set_it, value) in enumerate(filled) if set_it]
    ids = _reserve_ids(model, count)

    def rows():
        for pk_value, record in zip(ids, records, strict=True):
            values = [pk_value, *record]
            for index, value in forced:
                values[index + 1] = value
            yield values

    pk = model._meta.pk
    _copy(model._meta.db_table, [pk.column] + [field.column for field in fields], rows())
    _create_history(model, ids, user_id=user_id, reason=reason, now=now)
    return ids


def _create_history(model, ids: list[int], *, user_id, reason: str, now: datetime) -> None:
    """The history rows copied from the rows just written, in one statement."""
    history = model.history.model
    tracked = [
        field.column
        for field in history._meta.concrete_fields
        if field.attname not in HISTORY_OWN_FIELDS
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    own = ["history_date", "history_change_reason", "history_type", "history_user_id"]
    # Names of our own tables and columns only; the values are parameters.
    statement = (
        f"INSERT INTO {connection.ops.quote_name(history._meta.db_table)} "  # noqa: S608
        f"({_columns(tracked + own)}) "
        f"SELECT {_columns(tracked)}, %s, %s, '+', %s FROM {table} "
        f"WHERE {pk} = ANY(%s) ORDER BY {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [now, reason, user_id, ids])


def link_records(job_id: int, content_type_id: int, links: list[tuple]) -> None:
    """ImportedRecord rows: `links` are (object id, action, sheet row, replaced values)."""
    fields = ["job", "content_type", "object_id", "action", "row", "before"]
    _copy(
        ImportedRecord._meta.db_table,
        [ImportedRecord._meta.get_field(name).column for name in fields],
        (
            (job_id, content_type_id, object_id, action, row, json.dumps(before))
            for object_id, action, row, before in links
        ),
    )
