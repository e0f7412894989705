import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "programme.settings")
application = get_wsgi_application()

# Imported once per web process (gunicorn loads the application after forking its workers).
from django.conf import settings  # noqa: E402

from programme.gc_tuning import tune_for_web  # noqa: E402

tune_for_web(settings.WEB_GC_FULL_SECONDS)
