"""Settings of the benchmark processes (web under gunicorn, Celery worker, child processes).

The test settings (production settings with DEBUG off, a throw-away secret, plain static files,
fast password hashing so that logging in hundreds of simulated users does not dominate the
figures), with cookies that the load generator may send back over plain HTTP on 127.0.0.1.
"""

from programme.env import env_bool, env_int
from programme.settings_test import *  # noqa: F403

# As in production (the tests turn it off to see every change at once): the dashboard shows its
# kept figures, with their time, while the worker recomputes them.
FIGURES_STALE_SECONDS = env_int("FIGURES_STALE_SECONDS", 15 * 60)
FIGURES_REFRESH_IN_WORKER = env_bool("FIGURES_REFRESH_IN_WORKER", True)

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
