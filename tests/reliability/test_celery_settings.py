"""acks_late, reject_on_worker_lost, time limits and the broker's visibility timeout agree.

A task still running when the visibility timeout expires is delivered a second time; a task
killed with its whole worker comes back only after it. So every task's hard limit must be below
the timeout. The one exception is the export, which claims its job with a conditional update:
a second delivery finds it taken and does nothing (reports/tests cover that), and a job whose
worker died is marked failed (test_stale_exports.py).
"""

import subprocess
import sys

from django.conf import settings

from programme.celery import app as current_app
from tests.reliability.conftest import BASE_DIR, subprocess_env

CLAIMED_ONCE = {"reports.export_contributions"}


def _project_tasks():
    current_app.loader.import_default_modules()
    return {
        name: task
        for name, task in current_app.tasks.items()
        if name.startswith(("reports.", "programme.", "communes.", "partners."))
    }


def test_every_task_is_acknowledged_late_and_requeued_when_its_process_dies():
    tasks = _project_tasks()
    assert {"reports.rebuild", "reports.drain_outbox", "reports.reconcile"} <= set(tasks)
    for name, task in tasks.items():
        assert task.acks_late, name
        assert task.reject_on_worker_lost, name


def test_every_hard_time_limit_is_below_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility == settings.CELERY_VISIBILITY_TIMEOUT
    for name, task in _project_tasks().items():
        hard = task.time_limit or current_app.conf.task_time_limit
        soft = task.soft_time_limit or current_app.conf.task_soft_time_limit
        assert hard, f"{name} has no hard time limit"
        assert soft < hard, name
        if name not in CLAIMED_ONCE:
            assert hard <= settings.CELERY_TASK_TIME_LIMIT < visibility, name
    # The restore sweep looks for expired tasks often enough.
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10


def test_a_visibility_timeout_shorter_than_the_time_limit_stops_the_start():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=subprocess_env(CELERY_TASK_TIME_LIMIT="600", CELERY_VISIBILITY_TIMEOUT="300"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT" in done.stderr
