"""Settings of the worker processes of the fault tests: the test settings, with the worker's
wait for the result of a lost child (worker_lost_wait, 10 s by default) cut to 1 s so that
twenty kills fit in the suite's time. Nothing else differs from production."""

from programme.settings_test import *  # noqa: F403

CELERY_WORKER_LOST_WAIT = 1.0
