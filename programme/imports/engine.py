"""The dry run and the commit of an import.

The dry run reads the whole file and checks every row; it keeps the rows ready to save with the
job (`checked`). The commit saves those rows in one transaction, or nothing: it looks up again,
for all rows at once, which are duplicates of records saved meanwhile, and it reads and checks the
whole file again when what the rows were checked against has changed since (a commune, an
agency's term, the uploader's scope…). The natural key of each kind (see `kinds`) makes a second
import of the same row a duplicate, so importing a file twice creates nothing the second time,
and a corrected file re-uploaded imports the fixed rows and skips those already in.
"""

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from partners.scoping import scope_for
from programme.imports import checked, copying
from programme.imports.checked import Checked, Records
from programme.imports.kinds import KINDS, Context, Kind, Row, RowError
from programme.imports.models import ImportedRecord, ImportJob
from programme.imports.reading import FileError, Sheet, open_sheet
from programme.imports.values import is_blank, key

logger = logging.getLogger(__name__)

MAX_PROBLEMS_KEPT = 10_000
HEADER_SEARCH_ROWS = 15
PROGRESS_EVERY = 2_000
BATCH = 1_000
LOCK_KEY = int.from_bytes(hashlib.sha256(b"programme.imports").digest()[:4], "big")


@dataclass(slots=True)
class Action:
    row: int
    item: Checked
    pk: int | None = None  # the record updated, and for an update:
    before: dict | None = None  # the values it replaces
    changes: dict | None = None  # the values it sets


@dataclass
class Outcome:
    rows_total: int = 0
    rows_blank: int = 0
    creates: list[Action] = field(default_factory=list)
    updates: list[Action] = field(default_factory=list)
    duplicates: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    problem_rows: int = 0
    notices: list[str] = field(default_factory=list)
    file_info: str = ""


class Progress:
    """Writes the progress to the job row now and then (outside any transaction)."""

    def __init__(self, job: ImportJob | None, stage: str, total: int):
        self.job, self.stage, self.total, self.done = job, stage, total, 0
        self._write()

    def tick(self, done: int) -> None:
        self.done = done
        if done % PROGRESS_EVERY == 0:
            self._write()

    def _write(self) -> None:
        if self.job is not None and self.job.pk and not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job.pk).update(
                stage=self.stage, progress_done=self.done, progress_total=max(self.total, 1)
            )


# --- Headers ------------------------------------------------------------------------------------


def _match_headers(kind: Kind, sheet: Sheet, outcome: Outcome):
    """Find the header row among the first rows; return (header row number, {index: column})."""
    aliases = {}
    for column in kind.columns:
        for alias in column.header_keys():
            aliases.setdefault(alias, column.name)
    buffered = []
    for number, values in sheet.rows:
        buffered.append((number, values))
        matched = {
            index: aliases[key(value)]
            for index, value in enumerate(values)
            if not is_blank(value) and key(value) in aliases
        }
        if len(matched) >= 2:
            return number, values, matched, buffered
        if len(buffered) >= HEADER_SEARCH_ROWS:
            break
    expected = ", ".join(column.header_vi for column in kind.columns if column.required)
    raise FileError(
        _(
            "No header row was found in the first %(rows)s rows. The sheet must start with a row "
            "naming the columns, e.g.: %(columns)s. Download the template to see them."
        )
        % {"rows": HEADER_SEARCH_ROWS, "columns": expected}
    )


def _check_headers(kind: Kind, header_row: int, header_values, matched, sheet, outcome):
    by_column = defaultdict(list)
    for index, name in matched.items():
        by_column[name].append(str(header_values[index]).strip())
    for name, headers in by_column.items():
        if len(headers) > 1:
            raise FileError(
                _("Two columns are both read as “%(column)s”: %(headers)s. Keep only one.")
                % {
                    "column": kind.column(name).header_vi,
                    "headers": ", ".join(f"“{h}”" for h in headers),
                }
            )
    for ref, first, last in sheet.merged:
        if last >= header_row:
            where = _("the header row") if first <= header_row else _("the data")
            raise FileError(
                _(
                    "Cells %(ref)s are merged in %(where)s. Unmerge them (Home → Merge & Center) "
                    "and fill every cell, then upload again."
                )
                % {"ref": ref, "where": where}
            )
    present = set(by_column)
    missing = [
        column.header_vi
        for column in kind.columns
        if column.required and column.name not in present
    ]
    for group in getattr(kind, "one_of", ()):
        if not present & set(group):
            missing.append(" / ".join(kind.column(name).header_vi for name in group))
    if missing:
        raise FileError(
            _("Required columns are missing: %(columns)s.")
            % {"columns": ", ".join(f"“{name}”" for name in missing)}
        )
    unused = [
        str(value).strip()
        for index, value in enumerate(header_values)
        if not is_blank(value) and index not in matched
    ]
    if unused:
        outcome.notices.append(
            _("These columns are not imported: %(columns)s.")
            % {"columns": ", ".join(f"“{name}”" for name in unused[:20])}
        )
    if sheet.ignored_sheets:
        outcome.notices.append(
            _("Only the sheet “%(sheet)s” was read; other sheets were ignored: %(others)s.")
            % {
                "sheet": sheet.sheet_name,
                "others": ", ".join(f"“{name}”" for name in sheet.ignored_sheets),
            }
        )


# --- The dry run --------------------------------------------------------------------------------


def analyse(data: bytes, *, kind: Kind, user, job: ImportJob | None = None) -> Outcome:
    """Read and check every row; decide for each whether it creates, updates or is a duplicate.

    Raises FileError when the file as a whole cannot be imported.
    """
    scope = scope_for(user)
    if not kind.allowed(scope):
        raise FileError(_("You may not import %(kind)s.") % {"kind": str(kind.label).lower()})
    outcome = Outcome()
    sheet = open_sheet(data)
    outcome.file_info = (
        f"XLSX · {sheet.sheet_name}" if sheet.file_kind == "xlsx" else f"CSV · {sheet.encoding}"
    )
    header_row, header_values, matched, buffered = _match_headers(kind, sheet, outcome)
    _check_headers(kind, header_row, header_values, matched, sheet, outcome)
    labels = {column.name: column.header_vi for column in kind.columns}
    ctx = Context(user=user, scope=scope, today=timezone.localdate())
    progress = Progress(job, "checking", sheet.total_rows)
    records = Records(kind.model)
    # Each row's record as a line of JSON, not the model instance: see `checked`.
    checked_rows: list[Checked] = []
    inferred: list[int] = []
    bad_rows = 0

    def data_rows():
        yield from ((n, v) for n, v in buffered if n > header_row)
        yield from sheet.rows

    for number, values in data_rows():
        progress.tick(number)
        if all(is_blank(value) for value in values):
            outcome.rows_blank += 1
            continue
        outcome.rows_total += 1
        cells = {name: values[index] for index, name in matched.items() if index < len(values)}
        try:
            built = kind.build(Row(kind, cells), ctx)
        except RowError as error:
            bad_rows += 1
            for name, message in error.errors.items():
                if len(outcome.problems) < MAX_PROBLEMS_KEPT:
                    outcome.problems.append((number, labels.get(name, ""), message))
            continue
        checked_rows.append(Checked(number, built.key, records.encode(built.instance)))
        if built.inferred_category:
            inferred.append(number)
    if outcome.rows_total == 0:
        raise FileError(_("The sheet has a header row but no data rows."))
    outcome.problem_rows = bad_rows
    if inferred:
        outcome.notices.append(
            _(
                "%(count)s rows have no category: it was taken from the description (e.g. row "
                "%(row)s). Check the counts in the dry run, or add a “Loại hỗ trợ” column."
            )
            % {"count": len(inferred), "row": inferred[0]}
        )
    _classify(kind, checked_rows, outcome, labels)
    progress.total = progress.done
    progress._write()
    return outcome


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, Decimal | int | float) and isinstance(b, Decimal | int | float):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def _classify(kind: Kind, rows: list[Checked], outcome: Outcome, labels) -> None:
    """Each row creates, updates or is a duplicate, after one look-up of the records already
    saved under the rows' natural keys."""
    existing = kind.existing([item.key for item in rows])
    records = Records(kind.model)
    updatable = [(name, records.position[name]) for name in kind.updatable]
    first_row: dict[tuple, int] = {}
    check_update = getattr(kind, "check_update", None)
    for item in rows:
        number = item.row
        if item.key in first_row:
            outcome.duplicates += 1
            continue
        first_row[item.key] = number
        if item.key not in existing:
            outcome.creates.append(Action(number, item))
            continue
        pk, before = existing[item.key]
        record = records.decode(item.line)
        changes = {
            name: record[index]
            for name, index in updatable
            if not _same(before.get(name), record[index])
        }
        if not changes:
            outcome.duplicates += 1
            continue
        refusal = check_update(before, {**before, **changes}) if check_update else None
        if refusal:
            outcome.problem_rows += 1
            outcome.problems.append((number, labels.get("status", ""), refusal))
            continue
        outcome.updates.append(Action(number, item, pk, before, changes))
    outcome.problems.sort()


# --- Saving -------------------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# simple-history's `history_change_reason` column (as communes.admin_history.REASON_MAX_LENGTH).
REASON_MAX_LENGTH = 100


def _naming(message: str, job: ImportJob) -> str:
    """`message` with the import's number and file name, the name shortened so that the whole
    fits simple-history's `history_change_reason` (100 characters): a long file name must not
    make the import fail when its history is written."""
    name = job.original_name
    text = message % {"file": name, "id": job.pk}
    excess = len(text) - REASON_MAX_LENGTH
    if excess > 0:
        text = message % {"file": name[: max(0, len(name) - excess - 1)] + "…", "id": job.pk}
    return text


def _reason(job: ImportJob) -> str:
    return _naming(_("Imported from “%(file)s” (import #%(id)s)"), job)


def _save(kind: Kind, outcome: Outcome, job: ImportJob, user, progress: Progress) -> None:
    model = kind.model
    content_type = ContentType.objects.get_for_model(model)
    reason = _reason(job)
    records = Records(model)
    ids = copying.create_records(
        model,
        (records.decode(action.item.line) for action in outcome.creates),
        len(outcome.creates),
        user_id=user.pk,
        reason=reason,
        now=timezone.now(),
    )
    created = ImportedRecord.Action.CREATED
    links = [(pk, created, action.row, {}) for pk, action in zip(ids, outcome.creates, strict=True)]
    done = len(ids)
    progress.tick(done)
    versioned = any(f.name == "version" for f in model._meta.concrete_fields)
    for start in range(0, len(outcome.updates), BATCH):
        batch = outcome.updates[start : start + BATCH]
        current = model.objects.in_bulk([action.pk for action in batch])
        changed_fields = set()
        objects = []
        for action in batch:
            instance = current.get(action.pk)
            if instance is None:
                continue
            for name, value in action.changes.items():
                setattr(instance, name, value)
                changed_fields.add(name)
            if versioned:
                instance.version += 1
            objects.append(instance)
            links.append(
                (
                    action.pk,
                    ImportedRecord.Action.UPDATED,
                    action.row,
                    {name: _jsonable(action.before.get(name)) for name in action.changes},
                )
            )
        if objects:
            fields = sorted(changed_fields | ({"version"} if versioned else set()))
            bulk_update_with_history(
                objects,
                model,
                fields,
                batch_size=BATCH,
                default_user=user,
                default_change_reason=reason,
            )
        done += len(batch)
        progress.tick(done)
    copying.link_records(job.pk, content_type.pk, links)


def _store_outcome(job: ImportJob, outcome: Outcome, **extra) -> None:
    job.rows_total = outcome.rows_total
    job.rows_blank = outcome.rows_blank
    job.to_create = len(outcome.creates)
    job.to_update = len(outcome.updates)
    job.duplicates = outcome.duplicates
    job.problem_rows = outcome.problem_rows
    job.problems = [list(problem) for problem in outcome.problems]
    job.notices = outcome.notices
    job.file_info = outcome.file_info
    for name, value in extra.items():
        setattr(job, name, value)
    job.save()


def _refuse(job: ImportJob, message: str) -> None:
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.stage = ""
    job.save()


def _read(job: ImportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


def _fingerprint(data: bytes, kind: Kind, user) -> str:
    """What the rows are checked against, read before they are checked (see `checked`)."""
    return checked.fingerprint(
        data,
        kind_code=kind.code,
        scope=scope_for(user),
        today=timezone.localdate(),
        reference=checked.reference_digest(),
    )


def _keep(job: ImportJob, outcome: Outcome, fingerprint: str) -> None:
    """Keep the rows a commit would save; a dry run with problems keeps nothing."""
    if outcome.problem_rows or not (outcome.creates or outcome.updates):
        checked.forget(job)
        return
    rows = sorted(
        (action.item for action in outcome.creates + outcome.updates), key=lambda item: item.row
    )
    checked.store(job, rows, fingerprint=fingerprint)


def check(job: ImportJob) -> ImportJob:
    """The dry run: nothing is saved but the job's findings and the rows ready to save."""
    job.status = ImportJob.Status.CHECKING
    job.save(update_fields=["status"])
    data = _read(job)
    kind = KINDS[job.kind]
    fingerprint = _fingerprint(data, kind, job.created_by)
    try:
        outcome = analyse(data, kind=kind, user=job.created_by, job=job)
    except FileError as error:
        checked.forget(job)
        _refuse(job, str(error))
        return job
    _keep(job, outcome, fingerprint)
    _store_outcome(
        job,
        outcome,
        status=ImportJob.Status.CHECKED,
        checked_at=timezone.now(),
        stage="",
        message="",
    )
    return job


def _dry_run_outcome(job: ImportJob) -> Outcome:
    """The counts the dry run stored with the job (its rows come from `checked`)."""
    return Outcome(
        rows_total=job.rows_total,
        rows_blank=job.rows_blank,
        duplicates=job.duplicates,
        notices=list(job.notices),
        file_info=job.file_info,
    )


def _rows_to_save(job: ImportJob, kind: Kind, user) -> tuple[Outcome, list[Checked]] | None:
    """The rows the dry run checked when nothing they depend on changed since; otherwise the
    file checked again. None when the file is refused or its rows now have problems (the job
    then says so and shows them)."""
    data = _read(job)
    rows = checked.load(job, fingerprint=_fingerprint(data, kind, user))
    if rows is not None:
        return _dry_run_outcome(job), rows
    try:
        outcome = analyse(data, kind=kind, user=user, job=job)
    except FileError as error:
        _refuse(job, str(error))
        return None
    if outcome.problems:
        # Something changed since the dry run (a term ended, a commune was edited…).
        checked.forget(job)
        _store_outcome(
            job,
            outcome,
            status=ImportJob.Status.CHECKED,
            stage="",
            message=_(
                "Nothing was imported: data this file depends on changed since the dry run, and "
                "the file, checked again, now has rows with problems. They are listed below."
            ),
        )
        return None
    rows = sorted(
        (action.item for action in outcome.creates + outcome.updates), key=lambda item: item.row
    )
    return outcome, rows


def commit(job: ImportJob) -> ImportJob:
    """Save the checked rows in one transaction; any problem saves nothing."""
    kind = KINDS[job.kind]
    user = job.created_by
    found = _rows_to_save(job, kind, user)
    if found is None:
        return job
    outcome, rows = found
    progress = Progress(job, "saving", len(rows))
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # One import at a time, so two uploads of one file cannot both create its rows.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            # Records saved since the dry run, by anyone: looked up again, all rows at once.
            fresh = Outcome()
            _classify(kind, rows, fresh, {})
            if fresh.problems:
                raise ValidationError(fresh.problems[0][2])
            fresh.duplicates += outcome.duplicates
            fresh.rows_total, fresh.rows_blank = outcome.rows_total, outcome.rows_blank
            fresh.notices, fresh.file_info = outcome.notices, outcome.file_info
            _save(kind, fresh, job, user, progress)
            checked.forget(job)
            _store_outcome(
                job,
                fresh,
                status=ImportJob.Status.DONE,
                imported_at=timezone.now(),
                created=len(fresh.creates),
                updated=len(fresh.updates),
                problems=[],
                stage="",
                message="",
                progress_done=progress.total,
            )
    except (IntegrityError, ValidationError) as error:
        logger.warning("import %s refused at commit", job.pk, exc_info=True)
        message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        job.refresh_from_db()
        _refuse(
            job,
            _("Nothing was imported: the database refused the rows (%(error)s).")
            % {"error": message.splitlines()[0][:300]},
        )
    return job


def _deletion_history(model, objects: list, *, user, reason: str, when) -> None:
    """One “deleted” history row per record, written in one statement."""
    history = model.history.model
    history.objects.bulk_create(
        [
            history(
                history_date=when,
                history_type="-",
                history_user=user,
                history_change_reason=reason,
                **{field.attname: getattr(obj, field.attname) for field in history.tracked_fields},
            )
            for obj in objects
        ],
        batch_size=BATCH,
    )


def _delete_records(model, pks: list[int], *, user, reason: str) -> None:
    """Delete imported records with their history; work records go set by set."""
    from programme.models import Attachment, Contribution, Difficulty, Visit  # noqa: PLC0415

    when = timezone.now()
    for start in range(0, len(pks), BATCH):
        chunk = pks[start : start + BATCH]
        if model not in (Contribution, Visit, Difficulty):
            # Reference data (agencies, terms…): few rows, and PROTECT must be able to refuse.
            for instance in model.objects.filter(pk__in=chunk):
                instance._history_user = user
                instance._change_reason = reason
                instance.delete()
            continue
        objects = list(model.objects.filter(pk__in=chunk))
        ids = [obj.pk for obj in objects]
        if not ids:
            continue
        # What hangs on them goes first, each with its own history.
        field = model._meta.model_name
        for attachment in Attachment.objects.filter(**{f"{field}_id__in": ids}):
            attachment._history_user = user
            attachment._change_reason = reason
            attachment.delete()
        if model is Visit:
            Visit.plan_items.through.objects.filter(visit_id__in=ids).delete()
            linked = list(Difficulty.objects.filter(visit_id__in=ids))
            for difficulty in linked:
                difficulty.visit = None
                difficulty.version += 1
            if linked:
                bulk_update_with_history(
                    linked,
                    Difficulty,
                    ["visit", "version"],
                    default_user=user,
                    default_change_reason=reason,
                )
        _deletion_history(model, objects, user=user, reason=reason, when=when)
        # The outbox triggers see these deletes like any other (rollups follow).
        model.objects.filter(pk__in=ids)._raw_delete(model.objects.db)


def _restore_records(model, items: list, *, user, reason: str) -> None:
    versioned = any(f.name == "version" for f in model._meta.concrete_fields)
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        current = model.objects.in_bulk([item.object_id for item in chunk])
        objects, fields = [], set()
        for item in chunk:
            instance = current.get(item.object_id)
            if instance is None:
                continue  # deleted since by someone else
            for name, value in item.before.items():
                setattr(instance, name, model._meta.get_field(name).to_python(value))
                fields.add(name)
            if versioned:
                instance.version += 1
            objects.append(instance)
        if objects:
            bulk_update_with_history(
                objects,
                model,
                sorted(fields | ({"version"} if versioned else set())),
                batch_size=BATCH,
                default_user=user,
                default_change_reason=reason,
            )


def undo(job: ImportJob, *, user) -> ImportJob:
    """Delete what the import created and put back what it changed, all or nothing."""
    reason = _naming(_("Undo of import #%(id)s (“%(file)s”)"), job)
    try:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status not in (ImportJob.Status.DONE, ImportJob.Status.UNDOING):
                raise ValidationError(_("Only a finished import can be undone."))
            created, updated = defaultdict(list), defaultdict(list)
            for record in job.records.select_related("content_type").order_by("pk"):
                model = record.content_type.model_class()
                if record.action == ImportedRecord.Action.CREATED:
                    created[model].append(record.object_id)
                else:
                    updated[model].append(record)
            for model, items in updated.items():
                _restore_records(model, items, user=user, reason=reason)
            for model, pks in created.items():
                _delete_records(model, pks, user=user, reason=reason)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.UNDONE, undone_at=timezone.now(), undone_by=user
            )
    except ProtectedError as error:
        blocking = ", ".join(str(obj) for obj in list(error.protected_objects)[:3])
        raise ValidationError(
            _("The import cannot be undone: other records now depend on what it created (%(x)s).")
            % {"x": blocking}
        ) from None
    job.refresh_from_db()
    return job
