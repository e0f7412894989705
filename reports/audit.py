"""The audit trail of the rollup writes: `reports.rollups`, wrapped so that each run leaves a
`RollupWrite` row saying who, when, what and why, and how it ended.

Record writes (pages, admin, imports) are in django-simple-history; rollup rows are derived data
rewritten in bulk by set-based SQL, so their trail is one row per run, not per cell:

- a drain writes its row in the transaction of its first batch (one INSERT) and adds the counts
  of later batches in theirs (one UPDATE each): the row commits or rolls back with the work, so it
  never claims cells that were not refreshed. A drain that found nothing leaves no row;
- a rebuild or a reconciliation writes a "running" row first (committed on its own), then marks
  it done, skipped or failed: a run whose worker was killed stays "running", which is the truth.
"""

import getpass
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from programme.periods import Period
from reports import rollups
from reports.models import (
    ContributionRollup,
    DifficultyRollup,
    PlanItemRollup,
    RollupWrite,
    VisitRollup,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    """Who asked for a rollup write."""

    trigger: str  # RollupWrite.Trigger
    user_id: int | None = None
    os_user: str = ""
    task_id: str = ""


def by_command() -> Requester:
    """The `rollups` command, with the system account that ran it."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        account = f"uid {os.getuid()}"
    return Requester(RollupWrite.Trigger.COMMAND, os_user=account)


def by_task(request, *, default: str = RollupWrite.Trigger.TASK) -> Requester:
    """A Celery task: sent by beat (django-celery-beat names its entry in a header) or not."""
    headers = request.headers or {}  # apply() keeps them here; a worker also sets attributes
    scheduled = headers.get("periodic_task_name") or getattr(request, "periodic_task_name", None)
    trigger = RollupWrite.Trigger.SCHEDULED if scheduled else default
    return Requester(trigger, task_id=request.id or "")


def by_user(user_id: int, *, task_id: str = "") -> Requester:
    """A user who pressed the rebuild button (the task runs later, in the worker)."""
    return Requester(RollupWrite.Trigger.USER, user_id=user_id, task_id=task_id)


def _new(kind: str, who: Requester, **fields) -> RollupWrite:
    return RollupWrite(
        kind=kind,
        trigger=who.trigger,
        user_id=who.user_id,
        os_user=who.os_user,
        task_id=who.task_id,
        **fields,
    )


def _finish(write: RollupWrite, **fields) -> bool:
    """Update the row of a run; False when it is not there (rolled back with its work)."""
    return bool(
        RollupWrite.objects.filter(pk=write.pk).update(finished_at=timezone.now(), **fields)
    )


def _record_failure(write: RollupWrite | None, error: BaseException, *, attempt: RollupWrite):
    """Mark the run failed, keeping the counts of what it committed before failing.

    Without a committed row (the first batch of a drain rolled back with its row), `attempt` is
    saved instead, with nothing counted. The caller re-raises the error whatever happens here.
    """
    text = f"{type(error).__name__}: {error}"[:4000]
    failed = {"outcome": RollupWrite.Outcome.FAILED, "error": text}
    try:
        if write is None or not _finish(write, **failed):
            attempt.finished_at = timezone.now()
            for name, value in failed.items():
                setattr(attempt, name, value)
            attempt.save()
    except Exception:  # noqa: BLE001 (the database may be what failed: keep the first error)
        logger.exception("could not record the failure of a rollup %s", attempt.kind)


def drain(who: Requester, *, batch: int = 1000) -> int:
    """`rollups.outbox_drain`, leaving one row when it handled at least one outbox row."""
    write: RollupWrite | None = None
    started = timezone.now()

    def on_batch(rows: int, cells: dict[str, int]) -> None:
        nonlocal write
        if write is None:
            write = _new(
                RollupWrite.Kind.DRAIN,
                who,
                reason=RollupWrite.Reason.RECORDS_CHANGED,
                started_at=started,
                finished_at=timezone.now(),
                outbox_rows=rows,
                counts=cells,
                total=sum(cells.values()),
                outcome=RollupWrite.Outcome.DONE,
            )
            write.save()
            return
        merged = dict(write.counts)
        for kind, count in cells.items():
            merged[kind] = merged.get(kind, 0) + count
        write.counts = merged
        _finish(
            write,
            outbox_rows=F("outbox_rows") + rows,
            counts=merged,
            total=F("total") + sum(cells.values()),
        )

    try:
        return rollups.outbox_drain(batch=batch, on_batch=on_batch)
    except BaseException as error:
        attempt = _new(
            RollupWrite.Kind.DRAIN,
            who,
            reason=RollupWrite.Reason.RECORDS_CHANGED,
            started_at=started,
        )
        _record_failure(write, error, attempt=attempt)
        raise


ROLLUP_MODELS = (ContributionRollup, DifficultyRollup, PlanItemRollup, VisitRollup)


def _rows_per_table(year: int | None) -> dict[str, int]:
    """Rows in each rollup table for the year (None: all), counted after a rebuild."""
    by_table = {model._meta.db_table: model for model in ROLLUP_MODELS}
    counts = {}
    for kind, spec in sorted(rollups.SPECS.items()):
        rows = by_table[spec.table].objects.all()
        if year is not None:
            period = Period("year", year)
            rows = rows.filter(month__range=(period.first_month, period.last_month))
        counts[kind] = rows.count()
    return counts


def _started(kind: str, who: Requester, *, reason: str, years: list[int]) -> RollupWrite:
    write = _new(kind, who, reason=reason, years=years)
    write.save()
    return write


def rebuild(
    who: Requester, *, year: int | None = None, progress: Callable[[str], None] | None = None
) -> bool:
    """`rollups.rollups_rebuild`, with its row: rows written per table, or skipped, or failed."""
    write = _started(
        RollupWrite.Kind.REBUILD,
        who,
        reason=RollupWrite.Reason.REQUESTED,
        years=[] if year is None else [year],
    )
    try:
        wrote = rollups.rollups_rebuild(year=year, progress=progress)
    except BaseException as error:
        _record_failure(write, error, attempt=write)
        raise
    if not wrote:
        _finish(write, outcome=RollupWrite.Outcome.SKIPPED)
        return wrote
    counts = _rows_per_table(year)
    _finish(write, outcome=RollupWrite.Outcome.DONE, counts=counts, total=sum(counts.values()))
    return wrote


def reconcile(who: Requester, *, years: list[int]) -> dict[str, int]:
    """`rollups.rollups_reconcile`, with its row: the drift repaired per table and year."""
    scheduled = who.trigger == RollupWrite.Trigger.SCHEDULED
    write = _started(
        RollupWrite.Kind.RECONCILE,
        who,
        reason=RollupWrite.Reason.NIGHTLY if scheduled else RollupWrite.Reason.REQUESTED,
        years=list(years),
    )
    try:
        repaired = rollups.rollups_reconcile(years=years)
    except BaseException as error:
        _record_failure(write, error, attempt=write)
        raise
    total = sum(repaired.values())
    fields = {"reason": RollupWrite.Reason.DRIFT_REPAIRED} if total else {}
    _finish(write, outcome=RollupWrite.Outcome.DONE, counts=repaired, total=total, **fields)
    return repaired
