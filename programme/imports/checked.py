"""The rows a dry run checked, kept with the job so that the commit need not check them again.

A checked row is `(sheet row, natural key, record)`: the record is the model's stored field
values (see `record_fields`) as one line of JSON, made once from the validated instance, so that
100.000 rows are held, kept and saved without 100.000 model instances.

The rows are kept only with the fingerprint of what they were checked against: the file, the
reference data (communes, designations, agencies, enterprises, assignments, twinnings,
categories), the uploader's scope and the day. The commit uses them only when the fingerprint is
still the same; otherwise the file is checked again from the start. What can change without
changing the fingerprint, the records of the kind itself (a duplicate saved meanwhile, a record
updated since), the commit looks up again for all rows at once, under the import lock.
"""

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, models

from communes.models import AdminUnit, Designation
from partners.models import Agency, Assignment, Enterprise, Twinning
from programme.imports.models import CheckedRows, ImportJob
from programme.models import ContributionCategory

# Changed whenever the stored form changes, so that rows kept by older code are not used.
FORMAT = 1
REFERENCE_MODELS = (
    AdminUnit,
    Designation,
    Agency,
    Enterprise,
    Assignment,
    Twinning,
    ContributionCategory,
)


@dataclass(slots=True)
class Checked:
    row: int
    key: tuple
    line: bytes  # the record, as one line of JSON (see `Records`)


def record_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields an import writes: every stored field but the id and generated columns."""
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    ]


def _plain(value):
    if isinstance(value, Decimal | date):  # datetime is a date
        return str(value)
    raise TypeError(f"cannot keep {type(value).__name__}")


def _reader(field: models.Field):
    """How a stored field value comes back from JSON (None when JSON gives it as it was)."""
    if isinstance(field, models.DateTimeField):
        return datetime.fromisoformat
    if isinstance(field, models.DateField):
        return date.fromisoformat
    if isinstance(field, models.DecimalField):
        return Decimal
    return None


class Records:
    """The records of one model as compact JSON lines: a checked row weighs a few hundred bytes
    instead of a model instance with its values (100.000 of them: hundreds of MiB)."""

    def __init__(self, model: type[models.Model]):
        self.fields = record_fields(model)
        self.readers = [
            (index, read)
            for index, field in enumerate(self.fields)
            if (read := _reader(field)) is not None
        ]
        self.position = {field.name: index for index, field in enumerate(self.fields)}

    def encode(self, instance: models.Model) -> bytes:
        values = [getattr(instance, field.attname) for field in self.fields]
        return json.dumps(
            values, default=_plain, ensure_ascii=False, separators=(",", ":")
        ).encode()

    def decode(self, line: bytes) -> tuple:
        values = json.loads(line)
        for index, read in self.readers:
            if values[index] is not None:
                values[index] = read(values[index])
        return tuple(values)


# --- Fingerprint ---------------------------------------------------------------------------------


def reference_digest() -> str:
    """One digest of every row of the reference tables an import looks things up in.

    Read in one query (a few tens of milliseconds for the whole country's communes): any
    edit, addition or deletion there changes it."""
    parts = []
    for model in REFERENCE_MODELS:
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        # Names of our own tables only; nothing typed by anyone goes into the text.
        parts.append(
            f"(SELECT md5(COALESCE(string_agg(md5(t::text), '' ORDER BY t.{pk}), '')) "  # noqa: S608
            f"FROM {table} t)"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return hashlib.sha256("|".join(cursor.fetchone()).encode()).hexdigest()


def fingerprint(data: bytes, *, kind_code: str, scope, today: date, reference: str) -> str:
    """What a dry run's findings depend on, besides the records of the kind itself."""
    scope_text = repr(
        (
            scope.user_id,
            scope.is_province,
            sorted(scope.agency_ids),
            sorted(scope.enterprise_ids),
            sorted(scope.commune_ids),
        )
    )
    parts = [
        str(FORMAT),
        kind_code,
        hashlib.sha256(data).hexdigest(),
        reference,
        scope_text,
        today.isoformat(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --- Storing and loading -------------------------------------------------------------------------

CHUNK = 1 << 20


def _key_plain(part):
    return {"d": part.isoformat()} if isinstance(part, date) else part


def _key_back(part):
    return date.fromisoformat(part["d"]) if isinstance(part, dict) else part


def store(job: ImportJob, rows: list[Checked], *, fingerprint: str) -> None:
    """Keep `rows` with the job, compressed as they are written (one line each: the row and
    key, a tab, the record)."""
    compressor = zlib.compressobj(1)
    parts = []
    for item in rows:
        head = json.dumps(
            [item.row, [_key_plain(part) for part in item.key]],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        parts.append(compressor.compress(head + b"\t" + item.line + b"\n"))
    parts.append(compressor.flush())
    CheckedRows.objects.update_or_create(
        job=job, defaults={"fingerprint": fingerprint, "data": b"".join(parts)}
    )


def forget(job: ImportJob) -> None:
    CheckedRows.objects.filter(job=job).delete()


def _lines(data: bytes):
    """The stored lines, uncompressed a piece at a time."""
    decompressor = zlib.decompressobj()
    pending = b""
    for start in range(0, len(data), CHUNK):
        pending += decompressor.decompress(data[start : start + CHUNK])
        *lines, pending = pending.split(b"\n")
        yield from lines
    pending += decompressor.flush()
    yield from (line for line in pending.split(b"\n") if line)


def load(job: ImportJob, *, fingerprint: str) -> list[Checked] | None:
    """The rows the dry run kept, or None when there are none or they were checked against
    something else."""
    kept = CheckedRows.objects.filter(job=job, fingerprint=fingerprint).first()
    if kept is None:
        return None
    rows = []
    for line in _lines(bytes(kept.data)):
        head, record = line.split(b"\t", 1)
        row, natural = json.loads(head)
        rows.append(Checked(row, tuple(_key_back(part) for part in natural), record))
    return rows
