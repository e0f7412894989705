"""Authentication, session and browser security.

- Login throttling is django-axes (settings: Security). This module gives it the client's address
  (`client_ip`) and the page shown to a locked-out user (`lockout_response`).
- Logins, failed logins, lock-outs, logouts, expired sessions and refused accesses (403, 404 from
  the views, CSRF failures) go to the `security` logger, each with user, IP and path.
- `SessionTimeoutMiddleware` ends a session after a time without activity (idle timeout) and
  after a fixed time from the login (absolute lifetime), and sends the user to the login page
  with a message.
"""

import logging
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

log = logging.getLogger("security")

# Session keys (seconds since the epoch).
LOGIN_AT = "security_login_at"
SEEN_AT = "security_seen_at"
# The last-seen time is written at most this often, not on every request.
SEEN_RESOLUTION = 60


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted reverse proxies
    (DJANGO_TRUSTED_PROXY_COUNT = N) the address N entries from the right of X-Forwarded-For,
    the one the outermost trusted proxy saw. Entries further left are the client's to forge."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


def _who(user) -> str:
    if user is not None and getattr(user, "is_authenticated", False):
        return user.get_username()
    return "-"


def log_event(event: str, request: HttpRequest | None, *, user: str | None = None, **fields):
    """One line per event: `event user=… ip=… path=…`, the same values as record attributes."""
    level = fields.pop("level", logging.WARNING)
    if user is None:
        user = _who(getattr(request, "user", None)) if request is not None else "-"
    ip = client_ip(request) if request is not None else "-"
    path = request.get_full_path() if request is not None else "-"
    method = request.method if request is not None else "-"
    details = "".join(f" {key}={value}" for key, value in fields.items())
    log.log(
        level,
        "%s user=%s ip=%s method=%s path=%s%s",
        event,
        user,
        ip,
        method,
        path,
        details,
        extra={"event": event, "user": user, "ip": ip, "path": path, **fields},
    )


# --- Authentication events --------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="security-login")
def _logged_in(sender, request, user, **kwargs):
    if request is None:
        return
    now = int(time.time())
    if hasattr(request, "session"):
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now
    log_event("login", request, user=user.get_username(), level=logging.INFO)


@receiver(user_login_failed, dispatch_uid="security-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", "") or "-")
    log_event("login_failed", request, user=username)


@receiver(user_locked_out, dispatch_uid="security-locked-out")
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    log_event("login_locked_out", request, user=username or "-")


@receiver(user_logged_out, dispatch_uid="security-logout")
def _logged_out(sender, request, user, **kwargs):
    if request is None:
        return
    log_event("logout", request, user=_who(user), level=logging.INFO)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The login page again, with what happened and how long to wait (HTTP 429)."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    username = str((credentials or {}).get("username", "") or request.POST.get("username", ""))
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_out": True,
        "cooloff_minutes": minutes,
        "next": request.POST.get("next", "") or request.GET.get("next", ""),
    }
    return render(
        request,
        "registration/login.html",
        context,
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


# --- Refused accesses -------------------------------------------------------------------------


class SecurityLogMiddleware:
    """Logs what the views refuse: PermissionDenied (403) and Http404 from a scoped record,
    and any other 403 a view answers. Place it after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403 and not getattr(request, "_security_logged", False):
            log_event("access_refused", request, status=403)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            log_event("access_refused", request, status=403)
            request._security_logged = True
        elif isinstance(exception, Http404):
            log_event("not_found", request, status=404)
        return None


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: log, then explain in the user's language what to do."""
    log_event("csrf_failure", request, reason=reason.replace(" ", "_") or "-")
    request._security_logged = True
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


# --- Sessions: idle timeout and absolute lifetime ---------------------------------------------


class SessionTimeoutMiddleware:
    """Ends a session idle for SESSION_IDLE_TIMEOUT seconds, or older than SESSION_COOKIE_AGE
    seconds since the login, and sends the user to the login page with a message.

    Place it after AuthenticationMiddleware and MessageMiddleware. An htmx request gets an
    HX-Redirect to the login page instead of a login form swapped into the page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._check(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _check(self, request) -> HttpResponse | None:
        session = request.session
        now = int(time.time())
        login_at = session.get(LOGIN_AT)
        seen_at = session.get(SEEN_AT)
        if login_at is None:  # a session from before this middleware: count from now
            session[LOGIN_AT] = login_at = now
        if seen_at is None:
            seen_at = now
        idle = settings.SESSION_IDLE_TIMEOUT
        lifetime = settings.SESSION_COOKIE_AGE
        if now - login_at >= lifetime:
            reason = "absolute"
            message = _(
                "You were logged out because a session lasts at most %(hours)s hours. "
                "Please log in again."
            ) % {"hours": _format_hours(lifetime)}
        elif now - seen_at >= idle:
            reason = "idle"
            message = _(
                "You were logged out after %(minutes)s minutes without activity. "
                "Please log in again."
            ) % {"minutes": max(1, idle // 60)}
        else:
            if SEEN_AT not in session or now - seen_at >= SEEN_RESOLUTION:
                session[SEEN_AT] = now
            return None
        log_event("session_expired", request, reason=reason, level=logging.INFO)
        path = request.get_full_path() if request.method == "GET" else request.path
        logout(request)
        messages.warning(request, message)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = reverse(settings.LOGIN_URL)
            return response
        return redirect_to_login(path)


def _format_hours(seconds: int) -> str:
    hours = seconds / 3600
    return str(int(hours)) if hours == int(hours) else f"{hours:.1f}".replace(".", ",")
