"""Celery tasks of the exports (imported by reports.tasks so that Celery finds them)."""

from celery import shared_task

from reports import exports


@shared_task(
    name="reports.export_contributions",
    acks_late=True,
    soft_time_limit=2 * 60 * 60 - 60,
    time_limit=2 * 60 * 60,
)
def export_contributions(job_id: int) -> int | None:
    """Write the file of a queued contributions export, with progress. A job runs once: the
    service claims it with a conditional update and skips a job already taken."""
    return exports.contributions_export_run(job_id)
