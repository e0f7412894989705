"""Celery tasks of this report feature (imported by reports.tasks so that Celery finds them)."""

from celery import shared_task
from django.db import OperationalError

from reports import audit, reminders, rollups
from reports.models import RollupWrite

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 10,
}

# Celery task state while a rebuild runs; meta = {"done", "total", "step"}.
PROGRESS = "PROGRESS"


@shared_task(
    bind=True,
    name="reports.send_reminders",
    soft_time_limit=540,
    time_limit=600,
    **{**RETRY, "autoretry_for": (OperationalError, reminders.RemindersNotSent)},
)
def send_reminders(self) -> int:
    """Mail the liaisons whose Party-cell meetings are due soon or overdue (once each).

    Pending rollup refreshes are drained first, so that a meeting recorded a minute ago counts.
    """
    audit.drain(audit.by_task(self.request, default=RollupWrite.Trigger.SCHEDULED))
    return reminders.reminders_send()


@shared_task(
    bind=True,
    name="reports.rebuild_with_progress",
    track_started=True,
    **RETRY,  # time limits: CELERY_TASK_TIME_LIMIT, below the broker's visibility timeout
)
def rebuild_with_progress(
    self, year: int | None = None, requested_by: int | None = None
) -> dict[str, int]:
    """`reports.rebuild` that reports its progress in the result backend (Redis).

    The state is PROGRESS with meta {"done": tables rebuilt, "total": tables, "step": last
    table}, then SUCCESS with the same figures; the rebuild page polls it. `requested_by`: the
    id of the user who pressed the button, named in the audit row (reports.audit).
    """
    total = len(rollups.SPECS)
    done = 0

    def progress(kind: str) -> None:
        nonlocal done
        done += 1
        self.update_state(state=PROGRESS, meta={"done": done, "total": total, "step": kind})

    self.update_state(state=PROGRESS, meta={"done": 0, "total": total, "step": ""})
    who = (
        audit.by_user(requested_by, task_id=self.request.id or "")
        if requested_by
        else audit.by_task(self.request)
    )
    if audit.rebuild(who, year=year, progress=progress) is False:
        # The same rebuild was running (a double click): it leaves the same rows.
        return {"done": total, "total": total, "skipped": 1}
    return {"done": total, "total": total}
