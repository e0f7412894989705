"""Imports of large files run in the worker; the page shows their progress."""

from celery import shared_task
from django.utils import translation

from programme.imports import engine
from programme.imports.models import ImportJob


def _job(job_id: int) -> ImportJob | None:
    return ImportJob.objects.select_related("created_by").filter(pk=job_id).first()


@shared_task(name="programme.import_check", acks_late=True)
def import_check(job_id: int) -> str:
    job = _job(job_id)
    if job is None or job.status not in (ImportJob.Status.CHECKING,):
        return "skipped"
    with translation.override(job.language):
        return engine.check(job).status


@shared_task(name="programme.import_commit", acks_late=True)
def import_commit(job_id: int) -> str:
    job = _job(job_id)
    # A redelivered task finds the job already done (the commit is one transaction).
    if job is None or job.status != ImportJob.Status.IMPORTING:
        return "skipped"
    with translation.override(job.language):
        return engine.commit(job).status


@shared_task(name="programme.import_undo", acks_late=True)
def import_undo(job_id: int, user_id: int) -> str:
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.core.exceptions import ValidationError  # noqa: PLC0415

    job = _job(job_id)
    if job is None or job.status != ImportJob.Status.UNDOING:
        return "skipped"
    user = get_user_model().objects.get(pk=user_id)
    try:
        with translation.override(job.language):
            return engine.undo(job, user=user).status
    except ValidationError as error:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE, message=" ".join(error.messages)
        )
        return "refused"
