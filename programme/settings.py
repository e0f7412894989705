"""Settings for the special-communes programme tracker, driven by the environment.

Variables are listed in the README (Configuration). Reading them fails loudly on bad values.
"""

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from programme.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_tables2",
    "django_filters",
    "django_celery_beat",
    "simple_history",
    "axes",  # login throttling (see Security)
    "communes",
    "partners",
    "programme",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # Security: SECURE_CSP
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "programme.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "programme.security.SessionTimeoutMiddleware",  # Security: idle timeout, absolute lifetime
    "programme.security.SecurityLogMiddleware",  # Security: refused accesses are logged
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # Security: last, turns a lock-out into the login page
]

ROOT_URLCONF = "programme.urls"
WSGI_APPLICATION = "programme.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",  # csp_nonce
                "programme.context_processors.roles",
            ],
        },
    }
]

# --- Database: PostgreSQL is the system of record -------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Start the app with `make run` (embedded PostgreSQL) "
        "or set DATABASE_URL=postgres://user@host:5432/dbname."
    )
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres://...).")
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and Celery -------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")


def _celery_url(redis_url: str) -> str:
    """Celery spells a unix-socket Redis URL `redis+socket://`; redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = _celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A killed child process: its task is rejected and requeued at once (acks_late +
# reject_on_worker_lost). A killed whole worker: its unacknowledged tasks come back after the
# visibility timeout. Every task's hard limit is at most CELERY_TASK_TIME_LIMIT (the rollup tasks
# inherit it), and the visibility timeout must exceed it, or a task still running would be
# delivered a second time (tests/reliability/test_celery_settings.py checks every task).
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
_SOFT_MARGIN = max(1, min(60, CELERY_TASK_TIME_LIMIT // 10))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - _SOFT_MARGIN
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 5 * 60)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT, or a running "
        "task would be delivered twice."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Look for expired unacknowledged tasks every ≤ 10 s (kombu's default is every 100 s).
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 10)),
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Two beats started by mistake send each tick once: the scheduler takes a Redis lock per
# schedule entry and tick (programme/beat.py).
CELERY_BEAT_SCHEDULER = "programme.beat:SingleTickScheduler"
# Seconds between two drains of the rollup outbox by beat.
ROLLUP_DRAIN_SECONDS = env_int("ROLLUP_DRAIN_SECONDS", 60)
# Pages say "figures are being updated" when a pending refresh is older than this (seconds).
ROLLUP_PENDING_NOTICE_SECONDS = env_int("ROLLUP_PENDING_NOTICE_SECONDS", 20)
# The dashboard and the completeness page may show figures computed before the latest change for
# this long (seconds), saying when they were computed, while a newer computation runs in the
# background; 0: always compute the figures of the latest data before answering.
FIGURES_STALE_SECONDS = env_int("FIGURES_STALE_SECONDS", 15 * 60)
# Shown figures younger than this (seconds, and than 20 times their computation) are not
# recomputed in the background yet.
FIGURES_REFRESH_SECONDS = env_int("FIGURES_REFRESH_SECONDS", 60)
# The dashboard's figures are recomputed by the Celery worker and shared through Redis (True),
# or by a thread of each web process (False).
FIGURES_REFRESH_IN_WORKER = env_bool("FIGURES_REFRESH_IN_WORKER", True)
# A web process runs Python's full garbage collection every this many seconds from a thread of
# its own, not whenever CPython decides (a pause of up to a second at national scale, see
# programme/gc_tuning.py); 0 leaves CPython's default.
WEB_GC_FULL_SECONDS = env_int("WEB_GC_FULL_SECONDS", 600)
# An export whose worker has not written progress for this long is marked failed (seconds).
EXPORT_STALE_SECONDS = env_int("EXPORT_STALE_SECONDS", 10 * 60)
# Defined here, copied into the database by the scheduler, editable in the admin.
CELERY_BEAT_SCHEDULE = {
    "drain-rollup-outbox": {
        "task": "reports.drain_outbox",
        "schedule": float(ROLLUP_DRAIN_SECONDS),
    },
    "fail-stale-exports": {"task": "reports.fail_stale_exports", "schedule": 300.0},
    "reconcile-rollups-nightly": {
        "task": "reports.reconcile",
        "schedule": crontab(hour=1, minute=30),
    },
    # Daily, so that a period is drafted the day after it ends under either calendar
    # (Decree 09 months end on the 14th); drafting is idempotent.
    "draft-period-reports": {
        "task": "reports.draft_period_reports",
        "schedule": crontab(hour=2, minute=0),
    },
    "send-reminders-daily": {
        "task": "reports.send_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
}
CELERY_TASK_ALWAYS_EAGER = False

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Language, time, numbers ------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "programme" / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True
# Off: years, ids and versions must print as 2026 and 1306. Amounts go through the vn filters
# (22.500.000.000 đ) and counts through vn_number or intcomma, which group the Vietnamese way.
USE_THOUSAND_SEPARATOR = False
FORMAT_MODULE_PATH = ["programme.formats"]

# --- Static and media files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production values unless DEBUG) ------------------------------------------------
# Sessions (programme.security.SessionTimeoutMiddleware): a session ends after
# DJANGO_SESSION_IDLE_TIMEOUT seconds without a request, and DJANGO_SESSION_AGE seconds after the
# login whatever the activity (a field day, with margin); the user is sent to the login page.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_AGE", 12 * 60 * 60)
SESSION_IDLE_TIMEOUT = env_int("DJANGO_SESSION_IDLE_TIMEOUT", 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no script reads the token: forms carry it
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "programme.security.csrf_failure"  # logged, and explained in Vietnamese
# Login throttling (django-axes): after DJANGO_LOGIN_FAILURE_LIMIT failed logins for one user name
# from one address, that pair is refused for DJANGO_LOGIN_COOLOFF_MINUTES. Locking the pair (not
# the user name alone) means an attacker elsewhere cannot lock a real user out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Trying again while locked does not make the lock longer: it ends when the page says it will.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "programme.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "programme.security.client_ip"
AXES_VERBOSE = False  # fewer lines of its own: the `security` logger names user, IP and path
# Behind N reverse proxies that each append to X-Forwarded-For, the client is the Nth from the
# right; 0 (the default) trusts no header and takes the connection's address.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
# Content Security Policy (Django's own middleware). Scripts only from this site or carrying the
# page's nonce; no inline style attributes (Bootstrap, Chart.js and Leaflet set styles through the
# CSSOM, which CSP allows); images also as data: URIs (Bootstrap's icons) and from the map's tile
# server (added below, after MAP_TILE_URL).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    # One style attribute is allowed, by its hash: django-simple-history's admin history page
    # writes <p class="paginator" style="border-top: 0">.
    "style-src-attr": [CSP.UNSAFE_HASHES, "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

EMAIL_BACKEND = (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "xadacthu@localhost")

# --- The programme ----------------------------------------------------------------------------
try:
    PROGRAMME_START_DATE = date.fromisoformat(env_str("PROGRAMME_START_DATE", "2016-01-01"))
except ValueError:
    raise ImproperlyConfigured("PROGRAMME_START_DATE must be a date as YYYY-MM-DD.") from None
# "calendar": calendar months; "decree09": Decree 09/2019/NĐ-CP
# (a month runs from the 15th of the previous month to the 14th).
REPORTING_CALENDAR = env_choice("REPORTING_CALENDAR", "calendar", {"calendar", "decree09"})
# Spreadsheet imports of files up to this size (bytes) are checked and saved during the request;
# larger ones run in the Celery worker with a progress bar.
IMPORT_INLINE_MAX_BYTES = env_int("IMPORT_INLINE_MAX_BYTES", 300_000)
# Tile server of the dashboard map ({z}/{x}/{y}); empty turns tiles off (communes are still drawn).
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
# Security (continued): the browser may load map tiles from the tile server ({s} = any subdomain).
if MAP_TILE_URL and (_tiles := urlsplit(MAP_TILE_URL.replace("{s}", "*"))).netloc:
    SECURE_CSP["img-src"].append(f"{_tiles.scheme}://{_tiles.netloc}")
# Reminder e-mails about Party-cell meetings start this many days before a month's due date.
REMINDER_DAYS_BEFORE = env_int("REMINDER_DAYS_BEFORE", 5)
# A meeting recorded more than this many days after its month's due date counts as late.
COMPLETENESS_GRACE_DAYS = env_int("COMPLETENESS_GRACE_DAYS", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # Security: logins, failed logins, lock-outs, expired sessions, refused accesses, CSRF
    # failures (programme.security), whatever DJANGO_LOG_LEVEL says.
    # django-axes' own INFO lines repeat ours with the user name and address masked.
    "loggers": {"security": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/project.html"  # bootstrap5-responsive, body in Python
