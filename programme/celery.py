"""The Celery application. Tasks are found in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "programme.settings")

app = Celery("programme")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _worker_needs_a_migrated_database(**kwargs) -> None:
    from programme.readiness import refuse_unmigrated

    refuse_unmigrated("worker")


@beat_init.connect
def _beat_needs_a_migrated_database(**kwargs) -> None:
    from programme.readiness import refuse_unmigrated

    refuse_unmigrated("beat")


@worker_ready.connect
def _saves_wake_this_worker(**kwargs) -> None:
    """A wake key left by a save whose task never arrived would silence the wakes for seconds."""
    from programme.services import rollups_wake_done

    rollups_wake_done()
