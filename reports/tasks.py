"""Celery tasks of the rollups. Thin: they take plain values and call reports.rollups through
reports.audit, which records who (the schedule, a saved change, a user) asked for each write."""

from celery import shared_task
from django.db import OperationalError

from reports import audit
from reports.models import RollupWrite

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 10,
}


@shared_task(bind=True, name="reports.drain_outbox", soft_time_limit=240, time_limit=300, **RETRY)
def drain_outbox(self) -> int:
    """Refresh the rollup cells that writes left in the outbox.

    Sent by beat every minute, or by a save once committed (programme.services._wake_rollups).
    """
    from programme.services import rollups_wake_done

    rollups_wake_done()  # before reading the outbox: a save committed after this wakes again
    return audit.drain(audit.by_task(self.request, default=RollupWrite.Trigger.ON_COMMIT))


# The long tasks take CELERY_TASK_TIME_LIMIT (settings), which the broker's visibility timeout
# exceeds: a task killed with its whole worker comes back once, after that timeout.
@shared_task(bind=True, name="reports.reconcile", **RETRY)
def reconcile(self, years: list[int] | None = None) -> dict[str, int]:
    """Compare the rollups of the current and previous year with the raw sums; repair drift."""
    from django.utils import timezone

    this_year = timezone.localdate().year
    years = years or [this_year - 1, this_year]
    return audit.reconcile(audit.by_task(self.request), years=years)


@shared_task(bind=True, name="reports.rebuild", **RETRY)
def rebuild(self, year: int | None = None) -> bool:
    """Rebuild a year (or everything); False when the same rebuild was already running."""
    return audit.rebuild(audit.by_task(self.request), year=year)


@shared_task(
    name="reports.refresh_figures", ignore_result=True, soft_time_limit=240, time_limit=300
)
def refresh_figures() -> str | None:
    """Recompute the figures pages showed stale longest ago, for every web process
    (reports.figures_cache). Not retried: the next page that shows them stale asks again."""
    from reports import figures_cache, selectors  # noqa: F401 (selectors registers its recipes)

    return figures_cache.refresh_next()


@shared_task(name="reports.fail_stale_exports", soft_time_limit=240, time_limit=300, **RETRY)
def fail_stale_exports() -> int:
    """Mark failed the exports whose worker died (see reports.exports.exports_fail_stale)."""
    from reports import exports

    return exports.exports_fail_stale()


# The tasks of the other report features live beside their code; importing them here lets
# Celery's autodiscovery (which reads reports.tasks) register them.
from reports import tasks_completeness, tasks_exports, tasks_reviews  # noqa: E402, F401
