"""Celery tasks of the review and sign-off (imported by reports.tasks so that Celery finds them)."""

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from reports import reviews


@shared_task(
    name="reports.draft_period_reports",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=540,
    time_limit=600,
)
def draft_period_reports(today: str | None = None) -> int:
    """Draft the reports of the month (and quarter, half-year, year) that just ended.

    Idempotent: a second run, or a run after a crash, creates only what is missing.
    """
    day = date.fromisoformat(today) if today else timezone.localdate()
    return reviews.period_reports_draft_due(today=day)
