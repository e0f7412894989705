"""Test settings: production settings, a throw-away secret, plain static storage, fast hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")

from programme.settings import *  # noqa: E402, F403
from programme.settings import STORAGES  # noqa: E402

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Tests expect every change on the next page (tests/reports/test_figures_cache.py turns it on).
FIGURES_STALE_SECONDS = 0
# Refreshed in the web process: the worker's way is tested with a worker (tests/reports/).
FIGURES_REFRESH_IN_WORKER = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Serve static files straight from the finders (no collectstatic before the tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
